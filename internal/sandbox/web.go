package sandbox

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The sample web service: what a well-written application does through a
// night that keeps it serving (docs/runbook.md, "Keep serving"). Each task
// serves HTTP on a loopback port it registers with the sandbox's load
// balancer (a file in the targets directory), and reaches the database
// through its name, resolved afresh for every connection. A request whose
// statement the night's fence refuses — read_only, a locked account, a
// killed connection, a lock wait under the global read lock — is retried
// on a new connection, so against the other server once the name or the
// task's DB_HOST moved, for at most WebOptions.Retry; only then does the
// request fail (503). On SIGTERM the task deregisters, finishes the
// requests under way and exits, as a task behind a load balancer drains.
//
//	GET  /read   one customer row (200, or 503)
//	POST /write  one row of app.writes, its id in the acknowledgement file
//	             once committed (200 {"id":…,"server_id":…}, or 503)

// WebOptions configure a web task: the writer's options (the database,
// the acknowledgement file) and where it registers.
type WebOptions struct {
	WriterOptions
	// TargetsDir is the load balancer's target group: the task writes
	// its address into a file there while it serves.
	TargetsDir string
	// Retry bounds how long a request retries refused statements.
	Retry time.Duration
}

// WebOptionsFromEnv reads the web task's options from the environment the
// sandbox's task definition gives: the writer's, and TARGETS_DIR.
func WebOptionsFromEnv() (WebOptions, error) {
	w, err := WriterOptionsFromEnv()
	if err != nil {
		return WebOptions{}, err
	}
	return WebOptions{WriterOptions: w, TargetsDir: os.Getenv("TARGETS_DIR"), Retry: 10 * time.Second}, nil
}

// RunWeb serves until ctx ends, then drains.
func RunWeb(ctx context.Context, o WebOptions) error {
	ack, err := o.start()
	if err != nil {
		return err
	}
	defer ack.Close()
	db, err := openApp(o.WriterOptions, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	// Connections are recycled, as the checklist asks of an application:
	// none outlives a DNS change by long.
	db.SetConnMaxLifetime(30 * time.Second)
	w := &web{db: db, ack: ack, o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /read", w.read)
	mux.HandleFunc("POST /write", w.write)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	registration, err := register(o.TargetsDir, l.Addr().String())
	if err != nil {
		srv.Close()
		return err
	}
	select {
	case err := <-served:
		os.Remove(registration)
		return err
	case <-ctx.Done():
	}
	// Deregister, then drain: the load balancer sends nothing new, and
	// what it sent before deregistering still finds the listener open
	// (a load balancer's deregistration delay, a task's pre-stop wait).
	os.Remove(registration)
	select {
	case <-time.After(deregistrationDelay):
	case err := <-served:
		return err
	}
	drain, cancel := context.WithTimeout(context.Background(), o.Retry+5*time.Second)
	defer cancel()
	return srv.Shutdown(drain)
}

// deregistrationDelay is how long a web task keeps serving after it
// deregistered, before it stops accepting connections.
const deregistrationDelay = time.Second

// register writes addr into a new file of dir, whole or not at all.
func register(dir, addr string) (string, error) {
	if dir == "" {
		return "", errors.New("web: no TARGETS_DIR to register with")
	}
	name := filepath.Join(dir, strconv.Itoa(os.Getpid())+".addr")
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr), 0o600); err != nil {
		return "", err
	}
	return name, os.Rename(tmp, name)
}

type web struct {
	db  *sql.DB
	ack *acks
	o   WebOptions
}

func (w *web) read(rw http.ResponseWriter, r *http.Request) {
	var name string
	err := w.retry(r.Context(), func(c *sql.Conn) error {
		return c.QueryRowContext(r.Context(), "SELECT name FROM app.customers ORDER BY id LIMIT 1").Scan(&name)
	})
	w.reply(rw, err, map[string]any{"name": name})
}

func (w *web) write(rw http.ResponseWriter, r *http.Request) {
	var id int64
	var server uint32
	err := w.retry(r.Context(), func(c *sql.Conn) error {
		tx, err := c.BeginTx(r.Context(), nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		res, err := tx.ExecContext(r.Context(), "INSERT INTO app.writes (writer, server_id, at) VALUES ('web', @@server_id, NOW(6))")
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(r.Context(), "SELECT @@server_id").Scan(&server); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		w.ack.add(id)
		return nil
	})
	w.reply(rw, err, map[string]any{"id": id, "server_id": server})
}

func (w *web) reply(rw http.ResponseWriter, err error, body map[string]any) {
	rw.Header().Set("Content-Type", "application/json")
	if err != nil {
		fmt.Fprintf(w.o.Log, "web: %v\n", err)
		// 500, as an application answers its own failure: 502-504 are the
		// balancer's, when no task answers (the users' site-down time).
		rw.WriteHeader(http.StatusInternalServerError)
		body = map[string]any{"error": err.Error()}
	}
	json.NewEncoder(rw).Encode(body)
}

// retry runs f on a connection of the pool until it succeeds, fails for a
// reason the fence does not explain, or o.Retry has passed. A connection
// that met a refusal is discarded: the next resolves the name again.
func (w *web) retry(ctx context.Context, f func(*sql.Conn) error) error {
	deadline := time.Now().Add(w.o.Retry)
	wait := 20 * time.Millisecond
	for {
		err := w.once(ctx, f)
		if err == nil || !refused(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

func (w *web) once(ctx context.Context, f func(*sql.Conn) error) error {
	c, err := w.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	err = f(c)
	if err != nil && refused(err) {
		// Discard the connection: database/sql closes one whose Raw
		// says driver.ErrBadConn.
		c.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// refused reports whether err is one a fence or a switch of servers
// causes, that a retry on a new connection may overcome: read_only
// (1290, 1836), a lock wait under the global read lock (1205), a locked
// account (3118 MySQL, 4151 MariaDB) or refused login (1045), a killed or
// lost connection (1927, 1053, 2006, 2013, a network error).
func refused(err error) bool {
	if me, ok := errors.AsType[*mysql.MySQLError](err); ok {
		switch me.Number {
		case 1290, 1836, 1205, 3118, 4151, 1045, 1927, 1053, 2006, 2013:
			return true
		}
		return false
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
