package binlog_test

import (
	"sync"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/faultpoint"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// review4Rig is ddlRig with a table whose columns can be narrowed by the
// source itself: app.m (DECIMAL(10,4), DATETIME(6)) and app.gone.
func review4Rig(t *testing.T, policy string) *rig {
	r := ddlRig(t, policy)
	r.source("CREATE TABLE app.m (id INT PRIMARY KEY, d DECIMAL(10,4), ts DATETIME(6))",
		"INSERT INTO app.m VALUES (1, 1.2345, '2024-01-02 03:04:05.678901')",
		"CREATE TABLE app.gone (id INT PRIMARY KEY)", "INSERT INTO app.gone VALUES (1)")
	return r
}

// The documented way on after a stop at a schema change (ddl: stop, or a
// statement replication cannot read): apply it to the target by hand,
// then `replicate --ddl-applied POS`. When the source itself narrowed a
// column (DECIMAL(10,4) to (10,2), DATETIME(6) to DATETIME), the operator
// does the same on the target, as told — and the new session's precision
// check, which runs before the stream reaches POS, compares the target
// with the schema map from before the change and stops (exit 4) "the
// target would round": there is no way on. A false stop on the very path
// the stop message gives.
func TestReview4DDLAppliedNarrowingIsAFalseStop(t *testing.T) {
	for _, alter := range []string{
		"ALTER TABLE app.m MODIFY d DECIMAL(10,2)",
		"ALTER TABLE app.m MODIFY ts DATETIME",
	} {
		t.Run(alter, func(t *testing.T) {
			r := review4Rig(t, config.DDLStop)
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.source(alter, "INSERT INTO app.m VALUES (2, 9.87, '2024-05-06 07:08:09')")
			stop := r.waitStopped(run)
			sandboxtest.Exec(t, r.dstDB, alter) // by hand, as the stop says
			run = r.run(binlog.RunOptions{DDLApplied: stop.Position})
			r.waitCaughtUp(run)
			r.stopClean(run)
			r.assertSame("app")
		})
	}
}

// The same documented way on after a DROP TABLE (or a RENAME) stopped
// under ddl: stop: the operator drops the table on the target, and the
// next session's precision check loads every table of the schema map from
// the target — the dropped one is not there, catalog.LoadTables fails
// ("has no columns in information_schema (dropped meanwhile?)") and
// replicate ends with exit 3, every time: there is no way on.
func TestReview4DDLAppliedDropTableCannotResume(t *testing.T) {
	for _, ddl := range []string{"DROP TABLE app.gone", "RENAME TABLE app.gone TO app.gone2"} {
		t.Run(ddl, func(t *testing.T) {
			r := review4Rig(t, config.DDLStop)
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.source(ddl, "INSERT INTO app.items (id, v) VALUES (1000, 'after')")
			stop := r.waitStopped(run)
			sandboxtest.Exec(t, r.dstDB, ddl)
			run = r.run(binlog.RunOptions{DDLApplied: stop.Position})
			r.waitCaughtUp(run)
			r.stopClean(run)
			r.assertSame("app")
		})
	}
}

// A replicate that ends between a schema change and its checkpoint (the
// crash issue #16.2 is about; here the in-process equivalent: the context
// is cancelled at after-ddl-before-checkpoint, so nothing after the
// statement reaches the target) must, when started again, see the change
// in place and go on. For a change that narrows a column, or drops or
// renames a table, the new session's precision check (run before the
// pending change is looked at) stops or fails on the target's state the
// change itself made.
func TestReview4CrashAfterDDLBeforeCheckpoint(t *testing.T) {
	for _, ddl := range []string{
		"ALTER TABLE app.m MODIFY d DECIMAL(10,2)",
		"ALTER TABLE app.m MODIFY ts DATETIME(3)",
		"DROP TABLE app.gone",
		"RENAME TABLE app.gone TO app.gone2",
	} {
		t.Run(ddl, func(t *testing.T) {
			r := review4Rig(t, config.DDLApply)
			var mu sync.Mutex
			var first *running
			var once sync.Once
			defer faultpoint.Arm(faultpoint.AfterDDLBeforeCheckpoint, func() {
				once.Do(func() {
					mu.Lock()
					defer mu.Unlock()
					first.cancel() // the process ends here: nothing after the statement runs
				})
			})()
			mu.Lock()
			first = r.run(binlog.RunOptions{})
			mu.Unlock()
			r.waitCaughtUp(first)
			r.source(ddl, "INSERT INTO app.items (id, v) VALUES (1000, 'after')")
			<-first.done
			cp, err := binlog.ReadCheckpoint(t.Context(), r.dstDB, r.cfg.Replication.CheckpointSchema)
			if err != nil || cp.PendingDDL == "" {
				t.Fatalf("the first run should have ended with the schema change pending: %+v %v\n%s", cp, err, r.log)
			}
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.stopClean(run)
			r.assertSame("app")
		})
	}
}
