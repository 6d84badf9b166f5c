package binlog_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/sandbox"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
	"github.com/switcharoo/switcharoo/internal/secret"
	"log/slog"
	"net"
	"os"
)

// rig is a source and a target server with a replicator between them.
type rig struct {
	t        *testing.T
	src, dst *sandbox.MariaDB
	srcDB    *sql.DB // root, raw result bytes, UTC
	dstDB    *sql.DB
	cfg      *config.Config
	log      *logBuffer
}

func newRig(t *testing.T, sourceSettings ...string) *rig {
	t.Helper()
	servers := sandboxtest.StartN(t, 2, sandboxtest.With(sourceSettings...))
	r := &rig{t: t, src: servers[0], dst: servers[1], log: &logBuffer{}}
	r.cfg = sandboxtest.Config(r.src, r.dst)
	r.srcDB = sandboxtest.Open(t, r.cfg.Source)
	r.dstDB = sandboxtest.Open(t, r.cfg.Target)
	return r
}

// source runs statements on the source.
func (r *rig) source(statements ...string) {
	r.t.Helper()
	sandboxtest.Exec(r.t, r.srcDB, statements...)
}

// running is a replicator started by run.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // what Run returned
}

// run starts a replicator; stop it with stop.
func (r *rig) run(opts binlog.RunOptions) *running {
	r.t.Helper()
	rep, err := binlog.New(r.cfg, zerolog.New(r.log).Level(zerolog.DebugLevel))
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		run.err = rep.Run(ctx, opts)
		rep.Close()
		close(run.done)
	}()
	r.t.Cleanup(func() { run.stop() })
	return run
}

// stop cancels the replicator and returns what Run returned.
func (run *running) stop() error {
	run.cancel()
	<-run.done
	return run.err
}

// stopClean stops the replicator and fails the test unless it ended cleanly.
func (r *rig) stopClean(run *running) {
	r.t.Helper()
	if err := run.stop(); err != nil {
		r.t.Fatalf("replicate: %v\n%s", err, r.log)
	}
}

// assertSameQuery compares a query's text rows on the source and the target.
func (r *rig) assertSameQuery(q string) []string {
	r.t.Helper()
	want, got := sandboxtest.Text(r.t, r.srcDB, q), sandboxtest.Text(r.t, r.dstDB, q)
	if !slices.Equal(want, got) {
		r.t.Errorf("%s differs:\n%s", q, firstDifference(want, got))
	}
	return got
}

// sourcePosition is the source's current binlog position.
func (r *rig) sourcePosition() binlog.Position {
	r.t.Helper()
	var p binlog.Position
	var doDB, ignoreDB sql.NullString
	if err := r.srcDB.QueryRow("SHOW MASTER STATUS").Scan(&p.File, &p.Pos, &doDB, &ignoreDB); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// waitCaughtUp waits until the target's checkpoint reaches the source's
// current position.
func (r *rig) waitCaughtUp(run *running) {
	r.t.Helper()
	want := r.sourcePosition()
	deadline := time.Now().Add(60 * time.Second)
	for {
		cp, err := binlog.ReadCheckpoint(context.Background(), r.dstDB, r.cfg.Replication.CheckpointSchema)
		if err == nil && cp.Phase == "streaming" && cp.Position.Compare(want) >= 0 {
			return
		}
		select {
		case <-run.done:
			r.t.Fatalf("replicator ended before catching up: %v\n%s", run.err, r.log)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("not caught up with %s after 60s (checkpoint %+v, %v)\n%s", want, cp, err, r.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertSame compares the source's app database with the target's db.
func (r *rig) assertSame(db string) {
	r.t.Helper()
	r.assertSameDB("app", db)
}

// assertSameDB compares the tables of a source database with those of a
// target database, row by row.
func (r *rig) assertSameDB(srcDB, dstDB string) {
	r.t.Helper()
	list := "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='%s' ORDER BY 1"
	tables := sandboxtest.Dump(r.t, r.srcDB, fmt.Sprintf(list, srcDB))
	got := sandboxtest.Dump(r.t, r.dstDB, fmt.Sprintf(list, dstDB))
	if !slices.Equal(tables, got) {
		r.t.Fatalf("tables differ: source %s %v, target %s %v", srcDB, tables, dstDB, got)
	}
	if len(tables) == 0 {
		r.t.Fatalf("no tables in %s to compare", srcDB)
	}
	for _, hexName := range tables {
		r.assertSameTable(srcDB, dstDB, unhex(hexName))
	}
}

// assertSameTable compares one table's rows.
func (r *rig) assertSameTable(srcDB, dstDB, table string) {
	r.t.Helper()
	q := "SELECT * FROM `%s`.`" + table + "` ORDER BY 1"
	want := sandboxtest.Dump(r.t, r.srcDB, fmt.Sprintf(q, srcDB))
	have := sandboxtest.Dump(r.t, r.dstDB, fmt.Sprintf(q, dstDB))
	sandboxtest.Count(r.t, "rows compared, source against target", int64(len(want)))
	if !slices.Equal(want, have) {
		r.t.Errorf("table %s differs: source has %d rows, target %d\n%s", table, len(want), len(have), firstDifference(want, have))
	}
}

func unhex(s string) string {
	var b []byte
	fmt.Sscanf(s, "%x", &b)
	return string(b)
}

func firstDifference(a, b []string) string {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("row %d:\n  source %s\n  target %s", i, x, y)
		}
	}
	return ""
}

// logBuffer collects a replicator's log for failure messages.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > 20000 {
		s = "…" + s[len(s)-20000:]
	}
	return s
}

// contains reports whether the log holds s.
func (l *logBuffer) contains(s string) bool { return strings.Contains(l.String(), s) }

// count counts s in the whole log (String shows only its end).
func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

var _ = errors.New

func exitCodeOf(err error) int { return exitcode.Of(err) }

func secretFromEnv(name string) secret.Value { return secret.New(os.Getenv(name)) }

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
