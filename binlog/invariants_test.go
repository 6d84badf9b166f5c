package binlog_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/faultpoint"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The exactly-once invariant, looked at from the batch's commit (#23.2):
// just before a batch's commit packet and just after it, the target's
// committed state — its rows and its checkpoint, read in one snapshot —
// is the source's state at the end of one source transaction: the rows
// and the position they correspond to move together, and a source
// transaction larger than many batches is never committed in part. A
// checkpoint written in a transaction of its own, ahead of the data, or a
// commit in the middle of a source transaction, fails here.
func TestBatchCommitsWithItsCheckpoint(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.Heartbeat = 0 // only the test's transactions make batches
	r.cfg.Replication.ApplyBatchRows = 50
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v INT)", "INSERT INTO app.t VALUES (1, 1)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)

	snapshot := sandboxtest.Open(t, r.cfg.Target)
	type view struct {
		rows int
		at   binlog.Position
	}
	look := func() (view, error) {
		var v view
		tx, err := snapshot.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return v, err
		}
		defer tx.Rollback()
		if err := tx.QueryRow("SELECT COUNT(*) FROM app.t").Scan(&v.rows); err != nil {
			return v, err
		}
		err = tx.QueryRow("SELECT binlog_file, binlog_pos FROM _switcharoo.checkpoint WHERE id = 1").Scan(&v.at.File, &v.at.Pos)
		return v, err
	}
	var mu sync.Mutex
	var seen []view
	var failed error
	observe := func() {
		v, err := look()
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, v)
		if err != nil {
			failed = err
		}
	}
	defer faultpoint.Arm(faultpoint.BeforeBatchCommit, observe)()
	defer faultpoint.Arm(faultpoint.AfterBatchCommit, observe)()

	// The source's state at the end of each transaction: one of 1,000
	// rows in ten statements (twenty batches' worth), then five of one.
	states := map[binlog.Position]int{r.sourcePosition(): 1}
	stmts := []string{"START TRANSACTION"}
	for i := range 10 {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO app.t SELECT 1000 + %d * 100 + seq, seq FROM mysql.seq_1_to_100", i))
	}
	r.source(append(stmts, "COMMIT")...)
	states[r.sourcePosition()] = 1001
	for i := range 5 {
		r.source(fmt.Sprintf("INSERT INTO app.t VALUES (%d, 0)", 5000+i))
		states[r.sourcePosition()] = 1002 + i
	}
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")

	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		t.Fatalf("reading the target at a batch's commit: %v", failed)
	}
	if len(seen) < 2 {
		t.Fatalf("the commit points were hit %d times", len(seen))
	}
	for _, v := range seen {
		want, ok := states[v.at]
		switch {
		case !ok:
			t.Errorf("the target's checkpoint %s (with %d rows) is not the end of a source transaction", v.at, v.rows)
		case v.rows != want:
			t.Errorf("the target's checkpoint %s says %d rows, the target holds %d: data and checkpoint did not commit together", v.at, want, v.rows)
		}
	}
}

// R5, the copy window (docs/model.md): a copy interrupted after its first
// range resumes under a second snapshot, and the stream starts at the
// first. The changes made between the two snapshots are applied to the
// range copied under the first and skipped in the ranges copied under the
// second, which already hold them: a delete and an insert there (applied
// again, a missing row and a taken key: a stop), an update, and rows
// moved from one side of the window to the other. The writes happen
// exactly between the snapshots: the copier is held at after-chunk-copy.
func TestCopyWindowAcrossSnapshots(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CopyChunkRows = 1000
	r.cfg.Replication.Workers = 1
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)",
		"INSERT INTO app.items SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_3000")
	copied, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	disarm := faultpoint.Arm(faultpoint.AfterChunkCopy, func() {
		first.Do(func() {
			close(copied)
			<-release
		})
	})
	defer disarm()
	run := r.run(binlog.RunOptions{})
	select {
	case <-copied:
	case <-run.done:
		t.Fatalf("replicate ended before its first range was copied: %v\n%s", run.err, r.log)
	case <-time.After(time.Minute):
		t.Fatalf("no range copied in a minute\n%s", r.log)
	}
	r.source("UPDATE app.items SET v = 'first' WHERE id = 5", // copied under the first snapshot
		"DELETE FROM app.items WHERE id = 1500", // not yet copied
		"INSERT INTO app.items VALUES (3500, 'new')",
		"UPDATE app.items SET v = 'second' WHERE id = 2002",
		"UPDATE app.items SET id = 3600 WHERE id = 10", // out of the first snapshot's range
		"DELETE FROM app.items WHERE id = 20",
		"UPDATE app.items SET id = 20 WHERE id = 1600") // into it
	run.cancel()
	close(release)
	<-run.done
	disarm()

	var snapshots, done int
	r.dstDB.QueryRow("SELECT COUNT(*) FROM _switcharoo.chunk WHERE snapshot_id IS NOT NULL").Scan(&done)
	if done != 1 {
		t.Fatalf("%d ranges copied by the first run, want 1", done)
	}
	run = r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.dstDB.QueryRow("SELECT COUNT(*) FROM _switcharoo.snapshot").Scan(&snapshots)
	if snapshots != 2 {
		t.Errorf("%d snapshots, want 2: the copy should have resumed", snapshots)
	}
	r.assertSame("app")
}
