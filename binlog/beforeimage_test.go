package binlog_test

import (
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// beforeImageSchema has a table applied as net changes without
// compare_before_image (one key), one applied statement by statement
// (a second unique key), a compound text key, and a row of every kind of
// value a before-image must match exactly: BINARY with trailing zeros,
// FLOAT and DOUBLE, NULL, CHAR, JSON (left out of the match), a big BLOB
// (sent as parameters), ENUM, fractional seconds, DECIMAL.
var beforeImageSchema = []string{"CREATE DATABASE app",
	"CREATE TABLE app.net (id INT PRIMARY KEY, v INT, w VARCHAR(20))",
	"CREATE TABLE app.stmt (id INT PRIMARY KEY, u INT, v INT, UNIQUE KEY (u))",
	"CREATE TABLE app.ck (a VARCHAR(10), b INT, v TEXT, PRIMARY KEY (a, b))",
	"CREATE TABLE app.typed (id BINARY(4) PRIMARY KEY, f FLOAT, d DOUBLE, n INT NULL, s CHAR(5), j JSON, b LONGBLOB, e ENUM('x', 'y'), ts DATETIME(6), m DECIMAL(10,3))",
	"INSERT INTO app.net VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c'), (4, 4, 'd')",
	"INSERT INTO app.stmt VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3)",
	"INSERT INTO app.ck VALUES ('a', 1, 'x'), ('b', 2, 'y')",
	"INSERT INTO app.typed VALUES (X'01000000', 1.1, 2.2, NULL, 'ab', '{\"a\": 1}', REPEAT('z', 200000), 'x', '2026-01-01 00:00:00.123456', 1.5)," +
		"(X'02000000', -0.3, 1e300, 7, 'c ', '[1, 2]', X'00', 'y', '2026-01-01 00:00:00.5', -2.25)",
}

// With replication.compare_before_image, a change whose before-image the
// target's row does not match, in a column the change does not even
// touch, stops replication (exit 4) on every apply path, naming the table,
// the key and the before-image, before anything of its batch commits;
// every kind of value matches its own before-image exactly (no false
// stop); and once the target is repaired, replication goes on. Without
// the setting the same changes are applied by key, as a native replica
// does (TestDivergenceStops covers missing rows there).
func TestBeforeImageCompared(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source(beforeImageSchema...)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)

	// Every kind of value matches itself: updates and deletes of each.
	r.source("UPDATE app.typed SET n = 8, f = f + 1, d = d / 3, j = '{\"b\": 2}', ts = NOW(6) WHERE id = X'01000000'",
		"UPDATE app.typed SET b = REPEAT('y', 300000), s = 'c' WHERE id = X'02000000'",
		"UPDATE app.typed SET n = NULL, e = 'y' WHERE id = X'01000000'",
		"UPDATE app.ck SET v = 'z' WHERE a = 'a'",
		"UPDATE app.net SET v = v + 10",
		"DELETE FROM app.net WHERE id IN (3, 4)",
		"UPDATE app.stmt SET v = 9 WHERE id = 3",
		"DELETE FROM app.typed WHERE id = X'02000000'")
	r.waitCaughtUp(run)
	r.assertSame("app")

	cases := []struct{ name, target, source, names, repair string }{
		{"net-eligible update", "UPDATE app.net SET w = 'changed' WHERE id = 1", "UPDATE app.net SET v = 100 WHERE id = 1", "UPDATE of app.net (`id`=1)", "UPDATE app.net SET w = 'a' WHERE id = 1"},
		{"net-eligible delete", "UPDATE app.net SET w = 'changed' WHERE id = 2", "DELETE FROM app.net WHERE id = 2", "DELETE of app.net (`id`=2)", "UPDATE app.net SET w = 'b' WHERE id = 2"},
		{"statement update", "UPDATE app.stmt SET v = -1 WHERE id = 1", "UPDATE app.stmt SET u = 10 WHERE id = 1", "UPDATE of app.stmt (`id`=1)", "UPDATE app.stmt SET v = 1 WHERE id = 1"},
		{"case of a text key", "UPDATE app.ck SET a = 'B' WHERE a = 'b'", "UPDATE app.ck SET v = 'w' WHERE a = 'b'", "UPDATE of app.ck (`a`=_latin1 X'62', `b`=2)", "UPDATE app.ck SET a = 'b' WHERE a = 'B'"},
		{"a big row", "UPDATE app.typed SET m = 0 WHERE id = X'01000000'", "UPDATE app.typed SET b = REPEAT('w', 200000) WHERE id = X'01000000'", "UPDATE of app.typed (`id`=X'01000000')", "UPDATE app.typed SET m = 1.5 WHERE id = X'01000000'"},
	}
	for _, c := range cases {
		sandboxtest.Exec(t, r.dstDB, c.target)
		r.source(c.source)
		stop := r.waitStopped(run)
		if msg := stop.Error(); !strings.Contains(msg, c.names) || !strings.Contains(msg, "differs from the source's before-image") {
			t.Errorf("%s: want a stop naming %q and the before-image, got %v", c.name, c.names, stop)
		}
		sandboxtest.Exec(t, r.dstDB, c.repair)
		run = r.run(binlog.RunOptions{})
		r.waitCaughtUp(run)
	}
	r.stopClean(run)
	r.assertSame("app")
}

// Under on_divergence: log, a before-image that does not match is recorded
// and the change applied by key: the row then holds the source's values
// in every column the change wrote.
func TestBeforeImageLogged(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.cfg.Replication.OnDivergence = config.DivergenceLog
	r.source(beforeImageSchema...)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	sandboxtest.Exec(t, r.dstDB, "UPDATE app.net SET w = 'changed' WHERE id = 1")
	r.source("UPDATE app.net SET v = 100 WHERE id = 1")
	r.waitCaughtUp(run)
	r.stopClean(run)
	if got := sandboxtest.Text(t, r.dstDB, "SELECT problem FROM _switcharoo.divergence WHERE check_no IS NULL"); len(got) != 1 || !strings.Contains(got[0], "UPDATE") {
		t.Errorf("divergences recorded: %q, want the UPDATE of app.net", got)
	}
	if got := sandboxtest.Text(t, r.dstDB, "SELECT v FROM app.net WHERE id = 1"); len(got) != 1 || got[0] != "100" {
		t.Errorf("app.net id 1 has v %q, want the source's 100", got)
	}
}

// A big row (its values sent as parameters) changed by a source session
// with foreign_key_checks off is checked with the checks turned on around
// its prepared guard statement, not within it (a prepared statement holds
// one statement: it was a syntax error that stopped replication).
func TestBigRowUnderChecksOff(t *testing.T) {
	for _, compare := range []bool{false, true} {
		r := newRig(t)
		r.cfg.Replication.CompareBeforeImage = compare
		r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, u INT, b LONGBLOB, UNIQUE KEY (u))",
			"INSERT INTO app.t VALUES (1, 1, REPEAT('a', 300000)), (2, 2, 'b')")
		run := r.run(binlog.RunOptions{})
		r.waitCaughtUp(run)
		r.source(noChecks+"UPDATE app.t SET b = REPEAT('x', 300000) WHERE id = 1",
			noChecks+"UPDATE app.t SET u = 3 WHERE id = 1",
			noChecks+"DELETE FROM app.t WHERE id = 1")
		r.waitCaughtUp(run)
		r.stopClean(run)
		r.assertSame("app")
	}
}
