package binlog_test

import (
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// MariaDB's SET STATEMENT var=value FOR <statement> — the usual way to run
// a schema change with a short lock_wait_timeout — is written to the
// binlog as typed. Its first word is SET, so unreadSchemaChange takes it
// for no schema change at all and it is "not replicated", under ddl:
// apply and ddl: stop alike: a TRUNCATE empties the source's table with no
// row event (the target keeps every row), and a RENAME swap leaves every
// later row of a in the target's b and the other way round. No stop, no
// warning.
func TestReview4SetStatementForDDLPassesUnseen(t *testing.T) {
	for _, c := range []struct{ ddl, after string }{
		{"SET STATEMENT lock_wait_timeout=10 FOR TRUNCATE TABLE app.items", "INSERT INTO app.items (id, v) VALUES (1000, 'after')"},
		{"SET STATEMENT lock_wait_timeout=10 FOR RENAME TABLE app.a TO app.tmp, app.b TO app.a, app.tmp TO app.b",
			"INSERT INTO app.a VALUES (10, 'to a'); INSERT INTO app.b VALUES (20, 'to b')"},
	} {
		for _, policy := range []string{config.DDLApply, config.DDLStop} {
			t.Run(policy+" "+c.ddl, func(t *testing.T) {
				r := ddlRig(t, policy)
				r.source("CREATE TABLE app.a (id INT PRIMARY KEY, v VARCHAR(20))", "CREATE TABLE app.b (id INT PRIMARY KEY, v VARCHAR(20))",
					"INSERT INTO app.a VALUES (1, 'a')", "INSERT INTO app.b VALUES (2, 'b')")
				run := r.run(binlog.RunOptions{})
				r.waitCaughtUp(run)
				r.source(c.ddl, c.after)
				if !r.caughtUpOrStopped(run) {
					t.Logf("held: %v", run.err)
					return
				}
				r.stopClean(run)
				for _, table := range []string{"items", "a", "b"} {
					r.assertSameTable("app", "app", table)
				}
			})
		}
	}
}

// On a source with lower_case_table_names=1 (a 5.6 master moved from
// Windows, or set so on purpose), APP.ITEMS is app.items: the binlog
// keeps the statement as typed and the server the name in lower case.
// The filter matches db and table case-sensitively (path.Match), so a
// schema change naming the table in another case is taken for one of a
// database replication does not include: TRUNCATE TABLE APP.ITEMS, read
// by the parser, is "not replicated" — the target keeps every row. The
// unread path's new knownTable matches bare names without regard to case
// for this very reason, but a qualified name still goes through the
// case-sensitive filter: ALTER TABLE APP.PARTED EXCHANGE PARTITION … WITH
// TABLE APP.ITEMS passes as well.
func TestReview4CaseInsensitiveSourceOtherCase(t *testing.T) {
	for _, ddl := range []string{
		"TRUNCATE TABLE APP.ITEMS",
		"ALTER TABLE APP.PARTED EXCHANGE PARTITION p0 WITH TABLE APP.ITEMS",
	} {
		t.Run(ddl, func(t *testing.T) {
			r := newRig(t, "lower_case_table_names=1")
			r.cfg.Replication.Databases = []string{"app"}
			r.cfg.Replication.ExcludeTables = []string{"app.parted"}
			r.source("CREATE DATABASE app",
				"CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, pad CHAR(10) NOT NULL DEFAULT 'p')",
				"INSERT INTO app.items (id, v) SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_100",
				"CREATE TABLE app.parted (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, pad CHAR(10) NOT NULL DEFAULT 'p') "+
					"PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (1000), PARTITION p1 VALUES LESS THAN MAXVALUE)")
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.source(ddl, "INSERT INTO app.items (id, v) VALUES (5000, 'after')")
			if !r.caughtUpOrStopped(run) {
				t.Logf("held: %v", run.err)
				return
			}
			r.stopClean(run)
			r.assertSameTable("app", "app", "items")
		})
	}
}

// A replicated table created, in the session's default database, by a
// statement replication cannot read (here a MariaDB executable comment)
// is a name the schema map does not know yet: the name after CREATE ...
// TABLE is taken for a table, so replication stops at the CREATE, where
// --ddl-applied works (review4 found it passing, and the stop at the
// table's first row had no way on). Created on the target by hand, the
// table is read from there and its rows follow.
func TestReview4UnreadCreateOfNewTableHasNoWayOn(t *testing.T) {
	r := ddlRig(t, config.DDLApply)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	create := "CREATE TABLE t2 (id INT PRIMARY KEY) /*M!100000 COMMENT 'made by a MariaDB-aware tool' */"
	r.source("USE app; "+create, "INSERT INTO app.t2 VALUES (1)")
	stop := r.waitStopped(run)
	if !strings.Contains(stop.Error(), "CREATE TABLE t2") || !strings.Contains(stop.Error(), "--ddl-applied "+stop.Position.String()) {
		t.Fatalf("want a stop at the CREATE naming --ddl-applied, got %v", stop)
	}
	sandboxtest.Exec(t, r.dstDB, "USE app; "+create)
	run = r.run(binlog.RunOptions{DDLApplied: stop.Position})
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}

// "--" starts a comment when a space, a tab, a newline or another control
// character follows it (MySQL and MariaDB alike); the lexer knows only
// "-- ". A bare "--" line, the separator of many migration files, is two
// punctuation tokens to it: the statement's first token is then "-", so
// parseDDL does not read it and unreadSchemaChange finds no verb — not a
// schema change, "not replicated", under apply and stop. The server
// binlogs the text as sent, comments included. "--<tab>" followed by a
// quote swallows the rest of the statement into a string the same way.
func TestReview4DashDashCommentHidesDDL(t *testing.T) {
	for _, ddl := range []string{
		"--\n-- nightly cleanup\n--\nTRUNCATE TABLE app.items",
		"--\tit's the nightly cleanup\nTRUNCATE TABLE app.items",
		"/* nightly cleanup */\fTRUNCATE TABLE app.items", // a form feed is whitespace to the server, "-" to the lexer
	} {
		for _, policy := range []string{config.DDLApply, config.DDLStop} {
			t.Run(policy+" "+strings.ReplaceAll(ddl, "\n", " "), func(t *testing.T) {
				r := ddlRig(t, policy)
				run := r.run(binlog.RunOptions{})
				r.waitCaughtUp(run)
				r.source(ddl, "INSERT INTO app.items (id, v) VALUES (1000, 'after')")
				if !r.caughtUpOrStopped(run) {
					t.Logf("held: %v", run.err)
					return
				}
				r.stopClean(run)
				r.assertSameTable("app", "app", "items")
			})
		}
	}
}
