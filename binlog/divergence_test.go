package binlog_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// divergenceSchema has a table of each apply path: net changes (one
// unique key), statements (a second unique key), and no key at all.
var divergenceSchema = []string{"CREATE DATABASE app",
	"CREATE TABLE app.net (id INT PRIMARY KEY, v INT)",
	"CREATE TABLE app.stmt (id INT PRIMARY KEY, u INT, v INT, UNIQUE KEY (u))",
	"CREATE TABLE app.nokey (a INT, v INT)",
	"INSERT INTO app.net VALUES (1, 1), (2, 2), (3, 3), (4, 4)",
	"INSERT INTO app.stmt VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4)",
	"INSERT INTO app.nokey VALUES (1, 1), (2, 2)",
}

// divergences are row changes that find the target in a state the source
// did not have: what the target is made to hold, the source's change, and
// what a stop must name.
var divergences = []struct {
	name, target, source, names string
}{
	{"net update of a missing row", "DELETE FROM app.net WHERE id = 1", "UPDATE app.net SET v = 10 WHERE id = 1", "UPDATE of app.net (`id`=1): the row is missing"},
	{"net delete of a missing row", "DELETE FROM app.net WHERE id = 2", "DELETE FROM app.net WHERE id = 2", "DELETE of app.net (`id`=2): the row is missing"},
	{"net insert of a taken key", "INSERT INTO app.net VALUES (100, 0)", "INSERT INTO app.net VALUES (100, 100)", "INSERT of app.net (`id`=100): the key is already taken"},
	{"net key change to a taken key", "INSERT INTO app.net VALUES (300, 0)", "UPDATE app.net SET id = 300 WHERE id = 3", "INSERT of app.net (`id`=300): the key is already taken"},
	{"statement update of a missing row", "DELETE FROM app.stmt WHERE id = 1", "UPDATE app.stmt SET v = 10 WHERE id = 1", "UPDATE of app.stmt (`id`=1): the row is missing"},
	{"statement delete of a missing row", "DELETE FROM app.stmt WHERE id = 2", "DELETE FROM app.stmt WHERE id = 2", "DELETE of app.stmt (`id`=2): the row is missing"},
	{"statement insert of a taken key", "INSERT INTO app.stmt VALUES (100, 100, 0)", "INSERT INTO app.stmt VALUES (100, 101, 100)", "INSERT of app.stmt (`id`=100): the key is already taken"},
	{"no-key update of a missing row", "DELETE FROM app.nokey WHERE a = 1", "UPDATE app.nokey SET v = 10 WHERE a = 1", "UPDATE of app.nokey (`a`=1, `v`=1): the row is missing"},
	// With both checks off (as a dump is loaded), InnoDB need not check a
	// secondary unique key, and MariaDB loads an empty table in bulk: the
	// checks must hold all the same.
	{"net update under checks off", "DELETE FROM app.net WHERE id = 1", noChecks + "UPDATE app.net SET v = 11 WHERE id = 1", "UPDATE of app.net (`id`=1): the row is missing"},
	{"statement update under checks off", "DELETE FROM app.stmt WHERE id = 1", noChecks + "UPDATE app.stmt SET v = 11 WHERE id = 1", "UPDATE of app.stmt (`id`=1): the row is missing"},
	{"no-key delete under checks off", "DELETE FROM app.nokey WHERE a = 1", noChecks + "DELETE FROM app.nokey WHERE a = 1", "DELETE of app.nokey (`a`=1, `v`=10): the row is missing"},
}

const noChecks = "SET SESSION foreign_key_checks = 0, unique_checks = 0; "

// A row change that finds the target in the wrong state stops replication
// (exit 4) before anything of its batch is committed, naming the table,
// the key and the binlog position of the change, on every apply path; once
// the target is repaired, replication goes on.
func TestDivergenceStops(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.AllowNoKey = []string{"app.nokey"}
	r.source(divergenceSchema...)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	for _, d := range divergences {
		table := regexp.MustCompile(`app\.\w+`).FindString(d.source)
		rowsBefore := sandboxtest.Text(t, r.srcDB, "SELECT * FROM "+table)
		sandboxtest.Exec(t, r.dstDB, d.target)
		before := r.sourcePosition()
		r.source(d.source, "INSERT INTO app.net VALUES (1000, 0) ON DUPLICATE KEY UPDATE v = v + 1") // more in the batch
		<-run.done
		err := run.err
		if exitCodeOf(err) != 4 || !strings.Contains(fmt.Sprint(err), d.names) {
			t.Fatalf("%s: want a stop (exit 4) naming %q, got %v (exit %d)\n%s", d.name, d.names, err, exitCodeOf(err), r.log)
		}
		m := regexp.MustCompile(`stopped at (\S+):(\d+)`).FindStringSubmatch(err.Error())
		if pos, _ := strconv.ParseUint(m[2], 10, 32); (binlog.Position{File: m[1], Pos: uint32(pos)}).Compare(before) < 0 {
			t.Errorf("%s: stopped at %s:%s, want the change's position, at or after %s", d.name, m[1], m[2], before)
		}
		cp, cerr := binlog.ReadCheckpoint(context.Background(), r.dstDB, r.cfg.Replication.CheckpointSchema)
		if cerr != nil || cp.Position.Compare(before) > 0 {
			t.Fatalf("%s: checkpoint %+v moved past the change at %s (%v)", d.name, cp, before, cerr)
		}
		// Repair: the table as the source had it before the change.
		sandboxtest.Exec(t, r.dstDB, "DELETE FROM "+table)
		for _, row := range rowsBefore {
			sandboxtest.Exec(t, r.dstDB, "INSERT INTO "+table+" VALUES ("+strings.ReplaceAll(row, "|", ",")+")")
		}
		run = r.run(binlog.RunOptions{})
		r.waitCaughtUp(run)
	}
	r.stopClean(run)
	r.assertSame("app")
}

// With replication.on_divergence: log the same changes are applied as well
// as they can be, each recorded in the divergence table, which status
// counts, and replication goes on.
func TestDivergenceLogged(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.AllowNoKey = []string{"app.nokey"}
	r.cfg.Replication.OnDivergence = config.DivergenceLog
	r.source(divergenceSchema...)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	for _, d := range divergences {
		sandboxtest.Exec(t, r.dstDB, d.target)
		r.source(d.source)
		r.waitCaughtUp(run) // one divergence per batch
	}
	r.source("INSERT INTO app.nokey VALUES (2, 2)") // a duplicate row is legal without a key
	r.waitCaughtUp(run)
	st, err := binlog.ReadStatus(context.Background(), r.dstDB, r.cfg.Replication.CheckpointSchema)
	if err != nil {
		t.Fatal(err)
	}
	if st.Divergences != int64(len(divergences)) {
		t.Errorf("status counts %d divergences, want %d:\n%s", st.Divergences, len(divergences),
			strings.Join(sandboxtest.Text(t, r.dstDB, "SELECT table_name, problem FROM _switcharoo.divergence"), "\n"))
	}
	r.stopClean(run)
	// Where the net changes of a table with one unique key are written,
	// each row takes its end state; a statement that finds no row to
	// update or delete changes nothing (as slave_exec_mode=IDEMPOTENT).
	r.assertSameTable("app", "app", "net")
}

// A batch whose net change leaves a row as it was (REPLACE then counts it
// once, as it counts a row it had to create) is applied again with a count
// before each statement, and goes through: no stop, nothing lost.
func TestIdenticalRowsRecounted(t *testing.T) {
	r := newRig(t)
	r.source(divergenceSchema[:2]...)
	r.source("INSERT INTO app.net VALUES (1, 1), (2, 2), (3, 3), (4, 4)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("START TRANSACTION; UPDATE app.net SET v = 10 WHERE id = 1; UPDATE app.net SET v = 1 WHERE id = 1; UPDATE app.net SET v = 20 WHERE id = 2; COMMIT")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
	if !strings.Contains(r.log.String(), "applying it again, counting its rows first") {
		t.Errorf("the batch was not applied again:\n%s", r.log)
	}
}

// Without a key, rows equal under the column's collation ('A' and 'a',
// 'b' and 'b ', 'É' and 'e') are told apart by their bytes: a change to
// one never lands on the other.
func TestNoKeyRowsEqualUnderCollation(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.AllowNoKey = []string{"app.nokey"}
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.nokey (c VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci, n INT)",
		"INSERT INTO app.nokey VALUES ('A', 1), ('a', 1), ('b ', 2), ('b', 2), ('É', 3), ('e', 3)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("DELETE FROM app.nokey WHERE BINARY c = 'a'", "UPDATE app.nokey SET n = 20 WHERE BINARY c = 'b'", "UPDATE app.nokey SET n = 30 WHERE BINARY c = 'e'")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSameQuery("SELECT HEX(c), n FROM app.nokey ORDER BY 1, 2")
}
