package binlog_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/faultproxy"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

func faultRig(t *testing.T) *rig {
	r := newRig(t)
	r.cfg.Replication.StallTimeout = 2 * time.Second
	r.source(
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(200) NOT NULL, pad CHAR(200) NOT NULL DEFAULT '')",
		"INSERT INTO app.items (id, v) SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_5000",
		"CREATE TABLE app.names (name VARCHAR(40) PRIMARY KEY, n INT NOT NULL)",
		"INSERT INTO app.names SELECT CONCAT('n', seq), seq FROM mysql.seq_1_to_5000",
	)
	return r
}

// streamedMore returns a condition: more than n transactions applied.
func (r *rig) streamedMore(n uint64) func() bool {
	return func() bool {
		cp, err := binlog.ReadCheckpoint(context.Background(), r.dstDB, "_switcharoo")
		return err == nil && cp.Phase == "streaming" && cp.Transactions > n
	}
}

func (r *rig) transactions() uint64 {
	cp, err := binlog.ReadCheckpoint(context.Background(), r.dstDB, "_switcharoo")
	if err != nil {
		r.t.Fatal(err)
	}
	return cp.Transactions
}

// kill kills the connections on db's server whose command is command, or
// every connection but db's own when command is "": what a network cut or
// a server restart does to a client.
func kill(t *testing.T, db *sql.DB, command string) {
	t.Helper()
	q := "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = 'root'"
	if command != "" {
		q += " AND COMMAND = '" + command + "'"
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		t.Fatalf("no connection to kill (%q)", command)
	}
	for _, id := range ids {
		_, _ = db.Exec(fmt.Sprintf("KILL %d", id))
	}
}

// The source's binlog dump connection and then every target connection
// are killed mid-stream, under writes: replication reconnects, resumes
// from the checkpoint and ends identical.
func TestConnectionsKilledMidStream(t *testing.T) {
	r := faultRig(t)
	w := startWriter(r, 2, 5000)
	t.Cleanup(func() { w.finish() })
	run := r.run(binlog.RunOptions{})
	r.waitFor(run, "streaming", r.streamedMore(20))

	kill(t, r.srcDB, "Binlog Dump")
	r.waitFor(run, "recovery from the source cut", func() bool { return r.log.contains("replication recovered") })
	r.waitFor(run, "more changes", r.streamedMore(r.transactions()+20))

	kill(t, r.dstDB, "")
	r.waitFor(run, "recovery from the target cut", func() bool { return strings.Count(r.log.String(), "replication recovered") >= 2 })
	r.waitFor(run, "more changes", r.streamedMore(r.transactions()+20))

	t.Logf("%d writes", w.finish())
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}

// A source connection that stalls (packets dropped, the socket left open,
// as a VPN does when it fails) is detected within stall_timeout and
// re-established once the network is back.
func TestStalledSourceIsDetected(t *testing.T) {
	r := faultRig(t)
	proxy := faultproxy.Start(t, r.cfg.Source.Host, r.cfg.Source.Port)
	r.cfg.Source.Host, r.cfg.Source.Port = faultproxy.Host, proxy.Port
	r.cfg.Source.ConnectTimeout = 2 * time.Second
	w := startWriter(r, 1, 5000)
	t.Cleanup(func() { w.finish() })
	run := r.run(binlog.RunOptions{})
	r.waitFor(run, "streaming", r.streamedMore(20))

	proxy.Stall(t)
	stalled := time.Now()
	r.waitFor(run, "the stall to be noticed", func() bool { return r.log.contains("replication interrupted") })
	t.Logf("stall noticed after %s (stall_timeout %s)", time.Since(stalled).Round(100*time.Millisecond), r.cfg.Replication.StallTimeout)
	proxy.Heal(t)
	r.waitFor(run, "recovery", func() bool { return r.log.contains("replication recovered") })

	t.Logf("%d writes", w.finish())
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}

// The target, then the source, restarted mid-stream (every connection
// lost; the source's binlog rotated): replication recovers each time and
// ends identical. The writer pauses while the source is down, as the
// application would.
func TestServersRestartedMidStream(t *testing.T) {
	r := faultRig(t)
	w := startWriter(r, 1, 5000)
	run := r.run(binlog.RunOptions{})
	r.waitFor(run, "streaming", r.streamedMore(20))
	recoveries := func() int { return strings.Count(r.log.String(), "replication recovered") }

	if err := r.dst.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.waitFor(run, "recovery after the target's restart", func() bool { return recoveries() >= 1 })
	at := r.transactions()
	r.waitFor(run, "changes applied after the target's restart", r.streamedMore(at+20))
	t.Logf("%d writes before the source's restart", w.finish())

	if err := r.src.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	w = startWriter(r, 1, 5000)
	r.waitFor(run, "recovery after the source's restart", func() bool { return recoveries() >= 2 })
	at = r.transactions()
	r.waitFor(run, "changes applied after the source's restart", r.streamedMore(at+20))
	t.Logf("%d writes after it", w.finish())
	sandboxtest.Count(t, "server restarted mid-stream", 2)
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}

// Network faults between the replicator and each server, as a VPN has
// them, under writes: connections reset, a blackhole longer than
// stall_timeout (on the target side, held until the target's watchdog
// gives up on the statements in flight, long before their 30 s timeout),
// added latency with jitter, and a 32 KB/s link. After each, replication makes progress again; at the end
// the tables are identical. SWITCHAROO_CHAOS_FAULTS sets how many of each
// kind on each side (3; `go tool task chaos` does 20).
func TestNetworkFaults(t *testing.T) {
	n := 3
	if s := os.Getenv("SWITCHAROO_CHAOS_FAULTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			t.Fatalf("SWITCHAROO_CHAOS_FAULTS=%q: want a positive number", s)
		}
	}
	r := faultRig(t)
	source := faultproxy.Start(t, r.cfg.Source.Host, r.cfg.Source.Port)
	target := faultproxy.Start(t, r.cfg.Target.Host, r.cfg.Target.Port)
	r.cfg.Source.Host, r.cfg.Source.Port = faultproxy.Host, source.Port
	r.cfg.Target.Host, r.cfg.Target.Port = faultproxy.Host, target.Port
	r.cfg.Source.ConnectTimeout, r.cfg.Target.ConnectTimeout = 2*time.Second, 2*time.Second
	w := startWriter(r, 1, 5000)
	t.Cleanup(func() { w.finish() })
	run := r.run(binlog.RunOptions{})
	r.waitFor(run, "streaming", r.streamedMore(20))

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	counts := map[string]int{}
	for range n {
		for _, side := range []struct {
			name string
			p    *faultproxy.Proxy
		}{{"source", source}, {"target", target}} {
			for _, f := range []struct {
				kind, toxic, attributes string
				hold                    time.Duration
			}{
				{"reset", "reset_peer", `{"timeout": 0}`, 200 * time.Millisecond},
				{"blackhole", "timeout", `{"timeout": 0}`, r.cfg.Replication.StallTimeout + time.Second},
				{"latency", "latency", `{"latency": 80, "jitter": 40}`, time.Second},
				{"bandwidth", "bandwidth", `{"rate": 32}`, time.Second},
			} {
				at := r.transactions()
				noticed := r.log.count("the target does not answer")
				side.p.Toxic(t, f.toxic, f.attributes)
				time.Sleep(f.hold + time.Duration(rng.IntN(300))*time.Millisecond) // the fault's length, not a wait for a condition
				if side.name == "target" && f.kind == "blackhole" {
					// A statement sent into the blackhole would wait for
					// its timeout (30 s): the target's watchdog must give
					// up on it well before, while the blackhole lasts.
					r.waitWithin(run, "the target's watchdog to notice the blackhole", 20*time.Second, func() bool {
						return r.log.count("the target does not answer") > noticed
					})
				}
				side.p.Heal(t)
				r.waitFor(run, fmt.Sprintf("progress after a %s on the %s side", f.kind, side.name), r.streamedMore(at+5))
				counts[side.name+" "+f.kind]++
			}
		}
	}
	writes := w.finish()
	t.Logf("faults injected: %v; %d writes", counts, writes)
	for kind, n := range counts {
		sandboxtest.Count(t, "network fault: "+kind, int64(n))
	}
	sandboxtest.Count(t, "source writes under faults", writes)
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}
