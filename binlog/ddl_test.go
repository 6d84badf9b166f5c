package binlog_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

func ddlRig(t *testing.T, policy string) *rig {
	r := newRig(t)
	r.cfg.Replication.DDL = policy
	r.cfg.Replication.Databases = []string{"app", "app_*"}
	r.source(
		"CREATE DATABASE app",
		"CREATE TABLE app.items (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, pad CHAR(10) NOT NULL DEFAULT 'p')",
		"INSERT INTO app.items (id, v) SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_100",
	)
	return r
}

// Under ddl: apply, every covered kind of schema change reaches the target
// in stream order, rows written after it land in the new shape, and the
// schema map survives a restart.
func TestDDLApply(t *testing.T) {
	r := ddlRig(t, config.DDLApply)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(
		"ALTER TABLE app.items ADD COLUMN c INT NOT NULL DEFAULT 7, DROP COLUMN pad",
		"INSERT INTO app.items (id, v, c) VALUES (1000, 'after', 42)",
		"UPDATE app.items SET c = c + 1 WHERE id <= 10",
		"CREATE TABLE app.fresh (k VARCHAR(10) PRIMARY KEY, n INT)",
		"INSERT INTO app.fresh VALUES ('a', 1), ('b', 2)",
		"CREATE INDEX by_n ON app.fresh (n)",
		"DROP INDEX by_n ON app.fresh",
		"RENAME TABLE app.fresh TO app.renamed",
		"INSERT INTO app.renamed VALUES ('c', 3)",
		"ALTER TABLE app.renamed RENAME TO app.renamed2",
		"CREATE TABLE app.gone (id INT PRIMARY KEY)",
		"INSERT INTO app.gone VALUES (1)",
		"DROP TABLE app.gone",
		"CREATE TABLE app.emptied (id INT PRIMARY KEY)",
		"INSERT INTO app.emptied VALUES (1), (2)",
		"TRUNCATE TABLE app.emptied",
		"INSERT INTO app.emptied VALUES (3)",
		"CREATE DATABASE app_extra",
		"CREATE TABLE app_extra.t (id INT PRIMARY KEY) ENGINE=MyISAM",
		"INSERT INTO app_extra.t VALUES (1)",
		"CREATE DATABASE unreplicated",
		"CREATE TABLE unreplicated.t (id INT PRIMARY KEY)",
	)
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	r.assertSame("app")
	r.assertSameDB("app_extra", "app_extra")
	if engine := sandboxtest.Dump(t, r.dstDB, "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA='app_extra'"); len(engine) != 1 || engine[0] != "496e6e6f4442" {
		t.Errorf("app_extra.t should be InnoDB on the target, got %v", engine)
	}
	if dbs := sandboxtest.Dump(t, r.dstDB, "SHOW DATABASES LIKE 'unreplicated'"); len(dbs) != 0 {
		t.Errorf("a database outside the filter was created on the target")
	}

	// After a restart the schema map is the one after the changes.
	r.source("INSERT INTO app.items (id, v, c) VALUES (1001, 'restarted', 5)", "INSERT INTO app.renamed2 VALUES ('d', 4)")
	run = r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate after restart: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}

// Under ddl: stop, replication stops before the change, naming it and its
// position; once the operator applied it by hand, --ddl-applied goes on.
func TestDDLStop(t *testing.T) {
	r := ddlRig(t, config.DDLStop)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(
		"ALTER TABLE app.items ADD COLUMN c INT NOT NULL DEFAULT 7",
		"INSERT INTO app.items (id, v, c) VALUES (1000, 'after', 42)",
	)
	<-run.done
	var stop *binlog.StopError
	if !errors.As(run.err, &stop) || !strings.Contains(stop.Error(), "ADD COLUMN c") || !strings.Contains(stop.Error(), "--ddl-applied") {
		t.Fatalf("want a stop naming the statement and how to go on, got %v", run.err)
	}
	if code := exitCodeOf(run.err); code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
	sandboxtest.Exec(t, r.dstDB, "ALTER TABLE app.items ADD COLUMN c INT NOT NULL DEFAULT 7")
	run = r.run(binlog.RunOptions{DDLApplied: stop.Position})
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate --ddl-applied: %v\n%s", err, r.log)
	}
	r.assertSame("app")
}

// Under ddl: ignore, a change that leaves rows compatible is skipped; one
// that changes the columns stops replication at the next row rather than
// writing values into the wrong columns.
func TestDDLIgnore(t *testing.T) {
	r := ddlRig(t, config.DDLIgnore)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("CREATE INDEX by_v ON app.items (v)", "UPDATE app.items SET v = 'x' WHERE id = 1")
	r.waitCaughtUp(run)
	r.assertSame("app")
	if idx := sandboxtest.Dump(t, r.dstDB, "SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='app' AND INDEX_NAME='by_v'"); len(idx) != 0 {
		t.Errorf("the ignored index exists on the target")
	}
	r.source("ALTER TABLE app.items ADD COLUMN c INT NOT NULL DEFAULT 7", "UPDATE app.items SET v = 'y' WHERE id = 2")
	<-run.done
	var stop *binlog.StopError
	if !errors.As(run.err, &stop) || !strings.Contains(stop.Error(), "columns in the binlog") {
		t.Fatalf("want a stop on the schema mismatch, got %v", run.err)
	}
}

// Under ddl: ignore, a change of a column's size or sign that keeps the
// column count stops replication at the next row as well (the TABLE_MAP's
// metadata says so), where the target would truncate or misread the
// values: VARCHAR(10) utf8mb4 to VARCHAR(50) latin1 ('abcde…' cut), DECIMAL(5,2) to
// (12,4), and, where the source logs optional metadata (MySQL 8.0,
// MariaDB with binlog_row_metadata), INT to INT UNSIGNED (#16.7).
func TestDDLIgnoreSeesSizeChanges(t *testing.T) {
	for _, c := range []struct{ alter, row, names string }{
		{"ALTER TABLE app.m MODIFY s VARCHAR(50)", "UPDATE app.m SET s = REPEAT('abcde', 10) WHERE id = 1", "binlog says 50 bytes"},
		{"ALTER TABLE app.m MODIFY d DECIMAL(12,4)", "UPDATE app.m SET d = 12345678.1234 WHERE id = 1", "decimal(12,4)"},
		{"ALTER TABLE app.m MODIFY n INT UNSIGNED", "UPDATE app.m SET n = 4000000000 WHERE id = 1", "unsigned=true"},
	} {
		t.Run(c.alter, func(t *testing.T) {
			r := newRig(t, "binlog_row_metadata=MINIMAL")
			r.cfg.Replication.DDL = config.DDLIgnore
			r.source("CREATE DATABASE app", "CREATE TABLE app.m (id INT PRIMARY KEY, s VARCHAR(10) CHARACTER SET utf8mb4, d DECIMAL(5,2), n INT)",
				"INSERT INTO app.m VALUES (1, 'a', 1.5, -1)")
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.source(c.alter, c.row)
			select {
			case <-run.done:
			case <-time.After(time.Minute):
				t.Fatalf("replication did not stop at the changed column\n%s", r.log)
			}
			if exitCodeOf(run.err) != 4 || !strings.Contains(fmt.Sprint(run.err), c.names) {
				t.Fatalf("want a stop (exit 4) naming %q, got %v", c.names, run.err)
			}
		})
	}
}
