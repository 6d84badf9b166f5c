package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// A table created by a schema change without a character set of its own
// takes its database's default. The copy creates the target's database
// only IF NOT EXISTS, so a database pre-created on the target (by
// Terraform, in utf8mb4, as Aurora migrations often do) keeps its own
// default, and a CREATE TABLE the source ran in its latin1 database makes
// a utf8mb4 table on the target. The schema map is then read from the
// target, and the next row's table map (20 bytes for VARCHAR(20) latin1,
// 80 in the schema map) stops replication (exit 4) with "the source's
// schema changed in a way the replicator did not follow (replication.ddl
// ignore?)": a false stop, under ddl: apply, at a change it did follow,
// with a message that points elsewhere. The DDL should make the table the
// source made (its database's default), or preflight should refuse a
// pre-created database whose default differs from the source's.
func TestReview4DDLTableTakesTargetDatabaseCharset(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.DDL = config.DDLApply
	r.source("CREATE DATABASE app CHARACTER SET latin1", "CREATE TABLE app.items (id INT PRIMARY KEY)", "INSERT INTO app.items VALUES (1)")
	sandboxtest.Exec(t, r.dstDB, "CREATE DATABASE app CHARACTER SET utf8mb4")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("CREATE TABLE app.n (id INT PRIMARY KEY, s VARCHAR(20))",
		// a latin1 é, and what a latin1-declared client sending UTF-8 stores
		"INSERT INTO app.n VALUES (1, CONVERT(_utf8mb4 X'C3A9' USING latin1)), (2, _latin1 X'C3A9')")
	if !r.caughtUpOrStopped(run) {
		t.Fatalf("stopped: %v", run.err)
	}
	r.stopClean(run)
	r.assertSameQuery("SELECT id, HEX(CONVERT(s USING utf8mb4)) FROM app.n ORDER BY id")
}
