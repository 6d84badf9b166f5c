package binlog

import (
	"context"
	"database/sql"
	"net"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// A snapshot that cannot be taken is an error, not a crash: the
// connections opened so far are given back (a nil snapshot was released
// before, and replicate died with a nil pointer under the chaos suite).
func TestSnapshotFailureIsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.Timeout = "root", "tcp", addr, time.Second
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s, err := takeSnapshot(context.Background(), db, "mariadb", 2, time.Second); err == nil || s != nil {
		t.Fatalf("a snapshot of an unreachable server: %v, %v", s, err)
	}
}
