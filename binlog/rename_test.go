package binlog_test

import (
	"testing"

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
