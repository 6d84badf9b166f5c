package binlog_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// A schema change replication cannot read stops it, under ddl: apply and
// ddl: stop, when it may concern a replicated table: here an EXCHANGE
// PARTITION that empties the replicated app.items into the excluded
// app.parted, which the binlog shows as one statement and no rows. The
// stop names the statement, its position and --ddl-applied; once the
// target is made to match by hand, replication goes on from it. A
// statement with MariaDB's syntax that the parser reads (RENAME TABLE IF
// EXISTS ... NOWAIT TO) is applied, not skipped (#16.6).
func TestDDLReplicationCannotReadStops(t *testing.T) {
	for _, policy := range []string{config.DDLApply, config.DDLStop} {
		t.Run(policy, func(t *testing.T) {
			r := ddlRig(t, policy)
			r.cfg.Replication.ExcludeTables = []string{"app.parted"}
			r.source("CREATE TABLE app.parted (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, pad CHAR(10) NOT NULL DEFAULT 'p') " +
				"PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (1000), PARTITION p1 VALUES LESS THAN MAXVALUE)")
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)

			r.source("ALTER TABLE app.parted EXCHANGE PARTITION p0 WITH TABLE app.items",
				"INSERT INTO app.items (id, v) VALUES (5000, 'after')")
			stop := r.waitStopped(run)
			if !strings.Contains(stop.Error(), "EXCHANGE PARTITION p0") || !strings.Contains(stop.Error(), "--ddl-applied "+stop.Position.String()) {
				t.Fatalf("want a stop naming the statement, its position and --ddl-applied, got %v", stop)
			}
			if got := sandboxtest.Text(t, r.dstDB, "SELECT COUNT(*) FROM app.items"); got[0] != "100" {
				t.Errorf("the target's app.items has %s rows, want the 100 from before the stop", got[0])
			}

			// By hand: the rows went to a table the target does not have.
			sandboxtest.Exec(t, r.dstDB, "DELETE FROM app.items")
			run = r.run(binlog.RunOptions{DDLApplied: stop.Position})
			r.waitCaughtUp(run)
			r.assertSameTable("app", "app", "items")

			r.source("RENAME TABLE IF EXISTS app.items NOWAIT TO app.renamed", "INSERT INTO app.renamed (id, v) VALUES (5001, 'renamed')")
			if policy == config.DDLStop {
				stop := r.waitStopped(run)
				if !strings.Contains(stop.Error(), "RENAME TABLE IF EXISTS") {
					t.Fatalf("want a stop at the RENAME, got %v", stop)
				}
				return
			}
			r.waitCaughtUp(run)
			r.stopClean(run)
			r.assertSameTable("app", "app", "renamed")
		})
	}
}

// waitStopped waits for replication to stop for a person (exit code 4)
// and returns the stop; it fails the test when replication instead
// applies everything the source has written.
func (r *rig) waitStopped(run *running) *binlog.StopError {
	r.t.Helper()
	past := r.sourcePosition()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-run.done:
			var stop *binlog.StopError
			if !errors.As(run.err, &stop) || exitCodeOf(run.err) != 4 {
				r.t.Fatalf("want a stop (exit code 4), got %v\n%s", run.err, r.log)
			}
			return stop
		default:
		}
		cp, err := binlog.ReadCheckpoint(context.Background(), r.dstDB, r.cfg.Replication.CheckpointSchema)
		if err == nil && cp.Position.Compare(past) >= 0 {
			r.t.Fatalf("replication applied everything up to %s without stopping\n%s", past, r.log)
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("replication neither stopped nor caught up with %s in 60s\n%s", past, r.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An unread statement is taken to concern a replicated table through a
// word of its own (no db. before it) only where that word names a table
// replication knows: with the replicated app as the session's default
// database, an EXCHANGE PARTITION between two excluded tables goes by
// (before, every keyword of it counted as a table app.ALTER, app.TABLE...
// and stopped replication), and so does its spelling with the database
// (app.parted: the db of a db.t is no database named, review4), while the
// same statement naming the replicated items without its database still
// stops.
func TestUnreadDDLNamingOnlyExcludedTablesPasses(t *testing.T) {
	r := ddlRig(t, config.DDLApply)
	r.cfg.Replication.ExcludeTables = []string{"app.parted", "app.swap"}
	r.source("CREATE TABLE app.parted (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, pad CHAR(10) NOT NULL DEFAULT 'p') "+
		"PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (1000), PARTITION p1 VALUES LESS THAN MAXVALUE)",
		"CREATE TABLE app.swap (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, pad CHAR(10) NOT NULL DEFAULT 'p')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)

	r.source("USE app; ALTER TABLE parted EXCHANGE PARTITION p0 WITH TABLE swap",
		"ALTER TABLE app.parted EXCHANGE PARTITION p0 WITH TABLE app.swap",
		"INSERT INTO app.items (id, v) VALUES (500, 'after')")
	r.waitCaughtUp(run)
	r.assertSameTable("app", "app", "items")

	r.source("USE app; ALTER TABLE parted EXCHANGE PARTITION p0 WITH TABLE items")
	if stop := r.waitStopped(run); !strings.Contains(stop.Error(), "WITH TABLE items") {
		t.Fatalf("want a stop naming the statement, got %v", stop)
	}
}

// MariaDB's SET STATEMENT ... FOR around a schema change: with timeouts
// only, the change is applied without them (TestReview4SetStatement...);
// with any other setting, which could change what the statement does, it
// is a schema change replication cannot read, and stops.
func TestSetStatementWithOtherSettingsStops(t *testing.T) {
	r := ddlRig(t, config.DDLApply)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("SET STATEMENT sql_mode='', lock_wait_timeout=5 FOR TRUNCATE TABLE app.items")
	if stop := r.waitStopped(run); !strings.Contains(stop.Error(), "cannot read: SET STATEMENT sql_mode") {
		t.Fatalf("want a stop naming the statement, got %v", stop)
	}
}
