package binlog_test

import (
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// With compare_before_image on, the copy window (ranges copied under
// different snapshots, the stream replaying changes some of them already
// hold) must not turn into before-image stops: a change the window applies
// finds its row as the source had it.
func TestReview15BeforeImageThroughTheCopyWindow(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.cfg.Replication.CopyChunkRows = 500
	r.cfg.Replication.Workers = 2
	r.source(
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(200) NOT NULL, pad CHAR(200) NOT NULL DEFAULT '')",
		"INSERT INTO app.items (id, v, pad) SELECT seq, CONCAT('v', seq), REPEAT('p', 200) FROM mysql.seq_1_to_60000",
		"CREATE TABLE app.names (name VARCHAR(40) PRIMARY KEY, n INT NOT NULL)",
		"INSERT INTO app.names SELECT CONCAT('n', seq), seq FROM mysql.seq_1_to_20000",
	)
	w := startWriter(r, 2, 60000)
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
		t.Fatalf("the copy finished (%d ranges) before it could be interrupted", total)
	}
	run = r.run(binlog.RunOptions{})
	time.Sleep(2 * time.Second)
	t.Logf("%d writes", w.finish())
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("second run: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}
