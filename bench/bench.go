package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// serverSettings are every bench server's settings on top of the
// sandbox's defaults (binlog ROW/FULL, innodb_flush_log_at_trx_commit=2,
// sync_binlog=0): large enough that the dataset lives in memory and redo
// log checkpoints do not dominate, and replicas that binlog what they
// apply.
var serverSettings = []string{
	"innodb_buffer_pool_size=1G",
	"innodb_log_file_size=512M",
	"max_allowed_packet=64M",
	"log_slave_updates=ON",
}

// bench holds the servers the scenarios share and what they measured.
type bench struct {
	o       options
	started time.Time
	report  report

	source  *sandbox.MariaDB
	servers []*sandbox.MariaDB // every server started, stopped at the end
	nextID  uint32

	// Left by apply for verify: switcharoo's target and the single-threaded
	// native replica, both in sync with the source.
	applied, replica *sandbox.MariaDB
	// Left by copy for lag: switcharoo's copy of the sysbench tables.
	copied *sandbox.MariaDB
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Since(b.started).Round(time.Second), fmt.Sprintf(format, args...))
}

// server starts a throwaway MariaDB with the bench's settings.
func (b *bench) server(ctx context.Context, extra ...string) (*sandbox.MariaDB, error) {
	b.nextID++
	m, err := sandbox.StartMariaDB(ctx, sandbox.MariaDBOptions{
		ServerID: b.nextID,
		Settings: append(append([]string{}, serverSettings...), extra...),
	})
	if err != nil {
		return nil, err
	}
	b.servers = append(b.servers, m)
	return m, nil
}

// release stops a server a later scenario no longer needs.
func (b *bench) release(m *sandbox.MariaDB) {
	for i, s := range b.servers {
		if s == m {
			b.servers = append(b.servers[:i], b.servers[i+1:]...)
			break
		}
	}
	m.Stop()
}

func (b *bench) stopServers() {
	for _, m := range b.servers {
		m.Stop()
	}
	b.servers = nil
}

// startSource starts the source and fills it with the sysbench dataset
// (database sbtest) and, for the copy scenario, one table as large as all
// of them (database sbbig).
func (b *bench) startSource(ctx context.Context) error {
	b.logf("starting the source and preparing %d × %d rows", b.o.tables, b.o.tableRows)
	src, err := b.server(ctx)
	if err != nil {
		return err
	}
	b.source = src
	db, err := open(src, "")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range []string{"CREATE DATABASE sbtest", "CREATE DATABASE sbbig"} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := b.sysbench(ctx, src, "sbtest", b.o.tables, b.o.tableRows, "prepare"); err != nil {
		return err
	}
	if b.o.scenarios["copy"] {
		if _, err := b.sysbench(ctx, src, "sbbig", 1, b.o.tables*b.o.tableRows, "prepare"); err != nil {
			return err
		}
	}
	return nil
}

// open connects as root to m's database.
func open(m *sandbox.MariaDB, database string) (*sql.DB, error) {
	db, err := sql.Open("mysql", m.DSN(database))
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(4)
	return db, nil
}

// sysbenchArgs are the connection and dataset arguments of oltp_write_only
// against m.
func sysbenchArgs(m *sandbox.MariaDB, database string, tables, rows int) []string {
	return []string{"oltp_write_only", "--db-driver=mysql", "--mysql-host=" + m.Addr, "--mysql-port=" + strconv.Itoa(m.Port),
		"--mysql-user=root", "--mysql-db=" + database, "--tables=" + strconv.Itoa(tables), "--table-size=" + strconv.Itoa(rows)}
}

// sysbench runs sysbench oltp_write_only with extra arguments (the last
// being the command: prepare or run) and returns its output.
func (b *bench) sysbench(ctx context.Context, m *sandbox.MariaDB, database string, tables, rows int, extra ...string) (string, error) {
	args := append(sysbenchArgs(m, database, tables, rows), extra...)
	out, err := exec.CommandContext(ctx, "sysbench", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("sysbench %s: %w\n%s", strings.Join(extra, " "), err, tailLines(out, 20))
	}
	return string(out), nil
}

var (
	sysbenchTrx    = regexp.MustCompile(`transactions:\s+(\d+)`)
	sysbenchWrites = regexp.MustCompile(`write:\s+(\d+)`)
)

// sysbenchCounts reads the transactions and row writes a run reports.
func sysbenchCounts(out string) (trx, writes int64, err error) {
	t, w := sysbenchTrx.FindStringSubmatch(out), sysbenchWrites.FindStringSubmatch(out)
	if t == nil || w == nil {
		return 0, 0, fmt.Errorf("sysbench printed no transaction counts:\n%s", out)
	}
	trx, _ = strconv.ParseInt(t[1], 10, 64)
	writes, _ = strconv.ParseInt(w[1], 10, 64)
	return trx, writes, nil
}

// measured is one finished command: its wall time, peak memory and
// standard output.
type measured struct {
	elapsed time.Duration
	cpu     time.Duration // user + system time of the process itself
	rssMB   float64
	output  string
}

// timed runs a command to its end and measures it. The command is bash's
// when it holds a pipe.
func timed(ctx context.Context, name string, args ...string) (measured, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start := time.Now()
	err := cmd.Run()
	m := measured{elapsed: time.Since(start), output: out.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			m.rssMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
			m.cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
		}
	}
	if err != nil {
		return m, fmt.Errorf("%s %s: %w\n%s\n%s", name, strings.Join(args, " "), err, tailLines(out.Bytes(), 20), tailLines(stderr.Bytes(), 20))
	}
	return m, nil
}

// replicateConfig writes a config replicating database from src to dst.
func (b *bench) replicateConfig(name string, src, dst *sandbox.MariaDB, database string, settings ...string) (string, error) {
	path := filepath.Join(b.o.workDir, name+".yaml")
	cfg := fmt.Sprintf(`state_dir: %s
source: {host: %s, port: %d, user: root, tls: {mode: disabled}}
target: {host: %s, port: %d, user: root, tls: {mode: disabled}}
replication:
  server_id: 4242
  databases: [%s]
  workers: 4
`, filepath.Join(b.o.workDir, name+".state"), src.Addr, src.Port, dst.Addr, dst.Port, database)
	for _, s := range settings {
		cfg += "  " + s + "\n"
	}
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// replicate runs `switcharoo replicate --until-caught-up` to its end. With
// a profile name, it writes a CPU profile whose top functions go into the
// report under that name.
func (b *bench) replicate(ctx context.Context, config, profile string) (measured, error) {
	args := []string{"--log-format", "json", "--log-level", "warn", "-c", config}
	path := filepath.Join(b.o.workDir, "profile-"+strings.ReplaceAll(profile, " ", "-")+".pprof")
	if profile != "" {
		args = append(args, "--cpu-profile", path)
	}
	m, err := timed(ctx, b.o.binaryAbs, append(args, "replicate", "--until-caught-up")...)
	if err != nil || profile == "" {
		return m, err
	}
	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=35", b.o.binaryAbs, path).Output()
	if err != nil {
		return m, fmt.Errorf("go tool pprof: %w", err)
	}
	if b.report.Profiles == nil {
		b.report.Profiles = map[string]string{}
	}
	b.report.Profiles[profile] = string(top)
	return m, nil
}

// position is the source's binlog position now.
func position(ctx context.Context, db *sql.DB) (file string, pos int64, err error) {
	var doDB, ignoreDB sql.NullString
	err = db.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB)
	return file, pos, err
}

// checksum is CHECKSUM TABLE of every table of database, as one string.
func checksum(ctx context.Context, m *sandbox.MariaDB, database string, tables int) (string, error) {
	db, err := open(m, database)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var names []string
	for i := 1; i <= tables; i++ {
		names = append(names, fmt.Sprintf("sbtest%d", i))
	}
	rows, err := db.QueryContext(ctx, "CHECKSUM TABLE "+strings.Join(names, ", "))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		var sum sql.NullInt64
		if err := rows.Scan(&name, &sum); err != nil {
			return "", err
		}
		out = append(out, fmt.Sprintf("%s=%d", name, sum.Int64))
	}
	return strings.Join(out, " "), rows.Err()
}

// countRows is the number of rows in database's sysbench tables.
func countRows(ctx context.Context, m *sandbox.MariaDB, database string, tables int) (int64, error) {
	db, err := open(m, database)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var total int64
	for i := 1; i <= tables; i++ {
		var n int64
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) FROM sbtest%d", i)).Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// poll calls cond every interval until it is true, fails, or timeout
// passes.
func poll(ctx context.Context, what string, interval, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
