package binlog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The target's sessions are strict (sqlmode.go). The source's invalid
// dates (stored under ALLOW_INVALID_DATES), zero dates and dates with zero
// parts arrive as stored, by the copy and by the stream; a non-strict
// session would store 2021-02-31 as 0000-00-00.
func TestInvalidDatesArriveAsStored(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.d (id INT PRIMARY KEY, d DATE, dt DATETIME, dt6 DATETIME(6))")
	rows := func(base int) string {
		return fmt.Sprintf("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'; INSERT INTO app.d VALUES "+
			"(%d, '2021-02-31', '2021-02-31 10:11:12', '2021-04-31 00:00:00.5'), (%d, '0000-00-00', '0000-00-00 00:00:00', '2021-00-05 01:02:03'), "+
			"(%d, '2021-00-00', '2020-13-01', NULL)", base, base+1, base+2)
	}
	r.source(rows(1))
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(rows(11), "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'; UPDATE app.d SET d = '2022-02-30', dt = '2022-06-31 23:59:59' WHERE id IN (1, 12)")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSameQuery("SELECT id, CAST(d AS CHAR), CAST(dt AS CHAR), CAST(dt6 AS CHAR) FROM app.d ORDER BY id")
	r.assertSame("app")
}

// An ENUM's error value (index 0, which a non-strict source stores for a
// label the ENUM lacks) is refused by a strict session however it is
// written: each statement that writes one runs with strict mode off.
// Every write path takes it: the copy (multi-row, and a big row sent as
// parameters), and the stream's multi-row INSERT and REPLACE of net
// changes, its statement-per-change INSERT and UPDATE, big rows, and the
// INSERT ... ON DUPLICATE KEY UPDATE of on_divergence: log.
func TestEnumErrorValueOnEveryWritePath(t *testing.T) {
	for _, mode := range []string{config.DivergenceStop, config.DivergenceLog} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t)
			r.cfg.Replication.OnDivergence = mode
			r.cfg.Replication.AllowNoKey = []string{"app.nokey"}
			r.source("CREATE DATABASE app",
				"CREATE TABLE app.net (id INT PRIMARY KEY, e ENUM('a', 'b'), f ENUM('', 'x') NOT NULL, l LONGTEXT)",
				"CREATE TABLE app.stmt (id INT PRIMARY KEY, k INT, e ENUM('a', 'b'), f ENUM('', 'x') NOT NULL, l LONGTEXT, UNIQUE KEY (k))",
				"CREATE TABLE app.nokey (e ENUM('a', 'b'), n INT)",
			)
			// As a non-strict source session stores them: 'bogus' is index 0.
			rows := func(base int) []string {
				return []string{
					fmt.Sprintf("SET SESSION sql_mode = ''; INSERT INTO app.net VALUES (%d, 'bogus', 'bogus', 'small'), (%d, 'a', '', 'small'), (%d, 0, 'x', REPEAT('é', 100000))", base, base+1, base+2),
					fmt.Sprintf("SET SESSION sql_mode = ''; INSERT INTO app.stmt SELECT id, id, e, f, l FROM app.net WHERE id BETWEEN %d AND %d", base, base+2),
					fmt.Sprintf("SET SESSION sql_mode = ''; INSERT INTO app.nokey VALUES ('bogus', %d), ('b', %d)", base, base+1),
				}
			}
			r.source(rows(1)...)
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.source(rows(11)...)
			r.source(
				"SET SESSION sql_mode = ''; UPDATE app.net SET e = 'bogus', l = 'changed' WHERE id IN (2, 12)",
				"SET SESSION sql_mode = ''; UPDATE app.stmt SET e = 'bogus', f = 'bogus' WHERE id IN (2, 12)",
				"SET SESSION sql_mode = ''; UPDATE app.stmt SET e = 'b' WHERE id = 3",
				"SET SESSION sql_mode = ''; UPDATE app.stmt SET e = 'bogus', l = REPEAT('ü', 100001) WHERE id = 3",
				"SET SESSION sql_mode = ''; UPDATE app.nokey SET n = n + 100 WHERE e = 0",
				"DELETE FROM app.nokey WHERE n = 12",
			)
			r.waitCaughtUp(run)
			r.stopClean(run)
			for _, table := range []string{"net", "stmt"} {
				r.assertSameQuery("SELECT id, e + 0, f + 0, MD5(l) FROM app." + table + " ORDER BY id")
			}
			r.assertSameQuery("SELECT e + 0, n FROM app.nokey ORDER BY n")
			if n := targetCount(t, r, "SELECT COUNT(*) FROM app.net WHERE e = 0"); n != 6 {
				t.Errorf("the target's app.net holds %d ENUM error values, want 6", n)
			}
			if n := targetCount(t, r, "SELECT COUNT(*) FROM "+r.cfg.Replication.CheckpointSchema+".divergence"); n != 0 {
				t.Errorf("%d divergences recorded", n)
			}
		})
	}
}

// A value the target's column cannot hold (here, a column narrowed on the
// target while replication.ddl is ignore) stops the stream with exit code
// 4, naming the table, the column where the server does, the row's key
// and its binlog position, instead of writing it truncated ('abc') — also
// when the statement that writes it runs with strict mode off for an ENUM
// error value: in the same row, in another row of the statement, in an
// UPDATE, in a big row sent as parameters. Widened again, replication
// resumes from the stop.
func TestNarrowerTargetColumnStopsStream(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.DDL = config.DDLIgnore
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, e ENUM('a', 'b'), c VARCHAR(10), l LONGTEXT)",
		"CREATE TABLE app.u (id INT PRIMARY KEY, k INT, e ENUM('a', 'b'), c VARCHAR(10), UNIQUE KEY (k))",
		"INSERT INTO app.t VALUES (1, 'a', 'xy', '')", "INSERT INTO app.u VALUES (1, 1, 'a', 'xy')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	cases := []struct {
		name, table, change, names string
	}{
		{"too long", "t", "INSERT INTO app.t VALUES (2, 'a', 'abcdef', '')", "Data too long for column 'c'"},
		{"too long beside an ENUM error value", "t", "SET SESSION sql_mode = ''; INSERT INTO app.t VALUES (3, 'bogus', 'abcdef', '')", "ran with strict mode off"},
		{"too long in a row after an ENUM error value", "t", "SET SESSION sql_mode = ''; INSERT INTO app.t VALUES (4, 'bogus', 'ab', ''), (5, 'a', 'abcdef', '')", "ran with strict mode off"},
		{"an UPDATE", "u", "SET SESSION sql_mode = ''; UPDATE app.u SET e = 'bogus', c = 'abcdef' WHERE id = 1", "ran with strict mode off"},
		{"a big row", "t", "SET SESSION sql_mode = ''; INSERT INTO app.t VALUES (6, 'bogus', 'abcdef', REPEAT('x', 300000))", "ran with strict mode off"},
	}
	for _, c := range cases {
		table := "app." + c.table
		sandboxtest.Exec(t, r.dstDB, "ALTER TABLE "+table+" MODIFY c VARCHAR(3)")
		at := r.sourcePosition()
		r.source(c.change)
		stop := r.waitStopped(run)
		if msg := stop.Error(); !strings.Contains(msg, c.names) || !strings.Contains(msg, table) || stop.Position.Compare(at) < 0 || !strings.Contains(msg, "SHOW CREATE TABLE") {
			t.Errorf("%s: want a stop at or after %s naming %s and %q, and what to do; got %v", c.name, at, table, c.names, stop)
		}
		if n := targetCount(t, r, "SELECT COUNT(*) FROM "+table+" WHERE c = 'abc'"); n != 0 {
			t.Errorf("%s: the target holds %d truncated values", c.name, n)
		}
		sandboxtest.Exec(t, r.dstDB, "ALTER TABLE "+table+" MODIFY c VARCHAR(10)")
		run = r.run(binlog.RunOptions{})
		r.waitCaughtUp(run)
		// Shortened, so that narrowing the column again keeps them.
		r.source("UPDATE " + table + " SET c = 'ok' WHERE c = 'abcdef'")
		r.waitCaughtUp(run)
	}
	r.stopClean(run)
	r.assertSameQuery("SELECT id, e + 0, c, MD5(l) FROM app.t ORDER BY id")
	r.assertSameQuery("SELECT id, k, e + 0, c FROM app.u ORDER BY id")
}

// The copy stops too (exit code 4), naming the table and the column where
// the server does, for a plain row, a row with an ENUM error value and a
// big row with one, and writes nothing truncated. Widened, the copy
// resumes and completes.
func TestNarrowerTargetColumnStopsCopy(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.DDL = config.DDLIgnore
	tables := map[string]string{
		"app.plain": "Data too long for column 'c'",
		"app.mixed": "ran with strict mode off",
		"app.big":   "ran with strict mode off",
	}
	r.source("CREATE DATABASE app")
	sandboxtest.Exec(t, r.dstDB, "CREATE DATABASE app")
	for table := range tables {
		create := "CREATE TABLE " + table + " (id INT PRIMARY KEY, e ENUM('a', 'b'), c VARCHAR(%d), l LONGTEXT)"
		r.source(fmt.Sprintf(create, 10))
		sandboxtest.Exec(t, r.dstDB, fmt.Sprintf(create, 3))
	}
	r.source("SET SESSION sql_mode = ''; INSERT INTO app.plain VALUES (1, 'a', 'ab', ''), (2, 'b', 'abcdef', '')",
		"SET SESSION sql_mode = ''; INSERT INTO app.mixed VALUES (1, 'bogus', 'ab', ''), (2, 'a', 'abcdef', '')",
		"SET SESSION sql_mode = ''; INSERT INTO app.big VALUES (1, 'a', 'ab', ''), (2, 'bogus', 'abcdef', REPEAT('x', 300000))")
	stopped := map[string]bool{}
	for len(stopped) < len(tables) {
		err := runOnce(t, r.cfg, binlog.RunOptions{})
		var stop *binlog.StopError
		if !errors.As(err, &stop) || exitCodeOf(err) != 4 {
			t.Fatalf("want a stop (exit code 4), got %v (exit %d); stopped so far: %v", err, exitCodeOf(err), stopped)
		}
		named := false
		for table, names := range tables {
			if msg := stop.Error(); !stopped[table] && strings.Contains(msg, table) {
				if !strings.Contains(msg, names) || !strings.Contains(msg, "SHOW CREATE TABLE") {
					t.Errorf("the stop naming %s does not say %q and what to do: %v", table, names, stop)
				}
				stopped[table], named = true, true
				sandboxtest.Exec(t, r.dstDB, "ALTER TABLE "+table+" MODIFY c VARCHAR(10)")
			}
		}
		if !named {
			t.Fatalf("the stop names no table not stopped at before: %v", err)
		}
		for table := range tables {
			if n := targetCount(t, r, "SELECT COUNT(*) FROM "+table+" WHERE c = 'abc'"); n != 0 {
				t.Fatalf("the target's %s holds %d truncated values", table, n)
			}
		}
	}
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	for table := range tables {
		r.assertSameQuery("SELECT id, e + 0, c, MD5(l) FROM " + table + " ORDER BY id")
	}
}

// A column narrowed by hand on the target while replicate is stopped —
// fewer decimals, fewer fractional digits, a FLOAT for a DOUBLE, a DATE
// for a DATETIME — would round every later value with a Note at most,
// even in strict mode: the stream's next session stops before applying
// anything (exit code 4), naming the column, and nothing is rounded.
// Widened again, replication resumes and the sides are identical.
func TestNarrowedTargetColumnStopsSession(t *testing.T) {
	r := newRig(t)
	cases := []struct{ table, wide, narrow, before, after string }{
		{"dec", "DECIMAL(10,4)", "DECIMAL(10,2)", "1.2345", "9.8765"},
		{"fsp", "DATETIME(6)", "DATETIME(3)", "'2026-01-01 10:00:00.123456'", "'2026-01-02 11:00:00.654321'"},
		{"dbl", "DOUBLE", "FLOAT", "1.1", "2.2000000001"},
		{"day", "DATETIME", "DATE", "'2026-01-01 10:00:00'", "'2026-01-02 11:30:00'"},
	}
	r.source("CREATE DATABASE app")
	for _, c := range cases {
		r.source("CREATE TABLE app."+c.table+" (id INT PRIMARY KEY, v "+c.wide+")", "INSERT INTO app."+c.table+" VALUES (1, "+c.before+")")
	}
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	for _, c := range cases {
		table := "app." + c.table
		sandboxtest.Exec(t, r.dstDB, "ALTER TABLE "+table+" MODIFY v "+c.narrow)
		r.source("INSERT INTO " + table + " VALUES (2, " + c.after + ")")
		run = r.run(binlog.RunOptions{})
		stop := r.waitStopped(run)
		if msg := stop.Error(); !strings.Contains(msg, "column v of "+table) || !strings.Contains(msg, "round") {
			t.Errorf("%s narrowed to %s: want a stop naming the column and the rounding, got %v", table, c.narrow, stop)
		}
		if n := targetCount(t, r, "SELECT COUNT(*) FROM "+table+" WHERE id = 2"); n != 0 {
			t.Errorf("%s narrowed to %s: the row was applied (rounded)", table, c.narrow)
		}
		sandboxtest.Exec(t, r.dstDB, "ALTER TABLE "+table+" MODIFY v "+c.wide)
		run = r.run(binlog.RunOptions{})
		r.waitCaughtUp(run)
		r.stopClean(run)
		// Row 1 was rounded by the hand-made ALTER itself.
		r.assertSameQuery("SELECT id, v FROM " + table + " WHERE id = 2")
	}
}
