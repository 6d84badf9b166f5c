package binlog_test

import (
	"strconv"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// Batches apply as net changes (one REPLACE and one DELETE per table)
// only in tables where the order of the rows' end states cannot matter;
// tables with a second unique key or a foreign key keep a statement per
// change (a trigger on the target is refused altogether: see
// TestTriggersOnTheTarget). Both paths end with the source's data, through
// key changes, a row deleted and inserted again, rows that live and die
// within a transaction, unique values swapped between rows, cascades,
// a transaction too large to hold as one net, and a table without a key
// (never netted: its rows would share one empty key).
func TestNetChanges(t *testing.T) {
	r := newRig(t)
	r.source(
		"CREATE DATABASE app",
		"CREATE TABLE app.plain (id INT PRIMARY KEY, v VARCHAR(20), n INT NOT NULL)",
		"CREATE TABLE app.pair (a INT, b INT, v INT, PRIMARY KEY (a, b))",
		"CREATE TABLE app.uniq (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE, v INT)",
		"CREATE TABLE app.parent (id INT PRIMARY KEY, v INT)",
		"CREATE TABLE app.child (id INT PRIMARY KEY, parent_id INT NOT NULL, FOREIGN KEY (parent_id) REFERENCES app.parent (id) ON DELETE CASCADE)",
		"CREATE TABLE app.nokey (v INT)",
		"INSERT INTO app.plain SELECT seq, CONCAT('v', seq), seq FROM mysql.seq_1_to_3000",
		"INSERT INTO app.pair SELECT seq DIV 10, seq MOD 10, seq FROM mysql.seq_0_to_99",
		"INSERT INTO app.uniq VALUES (1, 'c1', 1), (2, 'c2', 2), (3, 'c3', 3)",
		"INSERT INTO app.parent SELECT seq, seq FROM mysql.seq_1_to_5",
		"INSERT INTO app.child SELECT seq, seq MOD 5 + 1 FROM mysql.seq_1_to_20",
	)
	r.cfg.Replication.AllowNoKey = []string{"app.nokey"}
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	replaces := func() int {
		t.Helper()
		var name string
		var n int
		if err := r.dstDB.QueryRow("SHOW GLOBAL STATUS LIKE 'Com_replace'").Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	before := replaces()
	r.source("START TRANSACTION",
		// Swap two unique values: applied in another order, a REPLACE
		// would delete a row.
		"UPDATE app.uniq SET code = 'tmp' WHERE id = 1",
		"UPDATE app.uniq SET code = 'c1' WHERE id = 2",
		"UPDATE app.uniq SET code = 'c2' WHERE id = 1",
		// A parent deleted (its children cascade on each side) and
		// inserted again: a REPLACE of it would cascade too.
		"DELETE FROM app.parent WHERE id = 1",
		"INSERT INTO app.parent VALUES (1, 10)",
		"INSERT INTO app.child VALUES (100, 1)",
		"UPDATE app.parent SET v = v + 1 WHERE id = 2",
		"COMMIT")
	r.waitCaughtUp(run)
	if n := replaces() - before; n != 0 {
		t.Errorf("tables with a second unique key or a foreign key were written with %d REPLACE statements", n)
	}

	before = replaces()
	r.source("START TRANSACTION",
		"UPDATE app.plain SET v = 'a' WHERE id = 1",
		"UPDATE app.plain SET v = 'b', n = n + 1 WHERE id = 1",
		"DELETE FROM app.plain WHERE id = 2",
		"INSERT INTO app.plain VALUES (2, 'again', 0)",
		"UPDATE app.plain SET id = 9003 WHERE id = 3",
		"UPDATE app.plain SET id = 3 WHERE id = 4",
		"INSERT INTO app.plain VALUES (5000, 'brief', 0)",
		"DELETE FROM app.plain WHERE id = 5000",
		"DELETE FROM app.plain WHERE id = 6",
		"UPDATE app.pair SET b = b + 100 WHERE a = 1",
		"DELETE FROM app.pair WHERE a = 2 AND b < 5",
		"UPDATE app.pair SET v = NULL WHERE a = 3",
		// Two keys whose columns' literals run together the same way.
		"INSERT INTO app.pair VALUES (1, 23, 7), (12, 3, 8)",
		// A table without a key has no net: each change stays a statement.
		"INSERT INTO app.nokey VALUES (1), (2), (2)",
		"COMMIT")
	// More changed rows than one net holds, changed again after it was
	// written out.
	r.source("START TRANSACTION",
		"UPDATE app.plain SET n = n + 1",
		"UPDATE app.plain SET n = n * 2 WHERE id <= 100",
		"DELETE FROM app.plain WHERE id BETWEEN 2900 AND 2950",
		"COMMIT")
	for i := range 50 {
		r.source("UPDATE app.plain SET n = n + 1 WHERE id = "+strconv.Itoa(i%7+10), "INSERT INTO app.pair VALUES (50, "+strconv.Itoa(i)+", 1)")
	}
	r.waitCaughtUp(run)
	if replaces() == before {
		t.Error("tables with only a primary key were not written as net changes (no REPLACE)")
	}
	// A transaction's updates of one table are one REPLACE, under a
	// one-column key and under a two-column one.
	for _, update := range []string{
		"UPDATE app.plain SET v = CONCAT(v, '+') WHERE id <= 100",
		"UPDATE app.pair SET v = v + 1 WHERE a BETWEEN 4 AND 9",
	} {
		before = replaces()
		r.source(update)
		r.waitCaughtUp(run)
		if n := replaces() - before; n != 1 {
			t.Errorf("%s: written with %d REPLACE statements, want 1", update, n)
		}
	}
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}
