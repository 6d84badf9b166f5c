package binlog_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The row images of MySQL 5.6 and MariaDB strip the trailing 0x00 bytes of
// BINARY(n) values. A change to a row whose BINARY key ends in 0x00 must
// still find that row — through the net-change path (one unique key), the
// statement path (a second unique key), and full-row matching (no key).
func TestBinaryValuesEndingInZeroBytes(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.AllowNoKey = []string{"app.nokey"}
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.net (id BINARY(16) NOT NULL PRIMARY KEY, v INT NOT NULL)",
		"CREATE TABLE app.stmt (id BINARY(16) NOT NULL PRIMARY KEY, u BINARY(4) NOT NULL, v INT NOT NULL, UNIQUE KEY (u))",
		"CREATE TABLE app.nokey (b BINARY(8) NOT NULL, v INT NOT NULL)",
		// copied rows, changed by the stream
		"INSERT INTO app.net VALUES (x'00112233445566778899aabbccddee00', 1), (x'01000000000000000000000000000000', 2)",
		"INSERT INTO app.stmt VALUES (x'00112233445566778899aabbccddee00', x'aa000000', 1), (x'02000000000000000000000000000000', x'bb00bb00', 2)",
		"INSERT INTO app.nokey VALUES (x'0100000000000000', 1), (x'0000000000000000', 2)",
	)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(
		// streamed rows, changed by the stream, each in its own batch or not
		"INSERT INTO app.net VALUES (x'ff000000000000000000000000000000', 3)",
		"INSERT INTO app.stmt VALUES (x'ff000000000000000000000000000000', x'cc000000', 3)",
		"INSERT INTO app.nokey VALUES (x'ff00000000000000', 3)",
		"UPDATE app.net SET v = v + 10",
		"UPDATE app.stmt SET v = v + 10",
		"UPDATE app.nokey SET v = v + 10",
		"UPDATE app.stmt SET u = x'dd000000' WHERE u = x'aa000000'",
		"UPDATE app.net SET id = x'ee000000000000000000000000000000' WHERE id = x'01000000000000000000000000000000'",
		"DELETE FROM app.net WHERE id = x'00112233445566778899aabbccddee00'",
		"DELETE FROM app.stmt WHERE id = x'02000000000000000000000000000000'",
		"DELETE FROM app.nokey WHERE b = x'0000000000000000'",
	)
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}

// Temporal columns in the formats of tables created before MySQL 5.6.4
// (MariaDB writes them with mysql56_temporal_format=OFF): a negative TIME
// stays negative, and DATETIME and TIMESTAMP cross unchanged, in the copy
// and in the stream.
func TestOldTemporalFormats(t *testing.T) {
	r := newRig(t, "mysql56_temporal_format=OFF", "sql_mode=''")
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.old (id INT PRIMARY KEY, t TIME, dt DATETIME, ts TIMESTAMP NULL DEFAULT NULL, d DATE)",
		"INSERT INTO app.old VALUES (1, '-01:00:00', '1999-12-31 23:59:59', '2001-02-03 04:05:06', '1999-12-31'), "+
			"(2, '-838:59:59', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00'), (3, '838:59:59', '9999-12-31 23:59:59', '2038-01-19 03:14:07', '9999-12-31')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(
		"INSERT INTO app.old VALUES (11, '-00:00:01', '2000-01-01 00:00:00', '1970-01-01 00:00:01', '2000-02-29'), (12, '-12:34:56', NULL, NULL, NULL), (13, '00:00:00', '1000-01-01 00:00:00', NULL, '1000-01-01')",
		"UPDATE app.old SET t = '-100:00:00' WHERE id = 1",
		"UPDATE app.old SET dt = '2020-02-02 02:02:02' WHERE t = '-838:59:59'",
		"DELETE FROM app.old WHERE id = 3",
	)
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
	q := "SELECT id, CAST(t AS CHAR), CAST(dt AS CHAR), CAST(ts AS CHAR) FROM app.old ORDER BY id"
	if got := r.assertSameQuery(q); !slices.Contains(got, "1|-100:00:00|1999-12-31 23:59:59|2001-02-03 04:05:06") {
		t.Errorf("negative TIME not replicated as written: %v", got)
	}
}

// Values whose text is ambiguous: YEAR(2) shows 2000 as "00", an ENUM's
// error value (index 0) and a member ” both show as ”, and a SET with a
// member ” shows it as nothing. The copy and the stream must write the
// same stored value as the source holds.
func TestAmbiguousTextValues(t *testing.T) {
	r := newRig(t, "sql_mode=''")
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.amb (id INT PRIMARY KEY, y2 YEAR(2), y4 YEAR, e ENUM('', 'a', '1', '0'), s SET('', 'x', '1'))",
	)
	rows := func(base int) string {
		return fmt.Sprintf("INSERT INTO app.amb VALUES (%d, '00', 2000, 'bogus', ''), (%d, '69', 0, '', ','), (%d, '70', 1901, '1', '1'), "+
			"(%d, NULL, NULL, 4, 7), (%d, 99, 2155, 0, 0)", base, base+1, base+2, base+3, base+4)
	}
	r.source(rows(1))
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(rows(11), "UPDATE app.amb SET e = 'a', y2 = '01' WHERE id = 11", "UPDATE app.amb SET e = 'bogus', s = ',x' WHERE id = 2")
	r.waitCaughtUp(run)
	r.stopClean(run)
	q := "SELECT id, y2 + 0, YEAR(y2), y4 + 0, e + 0, s + 0 FROM app.amb ORDER BY id"
	r.assertSameQuery(q)
	r.assertSame("app")
}

// A source session with foreign_key_checks=0 is replicated under the same
// setting, as the rows event's flags say: a parent deleted without its
// cascade keeps its children on the target, and a load written children
// first (mysqldump's, Sakila's) is applied.
func TestRowsEventFlags(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.parent (id INT PRIMARY KEY, name VARCHAR(20))",
		"CREATE TABLE app.child (id INT PRIMARY KEY, parent_id INT, FOREIGN KEY (parent_id) REFERENCES app.parent (id) ON DELETE CASCADE)",
		"CREATE TABLE app.uq (id INT PRIMARY KEY, u INT, UNIQUE KEY (u))",
		"INSERT INTO app.parent VALUES (1, 'one'), (2, 'two')",
		"INSERT INTO app.child VALUES (10, 1), (11, 1), (20, 2)",
	)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(
		"SET SESSION foreign_key_checks = 0; DELETE FROM app.parent WHERE id = 1; SET SESSION foreign_key_checks = 1",
		// children first, as a dump loads them
		"SET SESSION foreign_key_checks = 0; START TRANSACTION; INSERT INTO app.child VALUES (30, 3), (31, 3); INSERT INTO app.parent VALUES (3, 'three'); COMMIT; SET SESSION foreign_key_checks = 1",
		"SET SESSION unique_checks = 0; INSERT INTO app.uq VALUES (1, 1), (2, 2); SET SESSION unique_checks = 1",
		// checks on again: the cascade is not in the binlog; the target applies its own
		"DELETE FROM app.parent WHERE id = 2",
	)
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}

// A trigger on a replicated table of the target would fire for replicated
// rows, whose trigger changes the source's binlog already carries: replicate
// refuses to start with one (exit 2), and stops (exit 4) when one appears
// while it runs, before a session applies anything under it.
func TestTriggersOnTheTarget(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, n INT)", "CREATE TABLE app.audit (id INT AUTO_INCREMENT PRIMARY KEY, t_id INT)",
		"CREATE TRIGGER app.t_audit AFTER INSERT ON app.t FOR EACH ROW INSERT INTO app.audit (t_id) VALUES (NEW.id)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("INSERT INTO app.t VALUES (1, 1)") // the audit row comes as a row of its own
	r.waitCaughtUp(run)

	sandboxtest.Exec(t, r.dstDB, "CREATE TRIGGER app.t_audit AFTER INSERT ON app.t FOR EACH ROW INSERT INTO app.audit (t_id) VALUES (NEW.id)")
	kill(t, r.dstDB, "") // the next session starts
	<-run.done
	if err := run.err; exitCodeOf(err) != 4 || !strings.Contains(fmt.Sprint(err), "app.t_audit ON app.t") {
		t.Fatalf("want a stop (exit 4) naming the trigger, got %v (exit %d)", err, exitCodeOf(err))
	}
	err := runOnce(t, r.cfg, binlog.RunOptions{})
	if exitCodeOf(err) != 2 || !strings.Contains(fmt.Sprint(err), "app.t_audit ON app.t") {
		t.Fatalf("want a refusal (exit 2) naming the trigger, got %v (exit %d)", err, exitCodeOf(err))
	}
	sandboxtest.Exec(t, r.dstDB, "DROP TRIGGER app.t_audit")
	r.source("INSERT INTO app.t VALUES (2, 2)")
	run = r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}

// Rows larger than half the target's max_allowed_packet (as hex literals
// they would not fit in a packet) are copied and streamed, their values
// sent as parameters in their raw bytes; a row larger than the packet
// stops replication with a message naming max_allowed_packet on both
// servers.
func TestLargeValues(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.AllowNoKey = []string{"app.nokey"}
	const packet = 1 << 20
	sandboxtest.Exec(t, r.dstDB, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", packet))
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.net (id INT PRIMARY KEY, b LONGBLOB, l LONGTEXT CHARACTER SET latin1, u MEDIUMTEXT CHARACTER SET utf8mb4)",
		"CREATE TABLE app.stmt (id INT PRIMARY KEY, k INT, b LONGBLOB, l LONGTEXT CHARACTER SET latin1, UNIQUE KEY (k))",
		"CREATE TABLE app.nokey (b LONGBLOB, n INT)",
	)
	// 400 KB of binary, 300 KB of latin1 with high bytes, 100 KB of 2-byte
	// UTF-8: 800 KB raw, 1.6 MB as literals.
	row := func(id int) string {
		return fmt.Sprintf("(%d, REPEAT(x'00ff10', 136533), REPEAT(x'e9e0', 150000), REPEAT('é', 50000))", id)
	}
	r.source("INSERT INTO app.net VALUES "+row(1), "INSERT INTO app.net VALUES "+row(2),
		"INSERT INTO app.stmt SELECT id, id, b, l FROM app.net",
		"INSERT INTO app.nokey SELECT b, id FROM app.net")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("INSERT INTO app.net VALUES "+row(3), "INSERT INTO app.net VALUES (4, x'00', 'small', 'small')",
		"UPDATE app.net SET b = REPEAT(x'ab', 500000) WHERE id = 1",
		"DELETE FROM app.net WHERE id = 2",
		"INSERT INTO app.stmt SELECT id, id, b, l FROM app.net WHERE id = 3",
		"UPDATE app.stmt SET l = REPEAT(x'ff', 450000) WHERE id = 1",
		"DELETE FROM app.stmt WHERE id = 2",
		"UPDATE app.nokey SET n = n + 10 WHERE n = 1",
		"DELETE FROM app.nokey WHERE n = 2",
	)
	r.waitCaughtUp(run)
	for _, table := range []string{"net", "stmt", "nokey"} {
		r.assertSameQuery("SELECT MD5(CONCAT_WS('|', " + map[string]string{"net": "id, HEX(b), HEX(l), HEX(u)", "stmt": "id, k, HEX(b), HEX(l)", "nokey": "n, HEX(b)"}[table] + ")) FROM app." + table + " ORDER BY 1")
	}

	r.source("INSERT INTO app.net VALUES (10, REPEAT(x'01', 1100000), '', '')")
	<-run.done
	if err := run.err; exitCodeOf(err) != 4 || !strings.Contains(fmt.Sprint(err), "max_allowed_packet (1048576 bytes; the source's is 16777216)") {
		t.Fatalf("want a stop (exit 4) naming both servers' max_allowed_packet, got %v (exit %d)", err, exitCodeOf(err))
	}
}

// A row the target cannot take in a packet stops the copy too, before
// anything of its range is committed.
func TestLargeRowStopsCopy(t *testing.T) {
	r := newRig(t)
	sandboxtest.Exec(t, r.dstDB, "SET GLOBAL max_allowed_packet = 1048576")
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, b LONGBLOB)",
		"INSERT INTO app.t VALUES (1, 'small'), (2, REPEAT(x'01', 1100000))")
	err := runOnce(t, r.cfg, binlog.RunOptions{})
	if exitCodeOf(err) != 4 || !strings.Contains(fmt.Sprint(err), "a row of app.t takes") || !strings.Contains(fmt.Sprint(err), "max_allowed_packet (1048576 bytes; the source's is 16777216)") {
		t.Fatalf("want a stop (exit 4) naming both servers' max_allowed_packet, got %v (exit %d)", err, exitCodeOf(err))
	}
	if n := targetCount(t, r, "SELECT COUNT(*) FROM app.t"); n != 0 {
		t.Errorf("the target holds %d rows of the range that stopped", n)
	}
}

// Big rows on the paths where their values are compared, not only
// written: a key under a collation other than its character set's
// default, and tables without a key — identical rows included (deleting
// one of two must not count as a divergence), and an update whose before
// and after images together exceed the packet.
func TestLargeValuesCompared(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.AllowNoKey = []string{"app.nokey", "app.dup"}
	sandboxtest.Exec(t, r.dstDB, "SET GLOBAL max_allowed_packet = 1048576")
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.stmt (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci PRIMARY KEY, u INT UNIQUE, b LONGBLOB)",
		"CREATE TABLE app.nokey (n INT, t MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, b LONGBLOB)",
		"CREATE TABLE app.dup (b LONGBLOB, n INT)",
		"INSERT INTO app.stmt VALUES ('k1', 1, REPEAT(x'ab', 200000)), ('k2', 2, 'small')",
		"INSERT INTO app.nokey VALUES (1, 'x', REPEAT(x'ab', 200000)), (2, 'y', REPEAT(x'ab', 200000)), (3, 'z', REPEAT(x'ef', 600000))",
		"INSERT INTO app.dup VALUES (REPEAT(x'ab', 200000), 1), (REPEAT(x'ab', 200000), 1), (REPEAT(x'cd', 200000), 2), (REPEAT(x'cd', 200000), 2)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("UPDATE app.stmt SET b = REPEAT(x'cd', 200000) WHERE k = 'k2'",
		"DELETE FROM app.nokey WHERE n = 1",
		"UPDATE app.nokey SET b = REPEAT(x'01', 600000) WHERE n = 3",
		"DELETE FROM app.dup WHERE n = 1 LIMIT 1",
		"UPDATE app.dup SET n = 3 WHERE n = 2 LIMIT 1")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSameQuery("SELECT k, u, MD5(b) FROM app.stmt ORDER BY 1")
	r.assertSameQuery("SELECT n, t, MD5(b) FROM app.nokey ORDER BY 1")
	r.assertSameQuery("SELECT n, MD5(b) FROM app.dup ORDER BY 1, 2")
}
