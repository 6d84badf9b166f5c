package binlog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// A copy interrupted after a child table was copied, resumed under a new
// snapshot after a parent was deleted with its cascade: the cascade is
// not in the binlog, so the child's rows copied under the first snapshot
// would stay orphaned on the target. The resume copies the linked tables
// again, together (#16.4).
func TestResumedCopyKeepsForeignKeyGroupsTogether(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CopyChunkRows = 500
	r.cfg.Replication.Workers = 1
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.b_parent (id INT PRIMARY KEY, pad CHAR(200) NOT NULL DEFAULT '')",
		"CREATE TABLE app.a_child (id INT PRIMARY KEY, parent_id INT NOT NULL, FOREIGN KEY (parent_id) REFERENCES app.b_parent (id) ON DELETE CASCADE)",
		"INSERT INTO app.b_parent (id) SELECT seq FROM mysql.seq_1_to_60000",
		"INSERT INTO app.a_child SELECT seq, 60000 - seq % 10 FROM mysql.seq_1_to_2000")
	childChunks := func() (total, copied int) {
		_ = r.dstDB.QueryRow("SELECT COUNT(*), COUNT(snapshot_id) FROM _switcharoo.chunk WHERE tbl = 'a_child'").Scan(&total, &copied)
		return total, copied
	}
	run := r.run(binlog.RunOptions{})
	r.waitFor(run, "the child table copied", func() bool { total, copied := childChunks(); return total > 0 && copied == total })
	if err := run.stop(); err != nil {
		t.Fatalf("first run: %v\n%s", err, r.log)
	}
	var pending int
	r.dstDB.QueryRow("SELECT COUNT(*) FROM _switcharoo.chunk WHERE snapshot_id IS NULL").Scan(&pending)
	if pending == 0 {
		t.Fatal("the copy finished before it could be interrupted; make the parent table bigger")
	}
	r.source("DELETE FROM app.b_parent WHERE id = 60000") // cascades to 200 children, which the binlog does not hold
	run = r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}

// A replicated child whose parent is left out, with a cascade, is refused
// at preflight: the parent's deletes would cascade on the source only.
func TestCascadeFromOutsideTheFilterRefused(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.ExcludeTables = []string{"app.parent"}
	r.source("CREATE DATABASE app", "CREATE TABLE app.parent (id INT PRIMARY KEY)",
		"CREATE TABLE app.child (id INT PRIMARY KEY, p INT, FOREIGN KEY (p) REFERENCES app.parent (id) ON DELETE CASCADE)")
	err := runOnce(t, r.cfg, binlog.RunOptions{})
	if exitCodeOf(err) != 2 || !strings.Contains(fmt.Sprint(err), "app.child → app.parent (ON DELETE CASCADE") {
		t.Fatalf("want a refusal (exit 2) naming the key, got %v (exit %d)", err, exitCodeOf(err))
	}
}
