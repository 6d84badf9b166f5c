package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Under ddl: ignore, a column changed on the source stops replication at
// the next row (#16.7), saying "make the target's table match and
// restart". Doing so does not help: the schema map still holds the
// column as it was, nothing reads it again from the target (the ignored
// statement is behind the checkpoint, so --ddl-applied at its position is
// refused), and the table map check stops at the same row on every
// restart. The only way on is a new copy.
func TestReview4IgnoredChangeMadeByHandHasNoWayOn(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.DDL = config.DDLIgnore
	r.source("CREATE DATABASE app", "CREATE TABLE app.m (id INT PRIMARY KEY, d DECIMAL(5,2))", "INSERT INTO app.m VALUES (1, 1.5)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("ALTER TABLE app.m MODIFY d DECIMAL(12,4)", "UPDATE app.m SET d = 12345678.1234 WHERE id = 1")
	stop := r.waitStopped(run)
	t.Logf("stop: %v", stop)
	sandboxtest.Exec(t, r.dstDB, "ALTER TABLE app.m MODIFY d DECIMAL(12,4)") // "make the target's table match"
	run = r.run(binlog.RunOptions{})
	if !r.caughtUpOrStopped(run) {
		t.Fatalf("no way on after making the target's table match: %v", run.err)
	}
	r.stopClean(run)
	r.assertSame("app")
}
