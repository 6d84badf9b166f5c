package binlog_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// writer changes the source until stopped: inserts, updates (some moving a
// row to another key range), deletes, multi-statement transactions.
type writer struct {
	stop  atomic.Bool
	wg    sync.WaitGroup
	count atomic.Int64
}

func startWriter(r *rig, workers, keySpace int) *writer {
	w := &writer{}
	for n := range workers {
		w.wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(n), 42))
			for !w.stop.Load() {
				id := rng.IntN(keySpace) + 1
				var q string
				switch rng.IntN(6) {
				case 0:
					q = fmt.Sprintf("INSERT IGNORE INTO app.items (id, v) VALUES (%d, 'new')", keySpace+rng.IntN(keySpace))
				case 1:
					q = fmt.Sprintf("UPDATE app.items SET v = CONCAT(v, '+') WHERE id = %d", id)
				case 2:
					q = fmt.Sprintf("UPDATE IGNORE app.items SET id = %d WHERE id = %d", rng.IntN(2*keySpace)+1, id) // moves ranges
				case 3:
					q = fmt.Sprintf("DELETE FROM app.items WHERE id = %d", id)
				case 4:
					q = fmt.Sprintf("START TRANSACTION; UPDATE app.names SET n = n + 1 WHERE name = 'n%d'; "+
						"INSERT INTO app.names VALUES ('w%d-%d', 0) ON DUPLICATE KEY UPDATE n = n + 1; COMMIT", id%5000, n, id)
				case 5:
					q = fmt.Sprintf("DELETE FROM app.names WHERE name = 'n%d'", id%5000)
				}
				if _, err := r.srcDB.Exec(q); err != nil {
					if !w.stop.Load() {
						r.t.Errorf("%s: %v", q, err)
					}
					return
				}
				w.count.Add(1)
			}
		})
	}
	return w
}

func (w *writer) finish() int64 {
	w.stop.Store(true)
	w.wg.Wait()
	return w.count.Load()
}

// A replicator stopped in the middle of its copy and again in the middle
// of its stream, under writes all along, ends with identical tables: the
// copy resumes under a new snapshot, nothing is missing or applied twice.
func TestRestartMidCopyAndMidStream(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CopyChunkRows = 500
	r.cfg.Replication.Workers = 2
	r.source(
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(200) NOT NULL, pad CHAR(200) NOT NULL DEFAULT '')",
		"INSERT INTO app.items (id, v, pad) SELECT seq, CONCAT('v', seq), REPEAT('p', 200) FROM mysql.seq_1_to_100000",
		"CREATE TABLE app.names (name VARCHAR(40) PRIMARY KEY, n INT NOT NULL)", // copied whole: no integer key
		"INSERT INTO app.names SELECT CONCAT('n', seq), seq FROM mysql.seq_1_to_20000",
	)
	w := startWriter(r, 2, 100000)
	t.Cleanup(func() { w.finish() })

	run := r.run(binlog.RunOptions{})
	copied := func() int {
		var n int
		_ = r.dstDB.QueryRow("SELECT COUNT(*) FROM _switcharoo.chunk WHERE snapshot_id IS NOT NULL").Scan(&n)
		return n
	}
	r.waitFor(run, "some ranges copied", func() bool { return copied() >= 5 })
	if err := run.stop(); err != nil {
		t.Fatalf("first run: %v\n%s", err, r.log)
	}
	var total, done int
	r.dstDB.QueryRow("SELECT COUNT(*), COUNT(snapshot_id) FROM _switcharoo.chunk").Scan(&total, &done)
	if done == total {
		t.Fatalf("the copy finished (%d ranges) before it could be interrupted; make the table bigger", total)
	}
	t.Logf("interrupted the copy after %d of %d ranges", done, total)

	run = r.run(binlog.RunOptions{})
	r.waitFor(run, "streaming", func() bool {
		cp, err := binlog.ReadCheckpoint(t.Context(), r.dstDB, "_switcharoo")
		return err == nil && cp.Phase == "streaming" && cp.Transactions > 50
	})
	if err := run.stop(); err != nil {
		t.Fatalf("second run: %v\n%s", err, r.log)
	}
	var snapshots int
	r.dstDB.QueryRow("SELECT COUNT(*) FROM _switcharoo.snapshot").Scan(&snapshots)
	if snapshots != 2 {
		t.Errorf("%d snapshots recorded, want 2 (the copy should resume, not start over)", snapshots)
	}

	run = r.run(binlog.RunOptions{})
	time.Sleep(300 * time.Millisecond)
	t.Logf("%d writes", w.finish())
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("third run: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}

// waitFor polls cond until it holds, failing after a minute or as soon as
// the replicator ends.
func (r *rig) waitFor(run *running, what string, cond func() bool) {
	r.t.Helper()
	r.waitWithin(run, what, time.Minute, cond)
}

// waitWithin is waitFor with a deadline of its own.
func (r *rig) waitWithin(run *running, what string, limit time.Duration, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case <-run.done:
			r.t.Fatalf("replicator ended while waiting for %s: %v\n%s", what, run.err, r.log)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s\n%s", what, r.log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
