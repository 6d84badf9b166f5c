package sandbox

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// WriterOptions configure the sample application: a loop of inserts into
// app.writes, as the application's user, through the database name the
// application uses.
type WriterOptions struct {
	Name     string // written into every row
	Host     string // a name, resolved through DNSServer for every connection, or an address
	Port     int
	User     string
	Password string
	// DNSServer is host:port of the DNS server to resolve Host with; empty:
	// the system's.
	DNSServer string
	// AckFile, when set, gets the id of every write the server acknowledged.
	AckFile  string
	Rows     int // stop after this many writes; 0: until ctx ends
	Interval time.Duration
	Log      io.Writer
}

// WriterOptionsFromEnv reads the options the sandbox's task definitions
// give: DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DNS_SERVER, ACK_FILE.
func WriterOptionsFromEnv() (WriterOptions, error) {
	port, err := strconv.Atoi(os.Getenv("DB_PORT"))
	if err != nil {
		return WriterOptions{}, fmt.Errorf("DB_PORT: %w", err)
	}
	return WriterOptions{Host: os.Getenv("DB_HOST"), Port: port, User: os.Getenv("DB_USER"), Password: os.Getenv("DB_PASSWORD"),
		DNSServer: os.Getenv("DNS_SERVER"), AckFile: os.Getenv("ACK_FILE"), Interval: 20 * time.Millisecond, Log: os.Stderr}, nil
}

// RunWriter writes until ctx ends (or Rows writes). A failed write drops
// the connection; the next one resolves the name again, as an application
// whose database moved would.
func RunWriter(ctx context.Context, o WriterOptions) error {
	if o.Interval <= 0 {
		o.Interval = 20 * time.Millisecond
	}
	ack, err := o.start()
	if err != nil {
		return err
	}
	defer ack.Close()
	var db *sql.DB
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	written := 0
	for o.Rows == 0 || written < o.Rows {
		if db == nil {
			var err error
			if db, err = openWriter(ctx, o); err != nil {
				fmt.Fprintf(o.Log, "%s connect: %v\n", o.Name, err)
				db = nil
			}
		}
		if db != nil {
			if _, err := insertWrite(ctx, db, o.Name, ack); err != nil && ctx.Err() == nil {
				fmt.Fprintf(o.Log, "%s write: %v\n", o.Name, err)
				db.Close()
				db = nil
			} else if err == nil {
				written++
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Interval):
		}
	}
	return nil
}

// start prepares a task of the sample application: its log (discarded
// when unset) and its acknowledgement file.
func (o *WriterOptions) start() (*acks, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	return openAcks(o.AckFile)
}

// acks is the file of acknowledged writes' ids (nil: none kept).
type acks struct {
	mu sync.Mutex
	f  *os.File
}

func openAcks(path string) (*acks, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &acks{f: f}, nil
}

func (a *acks) add(id int64) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	fmt.Fprintf(a.f, "%d\n", id)
}

func (a *acks) Close() {
	if a != nil {
		a.f.Close()
	}
}

// insertWrite writes one row of app.writes through q and records its id
// once the server acknowledged it.
func insertWrite(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, name string, ack *acks) (int64, error) {
	res, err := q.ExecContext(ctx, "INSERT INTO app.writes (writer, server_id, at) VALUES (?, @@server_id, NOW(6))", name)
	if err != nil {
		return 0, err
	}
	id, _ := res.LastInsertId()
	ack.add(id)
	return id, nil
}

func openWriter(ctx context.Context, o WriterOptions) (*sql.DB, error) {
	db, err := openApp(o, 1)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openApp opens a pool of at most conns connections as the application:
// to o.Host resolved afresh for every connection (through o.DNSServer when
// set), failing fast under a global read lock or a row lock.
func openApp(o WriterOptions, conns int) (*sql.DB, error) {
	resolver := net.DefaultResolver
	if o.DNSServer != "" {
		resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, o.DNSServer)
		}}
	}
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr = o.User, o.Password, "tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	c.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if net.ParseIP(host) == nil {
			addrs, err := resolver.LookupHost(ctx, host)
			if err != nil || len(addrs) == 0 {
				return nil, fmt.Errorf("resolve %s: %v", host, err)
			}
			host = addrs[0]
		}
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(host, port))
	}
	c.Timeout, c.ReadTimeout, c.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
	c.Logger = &mysql.NopLogger{}
	c.Params = map[string]string{"lock_wait_timeout": "1", "innodb_lock_wait_timeout": "1"}
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}
