package sandbox

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ErrNotInstalled means a server's binaries are not on this machine; the
// error wrapping it says which package to install.
var ErrNotInstalled = errors.New("not installed")

// MariaDBOptions shape one throwaway server. The zero value is a binlog-ROW
// source with server_id 1.
type MariaDBOptions struct {
	// ServerID is the server's server_id; 0 means 1.
	ServerID uint32
	// Settings are extra "name=value" option lines for the [mariadbd]
	// group. They come last, so they override the defaults, e.g.
	// "binlog_format=STATEMENT" or "skip_log_bin".
	Settings []string
	// StartTimeout bounds initialisation and start; 0 means 2 minutes.
	StartTimeout time.Duration
	// Addr is the loopback address to listen on (default 127.0.0.1), and
	// Port the port (default: a free one). The sandbox gives its two
	// servers two addresses and one port, so that DNS alone tells them apart.
	Addr string
	Port int
}

// MariaDB is a running throwaway server. Root connects over TCP on
// 127.0.0.1:Port without a password.
type MariaDB struct {
	Addr     string
	Port     int
	ServerID uint32
	// Dir holds the option file, the data directory and the error log; it
	// is removed by Stop.
	Dir string

	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
}

// Host is the address the server listens on.
const Host = "127.0.0.1"

// StartMariaDB initialises a data directory and starts a server on a free
// loopback port, returning once it accepts connections. On error nothing is
// left running or on disk.
func StartMariaDB(ctx context.Context, opts MariaDBOptions) (*MariaDB, error) {
	server, installDB, err := binaries()
	if err != nil {
		return nil, err
	}
	if opts.ServerID == 0 {
		opts.ServerID = 1
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()

	dir, err := os.MkdirTemp("", "switcharoo-mariadb-")
	if err != nil {
		return nil, fmt.Errorf("mariadb sandbox: %w", err)
	}
	if opts.Addr == "" {
		opts.Addr = Host
	}
	m := &MariaDB{Dir: dir, ServerID: opts.ServerID, Addr: opts.Addr}
	if err := m.start(ctx, server, installDB, opts); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

func (m *MariaDB) start(ctx context.Context, server, installDB string, opts MariaDBOptions) error {
	for _, d := range []string{m.dataDir(), m.tmpDir()} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("mariadb sandbox: %w", err)
		}
	}
	// Install with the same options the server will run with, on a port
	// that is not used yet: bootstrap opens no socket.
	if err := m.writeOptions(0, opts); err != nil {
		return err
	}
	install := exec.CommandContext(ctx, installDB, "--defaults-file="+m.optionFile(),
		"--auth-root-authentication-method=normal", "--skip-test-db")
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb sandbox: mariadb-install-db: %w\n%s\nerror log:\n%s", err, head(out, 3), m.ErrorLogTail(15))
	}
	// A free port can be taken by someone else before the server binds
	// it; a bind failure is retried on another port.
	const attempts = 5
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			var err error
			if port, err = freePort(m.Addr); err != nil {
				return err
			}
		}
		if err := m.writeOptions(port, opts); err != nil {
			return err
		}
		err := m.launch(ctx, server, port)
		if err == nil {
			m.Port = port
			return nil
		}
		if attempt == attempts || opts.Port != 0 || !strings.Contains(err.Error(), "already in use") {
			return err
		}
	}
}

// launch starts the server process and waits until it answers on port.
func (m *MariaDB) launch(ctx context.Context, server string, port int) error {
	cmd := exec.Command(server, "--defaults-file="+m.optionFile())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // a Ctrl-C at the terminal is for us, not the server
		Pdeathsig: syscall.SIGKILL, // never outlive the process that started it
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mariadb sandbox: start %s: %w", server, err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(m.exited) }()

	db, err := sql.Open("mysql", dsn(m.Addr, port, ""))
	if err != nil {
		return err
	}
	defer db.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := db.PingContext(ctx); err == nil {
			return nil
		}
		select {
		case <-m.exited:
			m.cmd = nil
			return fmt.Errorf("mariadb sandbox: server exited during start:\n%s", m.ErrorLogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("mariadb sandbox: server did not accept connections: %w\n%s", ctx.Err(), m.ErrorLogTail(20))
		case <-tick.C:
		}
	}
}

// DSN returns a go-sql-driver DSN for root on the given database ("" for
// none).
func (m *MariaDB) DSN(database string) string { return dsn(m.Addr, m.Port, database) }

func dsn(addr string, port int, database string) string {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(addr, strconv.Itoa(port))
	cfg.DBName = database
	cfg.MultiStatements = true
	cfg.Timeout = 5 * time.Second
	return cfg.FormatDSN()
}

// Stop ends the server (SIGTERM, then SIGKILL after 30 s) and removes its
// directory. It is safe to call more than once.
func (m *MariaDB) Stop() {
	m.shutdown()
	if m.Dir != "" {
		_ = os.RemoveAll(m.Dir)
		m.Dir = ""
	}
}

// shutdown stops the server process, cleanly if it can within 30 s.
func (m *MariaDB) shutdown() {
	if m.cmd != nil {
		terminate(m.cmd.Process, m.exited, 30*time.Second)
		m.cmd = nil
	}
}

// terminate sends SIGTERM to a process this package started, and SIGKILL
// if it has not exited after grace; exited is closed once it is reaped.
func terminate(p *os.Process, exited <-chan struct{}, grace time.Duration) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
	}
}

// Restart shuts the server down cleanly and starts it again on the same
// port with the same data — a maintenance restart, as its clients see
// it: every connection lost, the binlog rotated.
func (m *MariaDB) Restart(ctx context.Context) error {
	server, _, err := binaries()
	if err != nil {
		return err
	}
	m.shutdown()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return m.launch(ctx, server, m.Port)
}

// ErrorLogTail returns the last n lines of the server's error log.
func (m *MariaDB) ErrorLogTail(n int) string {
	b, err := os.ReadFile(filepath.Join(m.Dir, "error.log"))
	if err != nil {
		return "(no error log: " + err.Error() + ")"
	}
	return tail(b, n)
}

func (m *MariaDB) optionFile() string { return filepath.Join(m.Dir, "my.cnf") }
func (m *MariaDB) dataDir() string    { return filepath.Join(m.Dir, "data") }
func (m *MariaDB) tmpDir() string     { return filepath.Join(m.Dir, "tmp") }

// writeOptions writes the option file: a small, fast server that is a
// valid replication source, then the caller's settings.
func (m *MariaDB) writeOptions(port int, opts MariaDBOptions) error {
	var b bytes.Buffer
	b.WriteString("[mariadbd]\n")
	if os.Geteuid() == 0 {
		b.WriteString("user=root\n") // mariadbd refuses to run as root otherwise
	}
	for _, line := range []string{
		"datadir=" + m.dataDir(),
		"tmpdir=" + m.tmpDir(), // temporary tables of parallel servers must not meet in /tmp
		"socket=" + filepath.Join(m.Dir, "mysqld.sock"),
		"pid_file=" + filepath.Join(m.Dir, "mysqld.pid"),
		"log_error=" + filepath.Join(m.Dir, "error.log"),
		"port=" + strconv.Itoa(port),
		"bind_address=" + m.Addr,
		"skip_name_resolve",
		"server_id=" + strconv.FormatUint(uint64(m.ServerID), 10),
		"log_bin=binlog",
		"binlog_format=ROW",
		"binlog_row_image=FULL",
		"innodb_buffer_pool_size=32M",
		"innodb_log_file_size=16M",
		"innodb_data_file_path=ibdata1:4M:autoextend",
		"innodb_flush_log_at_trx_commit=2",
		"sync_binlog=0",
		"performance_schema=OFF",
		"max_connections=500",
	} {
		b.WriteString(line + "\n")
	}
	for _, line := range opts.Settings {
		b.WriteString(line + "\n")
	}
	if err := os.WriteFile(m.optionFile(), b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("mariadb sandbox: %w", err)
	}
	return nil
}

func binaries() (server, installDB string, err error) {
	const fix = "the MariaDB server; run `go tool task deps` (Debian/Ubuntu: apt-get install mariadb-server)"
	server, err = lookPath(fix, "mariadbd", "mysqld")
	if err != nil {
		return "", "", err
	}
	installDB, err = lookPath(fix, "mariadb-install-db", "mysql_install_db")
	return server, installDB, err
}

// lookPath finds the first of names on PATH or in the sbin directories a
// non-root PATH often lacks; what says what is missing and how to get it.
func lookPath(what string, names ...string) (string, error) {
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin"} {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%w: %s (looked for %s)", ErrNotInstalled, what, strings.Join(names, ", "))
}

func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("mariadb sandbox: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func head(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
