package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The replicator SIGKILLed at random moments, in its copy and in its
// stream, under writes all along and restarted each time: once it has
// caught up, verify finds the tables identical — no row missing, none
// applied twice. Half the kills land in a copy (begun again from an empty
// target when one ends first). SWITCHAROO_CHAOS_KILLS sets the number of kills (20;
// `go tool task chaos` runs more) and SWITCHAROO_CHAOS_SEED the seed.
func TestReplicateSurvivesSIGKILL(t *testing.T) {
	kills := envInt(t, "SWITCHAROO_CHAOS_KILLS", 20)
	seed := uint64(envInt(t, "SWITCHAROO_CHAOS_SEED", int(time.Now().UnixNano()%1_000_000)))
	t.Logf("%d kills, seed %d (SWITCHAROO_CHAOS_SEED=%d repeats this run's moments)", kills, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	servers := sandboxtest.StartN(t, 2)
	src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
	sandboxtest.Exec(t, src, "CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, k INT NOT NULL, v VARCHAR(64), KEY (k))",
		"INSERT INTO app.t (k, v) SELECT seq MOD 1000, REPEAT('x', seq MOD 60) FROM mysql.seq_1_to_300000",
		"CREATE TABLE app.pair (a INT, b INT, n INT NOT NULL, PRIMARY KEY (a, b))",
		"INSERT INTO app.pair SELECT seq DIV 100, seq MOD 100, 0 FROM mysql.seq_0_to_9999")
	config := replicationConfig(t, servers[0], servers[1], "workers: 1", "copy_chunk_rows: 1000")

	stopSysbench := sysbenchLoad(t, servers[0].Port)
	var stop atomic.Bool
	var writes atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		w := rand.New(rand.NewPCG(seed, 2))
		for !stop.Load() {
			id := w.IntN(320000) + 1
			var err error
			switch w.IntN(5) {
			case 0:
				_, err = src.Exec("INSERT INTO app.t (k, v) VALUES (?, 'new')", id%1000)
			case 1:
				_, err = src.Exec("UPDATE app.t SET k = k + 1, v = CONCAT(v, 'u') WHERE id = ?", id)
			case 2:
				_, err = src.Exec("DELETE FROM app.t WHERE id = ?", id)
			case 3: // a key moves: the row changes copy range
				_, err = src.Exec("UPDATE IGNORE app.t SET id = id + 400000 WHERE id = ?", id)
			case 4:
				_, err = src.Exec(fmt.Sprintf("START TRANSACTION; UPDATE app.pair SET n = n + 1 WHERE a = %d; DELETE FROM app.t WHERE id = %d; COMMIT", id%100, id+1))
			}
			if err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
		}
	})

	phases, copies := map[string]int{}, 1
	for i := range kills {
		start := checkpointOf(dst)
		if i < kills/2 && start.Phase == "streaming" {
			// The copy is over before half the kills: begin it again
			// (replicate is down), so that as many land in a copy.
			sandboxtest.Exec(t, dst, "DROP DATABASE app", "DROP DATABASE _switcharoo")
			start = checkpointOf(dst)
			copies++
		}
		startRows := rowsOf(dst)
		inCopy := i < kills/2
		p := startBinary(t, "--log-format", "json", "-c", config, "replicate")
		// Kill once it has done something in the phase it is in: copied
		// rows (the first half of the kills), or applied changes; then at
		// a random moment up to 300 ms later.
		p.waitFor(t, fmt.Sprintf("progress before kill %d", i+1), time.Minute, func() bool {
			cp := checkpointOf(dst)
			if inCopy && cp.Phase == "streaming" {
				inCopy = false // the copy ended before this kill
			}
			return inCopy && cp.Phase == "copying" && rowsOf(dst) > startRows ||
				!inCopy && cp.Phase == "streaming" && cp.Position.Compare(start.Position) > 0
		})
		phase := checkpointOf(dst).Phase
		if ended, err := p.killAfter(t, time.Duration(rng.IntN(300))*time.Millisecond); ended {
			t.Fatalf("replicate ended before kill %d: %v\n%s", i+1, err, p.stderr.String())
		}
		phases[phase]++
	}
	stop.Store(true)
	wg.Wait()
	stopSysbench()
	t.Logf("%d writes; SIGKILLed %d times: %v, over %d copies", writes.Load(), kills, phases, copies)
	if phases["copying"] == 0 || phases["streaming"] == 0 {
		t.Errorf("kills by phase %v: want some in the copy and some in the stream", phases)
	}

	if r := runBinary(t, "-c", config, "replicate", "--until-caught-up"); r.code != 0 {
		t.Fatalf("the last replicate: exit %d\n%s", r.code, r.stderr)
	}
	r := runBinary(t, "-c", config, "verify", "--fenced", "--output", "json")
	var v struct {
		Identical bool  `json:"identical"`
		Rows      int64 `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != 0 || !v.Identical {
		t.Fatalf("verify after %d kills: exit %d, %+v, %v\n%s%s", kills, r.code, v, err, r.stdout, r.stderr)
	}
	t.Logf("verify: %d rows identical", v.Rows)
	for phase, n := range phases {
		sandboxtest.Count(t, "replicate SIGKILLed while "+phase, int64(n))
	}
	sandboxtest.Count(t, "source writes under faults", writes.Load())
	sandboxtest.Count(t, "rows compared, source against target", v.Rows)
}

// checkpointOf is the target's checkpoint, or the zero one before the
// replicator wrote it.
func checkpointOf(db *sql.DB) binlog.Checkpoint {
	cp, err := binlog.ReadCheckpoint(context.Background(), db, "_switcharoo")
	if err != nil || cp == nil {
		return binlog.Checkpoint{}
	}
	return *cp
}

// rowsOf is the number of rows of app.t on the target, -1 before the copy
// created it.
func rowsOf(db *sql.DB) int {
	n := -1
	if err := db.QueryRow("SELECT COUNT(*) FROM app.t").Scan(&n); err != nil {
		return -1
	}
	return n
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// A replicator killed while the source is idle stays registered on the
// source until the source next writes to its dead connection; the one
// restarted at once must not be refused for using its own server_id.
func TestRestartAtOnceAfterSIGKILLOnIdleSource(t *testing.T) {
	servers := sandboxtest.StartN(t, 2)
	src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
	sandboxtest.Exec(t, src, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)", "INSERT INTO app.t VALUES (1), (2)")
	config := writeFile(t, "switcharoo.yaml", fmt.Sprintf(`
source: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}
target: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}
replication: {server_id: 777, databases: [app], heartbeat: 0s, stall_timeout: 6s}
`, servers[0].Port, servers[1].Port))
	// streamAndKill starts replicate, waits until it applies a row
	// written after its start, and SIGKILLs it.
	round := 0
	streamAndKill := func() {
		t.Helper()
		round++
		p := startBinary(t, "--log-format", "json", "-c", config, "replicate")
		sandboxtest.Exec(t, src, fmt.Sprintf("INSERT INTO app.t VALUES (%d)", 100+round))
		p.waitFor(t, fmt.Sprintf("start %d streaming", round), 30*time.Second, func() bool { return rowsWith(dst, 100+round) > 0 })
		if ended, err := p.killAfter(t, 0); ended {
			t.Fatalf("start %d: replicate ended: %v\n%s", round, err, p.stderr.String())
		}
	}
	// The source often notices a dead replica at once; kill until it has
	// not, then start again at once.
	for range 10 {
		streamAndKill()
		if registered(t, src) > 0 {
			streamAndKill() // refused with exit 2 before replicaUsing waited
			return
		}
	}
	t.Fatal("in 10 kills the source always noticed the dead replica at once: nothing was tested")
}

// rowsWith is the number of rows of app.t on the target with id.
func rowsWith(db *sql.DB, id int) int {
	n := 0
	_ = db.QueryRow("SELECT COUNT(*) FROM app.t WHERE id = ?", id).Scan(&n)
	return n
}

// registered is the number of replicas registered on the source.
func registered(t *testing.T, db *sql.DB) int {
	t.Helper()
	return len(sandboxtest.Text(t, db, "SHOW SLAVE HOSTS"))
}

// sysbenchLoad writes with sysbench oltp_write_only (2 threads, 2 tables
// of 10 000 rows in app) on the source at port until the returned
// function stops it. Without sysbench it does nothing, unless
// SWITCHAROO_CHAOS_SYSBENCH=1 (go tool task chaos) requires it.
func sysbenchLoad(t *testing.T, port int) (stop func()) {
	t.Helper()
	if _, err := exec.LookPath("sysbench"); err != nil {
		if os.Getenv("SWITCHAROO_CHAOS_SYSBENCH") == "1" {
			t.Fatal("sysbench is not installed (scripts/deps.sh bench installs it)")
		}
		t.Log("sysbench is not installed: the load is the test's own writer alone")
		return func() {}
	}
	args := []string{"oltp_write_only", "--db-driver=mysql", "--mysql-host=127.0.0.1", "--mysql-port=" + strconv.Itoa(port),
		"--mysql-user=root", "--mysql-db=app", "--tables=2", "--table-size=10000"}
	if out, err := exec.Command("sysbench", append(args, "prepare")...).CombinedOutput(); err != nil {
		t.Fatalf("sysbench prepare: %v\n%s", err, out)
	}
	cmd := exec.Command("sysbench", append(args, "--threads=2", "--time=0", "--report-interval=0", "run")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Log("sysbench oltp_write_only writes on the source too")
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Errorf("sysbench ended before it was stopped: %v", err)
		}
		_ = cmd.Wait()
	}
	t.Cleanup(stop)
	return stop
}
