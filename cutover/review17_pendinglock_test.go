package cutover

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/faultpoint"
)

// blackhole is a TCP proxy that, once stalled, drops every byte both
// ways and never passes a close on: the server keeps its side of every
// connection open, as it does when a VPN drops with the sockets left
// open (faultproxy passes the client's close on to the server).
type blackhole struct {
	port    int
	stalled atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
}

func startBlackhole(t *testing.T, host string, port int) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{port: ln.Addr().(*net.TCPAddr).Port}
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	pipe := func(from, to net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := from.Read(buf)
			if n > 0 && !b.stalled.Load() {
				_, _ = to.Write(buf[:n])
			}
			if err != nil {
				if !b.stalled.Load() {
					to.Close()
				}
				return
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				c.Close()
				continue
			}
			b.mu.Lock()
			b.conns = append(b.conns, c, up)
			b.mu.Unlock()
			go pipe(c, up)
			go pipe(up, c)
		}
	}()
	return b
}

// review17: takeSourceLock journals the lock's connection id only after
// FLUSH TABLES WITH READ LOCK returned. A FLUSH that waits (behind a
// running statement: on MySQL 5.6 a long SELECT, here a SUPER UPDATE)
// when switcharoo loses the connection — its network fails with the
// socket left open (a VPN drop), or the process is killed on a host that
// is lost — goes on waiting on the server, takes the lock once the
// statement ends, and keeps it: the session was given wait_timeout = one
// year before the FLUSH. Its id is in no journal, so endStaleLocks never
// looks at it (and, while it waits, its COMMAND is 'Query', not 'Sleep',
// which endStaleLocks would pass over too). The rollback then reports
// the source open ("rolled back", exit 0) while every write there waits
// on that lock.
func TestReview17PendingLockNeverJournaled(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	src := rootDB(t, sb.Source)
	proxy := startBlackhole(t, sb.Config.Source.Host, sb.Config.Source.Port)
	viaProxy := copyConfig(sb)
	viaProxy.Source.Host, viaProxy.Source.Port = "127.0.0.1", proxy.port
	viaProxy.Source.ConnectTimeout = time.Second

	var flushID int64
	stalled := make(chan struct{})
	disarm := faultpoint.Arm(faultpoint.FenceAfterKill, func() {
		// A statement the FLUSH must wait for, started right after the
		// fence killed the clients.
		go func() {
			_, _ = src.ExecContext(ctx, "UPDATE app.customers SET name = name WHERE id = 1 AND SLEEP(8) = 0")
		}()
		waitFor(t, "the long statement running", 5*time.Second, func() (bool, string) {
			n := query(t, src, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE app.customers SET name = name%'")
			return n == "1", n
		})
		// switcharoo's path to the source fails while the FLUSH waits.
		go func() {
			defer close(stalled)
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				var id int64
				if err := src.QueryRowContext(ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO = 'FLUSH TABLES WITH READ LOCK'").Scan(&id); err == nil {
					flushID = id
					proxy.stalled.Store(true)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	})
	_, err := bounded(t, "run", func() {}, func() (*Report, error) { return newRunbook(t, sb, viaProxy, nil).Run(ctx) })
	disarm()
	<-stalled
	if flushID == 0 {
		t.Fatalf("the FLUSH never waited (run: %v)", err)
	}
	t.Logf("run, switcharoo's path to the source stalled while its FLUSH (connection %d) waited: %v", flushID, err)
	// The statement ends; the orphaned FLUSH takes the lock and keeps it.
	waitFor(t, "the orphaned FLUSH holding the lock, idle", 20*time.Second, func() (bool, string) {
		c := query(t, src, "SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = ?", flushID)
		return c == "Sleep", c
	})
	// The operator rolls back over a path that works (the VPN back, from
	// another host): the same state_dir, the source reached directly.
	rollback := copyConfig(sb)
	var rerr error
	waitFor(t, "a rollback that is not refused", time.Minute, func() (bool, string) {
		_, rerr = newRunbook(t, sb, rollback, nil).Rollback(ctx)
		return rerr == nil || !strings.Contains(rerr.Error(), "another switcharoo runbook"), errString(rerr)
	})
	if rerr != nil {
		t.Fatalf("rollback: %v", rerr)
	}
	alive := query(t, src, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", flushID)
	var ids []int64
	if last, err := readLastRun(sb.Config.StateDir); err == nil {
		ids = journaledLockIDs(last)
	}
	conn, err := src.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 3"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE review17_probe"); err != nil {
		t.Errorf("the rollback said the source is open, but a write there fails: %v; the orphaned FLUSH's connection %d is still there (%s), and the journal's lock connections are %v",
			err, flushID, alive, ids)
	}
	if n := query(t, src, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", flushID); n != "0" {
		t.Errorf("the stale lock's connection %d is still there after the rollback", flushID)
		exec1(t, src, "KILL "+strconv.FormatInt(flushID, 10))
	}
	stopWatch()
}
