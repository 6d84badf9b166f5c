package binlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// A RENAME chain that swaps two tables through a third name is applied
// as the source applied it: the tables trade names, the rows follow
// (#16.3).
func TestRenameChainSwapsTables(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app", "CREATE TABLE app.a (id INT PRIMARY KEY, v INT)", "CREATE TABLE app.b (id INT PRIMARY KEY, w VARCHAR(10))",
		"INSERT INTO app.a VALUES (1, 1)", "INSERT INTO app.b VALUES (2, 'two')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("RENAME TABLE app.a TO app.tmp, app.b TO app.a, app.tmp TO app.b",
		"INSERT INTO app.a VALUES (3, 'three')", "INSERT INTO app.b VALUES (4, 4)")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}

// replicate --until-caught-up returns when the last event before the
// position it aims at is a schema change, with no heartbeat to follow it
// (#16.8).
func TestUntilCaughtUpAfterADDL(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.Heartbeat = 0
	r.source("CREATE DATABASE app", "CREATE TABLE app.a (id INT PRIMARY KEY)")
	if err := runOnce(t, r.cfg, binlog.RunOptions{UntilCaughtUp: true}); err != nil {
		t.Fatal(err)
	}
	r.source("ALTER TABLE app.a ADD COLUMN v INT")
	run := r.run(binlog.RunOptions{UntilCaughtUp: true})
	select {
	case <-run.done:
	case <-time.After(time.Minute):
		t.Fatalf("replicate --until-caught-up did not return after a DDL\n%s", r.log)
	}
	if run.err != nil || !strings.Contains(r.log.String(), `"message":"caught up"`) {
		t.Fatalf("want a return on catching up, got %v\n%s", run.err, r.log)
	}
	r.assertSame("app")
}

// A replicator started while the source is fenced (read_only, perhaps
// under a global read lock: a restart during the night) streams without
// writing on the source: its heartbeat setup would wait behind the lock,
// and a CREATE DATABASE IF NOT EXISTS moves the binlog even when the
// database exists.
func TestStartOnAFencedSource(t *testing.T) {
	for _, globalLock := range []bool{false, true} {
		t.Run(fmt.Sprintf("global read lock %v", globalLock), func(t *testing.T) {
			r := newRig(t)
			r.source("CREATE DATABASE app", "CREATE TABLE app.a (id INT PRIMARY KEY)", "INSERT INTO app.a VALUES (1)")
			if err := runOnce(t, r.cfg, binlog.RunOptions{UntilCaughtUp: true}); err != nil {
				t.Fatal(err)
			}
			r.source("INSERT INTO app.a VALUES (2)", "SET GLOBAL read_only = 1")
			t.Cleanup(func() { _, _ = r.srcDB.Exec("SET GLOBAL read_only = 0") })
			if globalLock {
				lock, err := r.srcDB.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer lock.Close()
				if _, err := lock.ExecContext(context.Background(), "FLUSH TABLES WITH READ LOCK"); err != nil {
					t.Fatal(err)
				}
			}
			fenced := r.sourcePosition()
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.stopClean(run)
			if now := r.sourcePosition(); now != fenced {
				t.Errorf("the fenced source's position moved from %s to %s", fenced, now)
			}
			r.assertSame("app")
		})
	}
}
