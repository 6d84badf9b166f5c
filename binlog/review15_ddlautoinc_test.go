package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// A schema change that numbers existing rows — ADD COLUMN ...
// AUTO_INCREMENT — numbers them by the source session's
// auto_increment_increment and auto_increment_offset (a master-master
// pair runs with 2 and 1 or 2), which the query event carries
// (Q_AUTO_INCREMENT) and a native replica applies. Applied under the
// target's own settings, the rows get other numbers.
func TestReview15SchemaChangeAutoIncrementSettings(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO app.t SELECT seq, seq FROM mysql.seq_1_to_10")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("SET SESSION auto_increment_increment = 2, auto_increment_offset = 2; " +
		"ALTER TABLE app.t ADD COLUMN seq INT NOT NULL AUTO_INCREMENT, ADD UNIQUE KEY (seq)")
	r.waitCaughtUp(run)
	r.stopClean(run)
	got := r.assertSameQuery("SELECT id, seq FROM app.t ORDER BY id")
	t.Logf("target: %v", got)
	t.Logf("source: %v", sandboxtest.Text(t, r.srcDB, "SELECT id, seq FROM app.t ORDER BY id"))
}
