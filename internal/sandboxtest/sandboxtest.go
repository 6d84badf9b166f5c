// Package sandboxtest gives tests the sandbox's throwaway servers (MariaDB,
// BIND 9), stopped and removed when the test ends, and the helpers tests
// use to talk to them.
//
// When a server's binaries are missing a test is skipped with a message
// saying how to install them, except under CI=true, where it fails: CI must
// never pass by skipping the tests that matter.
package sandboxtest

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql" // the driver tests connect with
	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// Option changes the server a test starts.
type Option func(*sandbox.MariaDBOptions)

// ServerID sets the server's server_id.
func ServerID(id uint32) Option {
	return func(o *sandbox.MariaDBOptions) { o.ServerID = id }
}

// With adds option-file lines such as "binlog_format=STATEMENT".
func With(settings ...string) Option {
	return func(o *sandbox.MariaDBOptions) { o.Settings = append(o.Settings, settings...) }
}

// Start starts a server for t and stops it when t ends. If t failed, the
// tail of the server's error log is logged first. Without ServerID, each
// server of a test binary gets its own server_id.
func Start(t testing.TB, opts ...Option) *sandbox.MariaDB {
	t.Helper()
	return StartN(t, 1, opts...)[0]
}

// StartN starts n servers in parallel (a replication test's source and
// target start in the time of one). With ServerID(id), they get id, id+1...
func StartN(t testing.TB, n int, opts ...Option) []*sandbox.MariaDB {
	t.Helper()
	var o sandbox.MariaDBOptions
	for _, opt := range opts {
		opt(&o)
	}
	servers := make([]*sandbox.MariaDB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		oi := o
		oi.Settings = slices.Clone(o.Settings)
		if o.ServerID == 0 {
			oi.ServerID = nextServerID.Add(1)
		} else {
			oi.ServerID = o.ServerID + uint32(i)
		}
		wg.Go(func() { servers[i], errs[i] = sandbox.StartMariaDB(context.Background(), oi) })
	}
	wg.Wait()
	for _, m := range servers {
		if m == nil {
			continue
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("MariaDB server_id %d on port %d, error log tail:\n%s", m.ServerID, m.Port, m.ErrorLogTail(8))
			}
			m.Stop()
		})
	}
	if err := errors.Join(errs...); err != nil {
		SkipIfNotInstalled(t, err)
		t.Fatalf("start MariaDB: %v", err)
	}
	return servers
}

// SkipIfNotInstalled skips t when err says a server's binaries are
// missing, except in CI (CI=true), where every test must run.
func SkipIfNotInstalled(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, sandbox.ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	}
}

// nextServerID numbers the servers of one test binary.
var nextServerID atomic.Uint32

// DB opens a connection pool to database ("" for none) on m as root,
// closed when t ends.
func DB(t testing.TB, m *sandbox.MariaDB, database string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", m.DSN(database))
	if err != nil {
		t.Fatalf("open %s: %v", m.DSN(database), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// DBAs opens a connection pool on m as user, closed when t ends.
func DBAs(t testing.TB, m *sandbox.MariaDB, user, password string) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd = user, password
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Exec runs statements on db and fails t on the first error.
func Exec(t testing.TB, db *sql.DB, statements ...string) {
	t.Helper()
	for _, s := range statements {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// Endpoint is the config endpoint of m: root over TCP, no password, no TLS.
func Endpoint(m *sandbox.MariaDB) config.Endpoint {
	e := config.Defaults().Source
	e.Host = m.Addr
	e.Port = m.Port
	e.User = "root"
	e.TLS.Mode = config.TLSDisabled
	return e
}

// Dump returns every row a query yields, each as its columns' raw bytes
// (hex-encoded, NULL as "NULL") joined by "|": the exact stored values, in
// the session's result character set.
func Dump(t testing.TB, db *sql.DB, query string) []string {
	t.Helper()
	return scanRows(t, db, query, hex.EncodeToString)
}

// Text returns every row a query yields, each as its columns as text
// (NULL as "NULL") joined by "|": for names, settings and checksums.
func Text(t testing.TB, db *sql.DB, query string) []string {
	t.Helper()
	return scanRows(t, db, query, func(b []byte) string { return string(b) })
}

func scanRows(t testing.TB, db *sql.DB, query string, format func([]byte) string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = format(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Config is a configuration replicating the database app from src to dst,
// with intervals short enough for tests.
func Config(src, dst *sandbox.MariaDB) *config.Config {
	cfg := config.Defaults()
	cfg.Source = Endpoint(src)
	cfg.Target = Endpoint(dst)
	cfg.Replication.ServerID = 4000 + src.ServerID
	cfg.Replication.Databases = []string{"app"}
	cfg.Replication.Workers = 3
	cfg.Replication.CopyChunkRows = 100
	cfg.Replication.StallTimeout = 5 * time.Second
	cfg.Replication.MaxBackoff = time.Second
	cfg.Replication.Heartbeat = 200 * time.Millisecond
	cfg.Replication.ProgressInterval = time.Second
	return &cfg
}

// Open opens a pool with the sessions switcharoo's data connections use
// (UTC, raw result bytes), closed when t ends.
func Open(t testing.TB, e config.Endpoint) *sql.DB {
	t.Helper()
	db, err := mysqlconn.Open(e, "", mysqlconn.DataSession())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// StartBIND starts a BIND 9 serving zone for t, stopped when t ends.
func StartBIND(t testing.TB, zone string, records ...string) *sandbox.BIND {
	t.Helper()
	b, err := sandbox.StartBIND(context.Background(), sandbox.BINDOptions{Zone: zone, Records: records})
	if err != nil {
		SkipIfNotInstalled(t, err)
		t.Fatalf("start BIND: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("named log tail:\n%s", b.LogTail(10))
		}
		b.Stop()
	})
	return b
}
