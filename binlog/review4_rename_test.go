package binlog_test

import (
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// A RENAME chain that swaps two replicated tables through a temporary
// name the filter does not include (replication.tables lists the
// application's tables; the temporary name is nobody's) has a net effect
// inside the filter: a and b trade names, tmp exists neither before nor
// after. planDDL checks each pair on its own, finds a TO tmp "across
// replication's table filter" and stops (exit 4); restarting stops again.
// #16.3 asks for the net effect.
func TestReview4RenameSwapThroughUnreplicatedTempName(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.Tables = []string{"app.a", "app.b"}
	r.source("CREATE DATABASE app", "CREATE TABLE app.a (id INT PRIMARY KEY, v INT)", "CREATE TABLE app.b (id INT PRIMARY KEY, w VARCHAR(10))",
		"INSERT INTO app.a VALUES (1, 1)", "INSERT INTO app.b VALUES (2, 'two')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("RENAME TABLE app.a TO app.swap_tmp, app.b TO app.a, app.swap_tmp TO app.b",
		"INSERT INTO app.a VALUES (3, 'three')", "INSERT INTO app.b VALUES (4, 4)")
	if !r.caughtUpOrStopped(run) {
		t.Fatalf("a swap whose net effect stays inside the filter stopped replication: %v", run.err)
	}
	r.stopClean(run)
	r.assertSame("app")
}

// A chain whose net effect moves a replicated table to a name outside the
// filter, or one from outside in, stops (exit 4) before anything runs,
// whatever names it passes through.
func TestRenameAcrossTheFilterStops(t *testing.T) {
	for _, chain := range []string{
		"RENAME TABLE app.a TO app.gone",
		"RENAME TABLE app.a TO app.swap_tmp, app.outside TO app.a",
		"RENAME TABLE app.b TO app.swap_tmp, app.swap_tmp TO app.gone",
	} {
		t.Run(chain, func(t *testing.T) {
			r := newRig(t)
			r.cfg.Replication.Tables = []string{"app.a", "app.b"}
			r.source("CREATE DATABASE app", "CREATE TABLE app.a (id INT PRIMARY KEY)", "CREATE TABLE app.b (id INT PRIMARY KEY)",
				"CREATE TABLE app.outside (id INT PRIMARY KEY)")
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.source(chain)
			if stop := r.waitStopped(run); !strings.Contains(stop.Error(), "across replication's table filter") {
				t.Fatalf("want a stop naming the filter, got %v", stop)
			}
			if n := targetCount(t, r, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME IN ('a', 'b')"); n != 2 {
				t.Errorf("the target has %d of app.a and app.b after the stop, want both", n)
			}
		})
	}
}
