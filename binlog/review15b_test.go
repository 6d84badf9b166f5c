package binlog_test

import (
	"fmt"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// review15bStatementWide is review15Wide with a second unique key, so that
// its changes take the statement path: single-row UPDATEs that find their
// row by its whole before-image in their WHERE.
func review15bStatementWide() string {
	return strings.Replace(review15Wide, "id INT NOT NULL PRIMARY KEY,", "id INT NOT NULL PRIMARY KEY, u INT NULL UNIQUE,", 1)
}

// With compare_before_image, an UPDATE of a table on the statement path
// has its row's whole before-image in its WHERE, evaluated in the
// applier's strict session (and with strict mode off, its warnings
// counted, when it writes an ENUM error value): no value of any kind may
// make that statement fail or warn where a count of the same rows would
// not.
func TestReview15bStatementPathEveryType(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source("CREATE DATABASE app", review15bStatementWide())
	review15Insert(r, 1)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	review15Insert(r, 101)
	r.waitCaughtUp(run)
	ids := []int{1, 2, 3, 4, 5, 101, 102, 103, 104, 105}
	for _, id := range ids {
		r.source(fmt.Sprintf("UPDATE app.wide SET n = n + 1 WHERE id = %d", id))
	}
	r.waitCaughtUp(run)
	r.assertSame("app")
	for _, id := range ids { // writes an ENUM error value: strict mode off, warnings counted
		r.source(review15Mode + fmt.Sprintf("UPDATE app.wide SET e = 'bogus', n = n + 1 WHERE id = %d", id))
	}
	r.waitCaughtUp(run)
	r.assertSame("app")
	r.source("DELETE FROM app.wide WHERE id = 1", "DELETE FROM app.wide WHERE id < 100", "DELETE FROM app.wide")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
	if strings.Contains(r.log.String(), "before-image") {
		t.Errorf("log mentions a before-image mismatch:\n%s", r.log)
	}
}

// review15bScenario is a source transaction that changes key 1 (and maybe
// 2) several times in one batch, the first change finding the row as the
// copy left it; the target's row 1 (or 2) is changed beforehand in a
// column no change touches.
type review15bScenario struct {
	name    string
	diverge string // on the target, before the transaction
	trx     []string
	repair  string // on the target, after the stop
}

func review15bScenarios(table string) []review15bScenario {
	s := func(q string) string { return strings.ReplaceAll(q, "app.T", "app."+table) }
	return []review15bScenario{
		{"updated twice", s("UPDATE app.T SET w = 'x' WHERE id = 1"),
			[]string{s("UPDATE app.T SET v = v + 1 WHERE id = 1"), s("UPDATE app.T SET v = v + 1 WHERE id = 1")}, s("UPDATE app.T SET w = 'a' WHERE id = 1")},
		{"updated then deleted", s("UPDATE app.T SET w = 'x' WHERE id = 1"),
			[]string{s("UPDATE app.T SET v = v + 1 WHERE id = 1"), s("DELETE FROM app.T WHERE id = 1")}, s("UPDATE app.T SET w = 'a' WHERE id = 1")},
		{"deleted then inserted", s("UPDATE app.T SET w = 'x' WHERE id = 1"),
			[]string{s("DELETE FROM app.T WHERE id = 1"), s("INSERT INTO app.T (id, v, w) VALUES (1, 50, 'a')")}, s("UPDATE app.T SET w = 'a' WHERE id = 1")},
		{"moved then updated", s("UPDATE app.T SET w = 'x' WHERE id = 1"),
			[]string{s("UPDATE app.T SET id = 100 WHERE id = 1"), s("UPDATE app.T SET v = 7 WHERE id = 100"), s("UPDATE app.T SET id = 1 WHERE id = 100")}, s("UPDATE app.T SET w = 'a' WHERE id = 1")},
		{"moved onto a deleted key", s("UPDATE app.T SET w = 'x' WHERE id = 2"),
			[]string{s("DELETE FROM app.T WHERE id = 2"), s("UPDATE app.T SET id = 2 WHERE id = 1"), s("UPDATE app.T SET v = v + 1 WHERE id = 2")}, s("UPDATE app.T SET w = 'b' WHERE id = 2")},
		{"updated, deleted, inserted, updated", s("UPDATE app.T SET w = 'x' WHERE id = 1"),
			[]string{s("UPDATE app.T SET v = 3 WHERE id = 1"), s("DELETE FROM app.T WHERE id = 1"), s("INSERT INTO app.T (id, v, w) VALUES (1, 4, 'a')"), s("UPDATE app.T SET v = 5 WHERE id = 1")}, s("UPDATE app.T SET w = 'a' WHERE id = 1")},
	}
}

// review15bTables are a net-eligible table and one on the statement path
// (a second unique key).
var review15bTables = []string{"CREATE DATABASE app",
	"CREATE TABLE app.net (id INT PRIMARY KEY, v INT, w VARCHAR(20))",
	"CREATE TABLE app.stmt (id INT PRIMARY KEY, v INT, w VARCHAR(20), u INT NULL, UNIQUE KEY (u))",
	"INSERT INTO app.net (id, v, w) VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c')",
	"INSERT INTO app.stmt (id, v, w) VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c')",
}

func review15bTrx(trx []string) string {
	return "START TRANSACTION; " + strings.Join(trx, "; ") + "; COMMIT"
}

// A key changed several times in one batch is compared with the first
// before-image the batch has of it: whatever follows (more updates, a
// delete, a delete and an insert, a move away and back, a move onto a
// deleted key), a target row that differs from it stops replication
// before anything of the batch commits; and the same transactions on a
// target that is right replicate.
func TestReview15bKeyChangedSeveralTimesInOneBatch(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source(review15bTables...)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	for _, table := range []string{"net", "stmt"} {
		for _, c := range review15bScenarios(table) {
			sandboxtest.Exec(t, r.dstDB, c.diverge)
			before := sandboxtest.Dump(t, r.dstDB, "SELECT * FROM app."+table+" ORDER BY id")
			r.source(review15bTrx(c.trx))
			stop := r.waitStopped(run)
			if msg := stop.Error(); !strings.Contains(msg, "differs from the source's before-image") {
				t.Errorf("%s, %s: want a stop at the before-image, got %v", table, c.name, stop)
			}
			if after := sandboxtest.Dump(t, r.dstDB, "SELECT * FROM app."+table+" ORDER BY id"); !slices.Equal(before, after) {
				t.Errorf("%s, %s: the stopped batch changed the target:\nbefore %v\nafter  %v", table, c.name, before, after)
			}
			sandboxtest.Exec(t, r.dstDB, c.repair)
			run = r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.assertSame("app")
			// Back to the first state, for the next scenario.
			r.source("DELETE FROM app."+table, "INSERT INTO app."+table+" (id, v, w) VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c')")
			r.waitCaughtUp(run)
		}
	}
	r.stopClean(run)
	r.assertSame("app")
}

// The same transactions under on_divergence: log: each records a
// divergence, and the net path leaves the target as the source (the
// statement path writes only the columns each change wrote).
func TestReview15bKeyChangedSeveralTimesLogged(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.cfg.Replication.OnDivergence = config.DivergenceLog
	r.source(review15bTables...)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	for _, table := range []string{"net", "stmt"} {
		for _, c := range review15bScenarios(table) {
			n0 := targetCount(t, r, "SELECT COUNT(*) FROM _switcharoo.divergence WHERE check_no IS NULL")
			sandboxtest.Exec(t, r.dstDB, c.diverge)
			r.source(review15bTrx(c.trx))
			r.waitCaughtUp(run)
			if n := targetCount(t, r, "SELECT COUNT(*) FROM _switcharoo.divergence WHERE check_no IS NULL"); n == n0 {
				t.Errorf("%s, %s: no divergence recorded", table, c.name)
			}
			if table == "net" {
				r.assertSameTable("app", "app", "net")
			}
			r.source("DELETE FROM app."+table, "INSERT INTO app."+table+" (id, v, w) VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 3, 'c')")
			r.waitCaughtUp(run)
		}
	}
	r.stopClean(run)
	r.assertSame("app")
}

// More keys than a net holds (netRows) in one batch: the net is written
// mid-batch, and a key changed on both sides of that write is compared,
// after it, with the image the first half left — which is what the
// target holds. Keys of a case- and pad-insensitive text key change case
// and trailing spaces (a move to another net key that is the same row on
// the target), with NULLs, FLOAT, DOUBLE, DECIMAL, fractional seconds,
// BINARY with trailing zeros and a big row among the values. No stop;
// the target ends as the source.
func TestReview15bManyKeysOneBatchNoFalseStop(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.n (id INT PRIMARY KEY, v INT NULL, f FLOAT NULL, d DOUBLE NULL, m DECIMAL(12,4) NULL, ts DATETIME(6) NULL, b BINARY(4) NULL, e ENUM('x','y') NULL, s SET('p','q') NULL, bit BIT(7) NULL, big LONGBLOB NULL)",
		"CREATE TABLE app.ci (k VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT NULL, c CHAR(5) NULL)",
		"INSERT INTO app.n (id, v, f, d, m, ts, b, e, s, bit) SELECT seq, IF(seq % 3 = 0, NULL, seq), seq / 7, seq / 3, seq / 9, '2026-01-01 00:00:00.123456' + INTERVAL seq SECOND, IF(seq % 2 = 0, X'01', X'0100'), 'x', 'p,q', seq % 128 FROM mysql.seq_1_to_3000",
		"UPDATE app.n SET big = REPEAT('z', 200000) WHERE id = 7",
		"INSERT INTO app.ci VALUES ('a', 1, 'x '), ('b', 2, NULL), ('c', 3, 'y')",
	)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(review15bTrx([]string{
		"UPDATE app.ci SET v = v + 1 WHERE k = 'a'",
		"UPDATE app.ci SET k = 'A ' WHERE k = 'a'",
		"UPDATE app.n SET v = IFNULL(v, 0) + 1, f = f * 2, d = d + 1, m = m + 0.0001, ts = ts + INTERVAL 1 MICROSECOND", // every key: the net is written
		"UPDATE app.ci SET v = v + 1, c = NULL WHERE k = 'A '",
		"UPDATE app.ci SET k = 'a' WHERE k = 'A '",
		"DELETE FROM app.ci WHERE k = 'b'",
		"INSERT INTO app.ci VALUES ('B ', 9, 'n')",
		"UPDATE app.n SET v = NULL, b = X'00000000', e = 'y', s = '', bit = 0 WHERE id % 5 = 0",
		"UPDATE app.n SET big = REPEAT('y', 200000), v = 1 WHERE id = 7",
		"UPDATE app.n SET v = 2 WHERE id = 7",
		"UPDATE app.n SET id = id + 10000 WHERE id % 7 = 0",
		"UPDATE app.n SET v = 3 WHERE id > 10000",
		"DELETE FROM app.n WHERE id % 11 = 0",
		"INSERT INTO app.n (id, v) SELECT seq * 11, 0 FROM mysql.seq_1_to_100",
		"UPDATE app.ci SET c = 'cc', k = 'C' WHERE k = 'c'",
	}))
	r.waitCaughtUp(run)
	r.assertSame("app")
	// Again with the batch's keys touched in another order.
	r.source(review15bTrx([]string{
		"UPDATE app.n SET v = IFNULL(v, 0) + 1 ORDER BY id DESC",
		"DELETE FROM app.ci",
		"INSERT INTO app.ci VALUES ('a', 1, NULL), ('A-', 2, '')",
		"UPDATE app.n SET f = NULL WHERE id % 2 = 0",
		"UPDATE app.n SET f = 0.1 WHERE id % 2 = 0",
	}))
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
	if strings.Contains(r.log.String(), "before-image") {
		t.Errorf("log mentions a before-image mismatch:\n%s", r.log)
	}
}

// A before-image too big for literals (its count then sends the values as
// parameters) in the net's REPLACE and DELETE — a big row shrunk, a small
// row grown, a big row updated twice, deleted — matches itself; and a
// target whose big column differs in its last byte only stops
// replication.
func TestReview15bBigBeforeImagesInTheNet(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, v INT, tx LONGTEXT CHARACTER SET utf8mb4, lt MEDIUMTEXT CHARACTER SET latin1, b LONGBLOB)",
		"INSERT INTO app.t SELECT seq, seq, CONCAT(REPEAT('é', 70000), seq), REPEAT('ÿ', 10), REPEAT(X'00', 10) FROM mysql.seq_1_to_6",
		"UPDATE app.t SET b = CONCAT(REPEAT(X'01', 200000), X'00') WHERE id = 6",
	)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(review15bTrx([]string{
		"UPDATE app.t SET tx = 'small' WHERE id = 1", // big image, small row
		"UPDATE app.t SET v = 0",                     // a big image in a REPLACE with small ones
		"UPDATE app.t SET lt = REPEAT('ü', 300000) WHERE id = 2",
		"UPDATE app.t SET v = v + 1 WHERE id = 3", "UPDATE app.t SET v = v + 1 WHERE id = 3",
		"DELETE FROM app.t WHERE id = 4",
		"UPDATE app.t SET v = 5 WHERE id = 5", "DELETE FROM app.t WHERE id = 5",
	}))
	r.waitCaughtUp(run)
	r.assertSame("app")
	for _, c := range []struct{ name, diverge, trx, repair string }{
		{"update", "UPDATE app.t SET b = CONCAT(REPEAT(X'01', 200000), X'02') WHERE id = 6", "UPDATE app.t SET v = v + 1 WHERE id = 6", "UPDATE app.t SET b = CONCAT(REPEAT(X'01', 200000), X'00') WHERE id = 6"},
		{"update then delete", "UPDATE app.t SET b = CONCAT(REPEAT(X'01', 200000), X'02') WHERE id = 6", "UPDATE app.t SET v = v + 1 WHERE id = 6; DELETE FROM app.t WHERE id = 6", "UPDATE app.t SET b = CONCAT(REPEAT(X'01', 200000), X'00') WHERE id = 6"},
		{"text", "UPDATE app.t SET lt = CONCAT(REPEAT('ü', 299999), 'u') WHERE id = 2", "UPDATE app.t SET v = v + 1 WHERE id = 2; UPDATE app.t SET v = v + 1 WHERE id = 3", "UPDATE app.t SET lt = REPEAT('ü', 300000) WHERE id = 2"},
	} {
		sandboxtest.Exec(t, r.dstDB, c.diverge)
		r.source("START TRANSACTION; " + c.trx + "; COMMIT")
		stop := r.waitStopped(run)
		if !strings.Contains(stop.Error(), "differs from the source's before-image") {
			t.Errorf("%s: want a stop at the before-image, got %v", c.name, stop)
		}
		sandboxtest.Exec(t, r.dstDB, c.repair)
		run = r.run(binlog.RunOptions{})
		r.waitCaughtUp(run)
	}
	r.stopClean(run)
	r.assertSame("app")
}

// A row the source changed outside the binlog (sql_log_bin=0: "a row
// changed outside replication") between two binlogged changes of one
// batch: the second change's before-image is not what the first left,
// which the target holds. compare_before_image promises that every
// UPDATE and DELETE finds the target's row equal to its before-image, and
// the statement path (one statement per change) stops there; the net
// compared only each key's first before-image in the batch and applied
// the second change without a word — whether a divergence stopped
// replication depended on where the batches were cut.
func TestReview15bLaterBeforeImageInTheBatchCompared(t *testing.T) {
	for _, c := range []struct{ name, hidden, then string }{
		{"update", "UPDATE app.T SET w = 'hidden' WHERE id = 1", "UPDATE app.T SET v = 3 WHERE id = 1"},
		{"delete", "UPDATE app.T SET w = 'hidden' WHERE id = 1", "DELETE FROM app.T WHERE id = 1"},
		{"a deleted key updated", "INSERT INTO app.T (id, v, w) VALUES (2, 0, 'hidden')", "UPDATE app.T SET v = 3 WHERE id = 2"},
		{"an inserted key updated", "UPDATE app.T SET w = 'hidden' WHERE id = 4", "UPDATE app.T SET v = 3 WHERE id = 4"},
	} {
		for _, table := range []string{"stmt", "net"} {
			t.Run(c.name+" "+table, func(t *testing.T) {
				r := newRig(t)
				r.cfg.Replication.CompareBeforeImage = true
				r.cfg.Replication.ApplyBatchDelay = 10 * time.Second
				r.source(review15bTables...)
				run := r.run(binlog.RunOptions{})
				r.waitCaughtUp(run)
				r.stopClean(run)
				q := func(s string) string { return strings.ReplaceAll(s, "app.T", "app."+table) }
				// A backlog of three transactions, applied in one batch.
				r.source(q("UPDATE app.T SET v = 2 WHERE id = 1; DELETE FROM app.T WHERE id = 2; INSERT INTO app.T (id, v, w) VALUES (4, 4, 'd')"),
					"SET SESSION sql_log_bin = 0; "+q(c.hidden)+"; SET SESSION sql_log_bin = 1",
					q(c.then))
				run = r.run(binlog.RunOptions{})
				stop := r.waitStopped(run)
				if !strings.Contains(stop.Error(), "differs from the source's before-image") && !strings.Contains(stop.Error(), "missing") {
					t.Errorf("want a stop at the before-image, got %v", stop)
				}
			})
		}
	}
}

// The same under on_divergence: log: the later change's divergence is
// recorded, and the target ends as the source.
func TestReview15bLaterBeforeImageInTheBatchLogged(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.cfg.Replication.OnDivergence = config.DivergenceLog
	r.cfg.Replication.ApplyBatchDelay = 10 * time.Second
	r.source(review15bTables...)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.source("UPDATE app.net SET v = 2 WHERE id = 1; DELETE FROM app.net WHERE id = 2",
		"SET SESSION sql_log_bin = 0; UPDATE app.net SET w = 'hidden' WHERE id = 1; INSERT INTO app.net VALUES (2, 0, 'hidden'); SET SESSION sql_log_bin = 1",
		"UPDATE app.net SET v = 3 WHERE id = 1; UPDATE app.net SET v = 3 WHERE id = 2")
	run = r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	if n := targetCount(t, r, "SELECT COUNT(*) FROM _switcharoo.divergence WHERE check_no IS NULL"); n == 0 {
		t.Errorf("no divergence recorded (row 1 differs, row 2 is missing)")
	}
	r.assertSame("app")
}

// Without compare_before_image nothing of the above applies: the same
// backlog (a row changed outside the binlog between two changes of one
// batch) is applied by key, on both paths, as before, and the target
// ends as the source.
func TestReview15bLaterBeforeImageNotComparedWhenOff(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.ApplyBatchDelay = 10 * time.Second
	r.source(review15bTables...)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	for _, table := range []string{"net", "stmt"} {
		q := func(s string) string { return strings.ReplaceAll(s, "app.T", "app."+table) }
		r.source(q("UPDATE app.T SET v = 2 WHERE id = 1; DELETE FROM app.T WHERE id = 2"),
			"SET SESSION sql_log_bin = 0; "+q("UPDATE app.T SET w = 'hidden' WHERE id = 1")+"; SET SESSION sql_log_bin = 1",
			q("UPDATE app.T SET v = 3 WHERE id = 1; UPDATE app.T SET v = 4 WHERE id = 3"))
	}
	run = r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSameTable("app", "app", "net") // the REPLACE writes the whole row
	r.assertSameQuery("SELECT id, v FROM app.stmt ORDER BY id")
}
