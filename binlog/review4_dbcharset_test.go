package binlog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// A table created by a schema change without a character set of its own
// takes its database's default. The copy creates the target's database
// only IF NOT EXISTS, so a database pre-created on the target (by
// Terraform, in utf8mb4, as Aurora migrations often do) keeps its own
// default, and a CREATE TABLE the source ran in its latin1 database would
// make a utf8mb4 table on the target (review4 saw the next row stop with a
// message about ddl: ignore). Preflight refuses such a database, naming
// the ALTER DATABASE that fixes it, before anything is copied; made to
// match, replication runs and the new table holds the source's bytes.
func TestReview4DDLTableTakesTargetDatabaseCharset(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.DDL = config.DDLApply
	r.source("CREATE DATABASE app CHARACTER SET latin1", "CREATE TABLE app.items (id INT PRIMARY KEY)", "INSERT INTO app.items VALUES (1)")
	sandboxtest.Exec(t, r.dstDB, "CREATE DATABASE app CHARACTER SET utf8mb4")
	run := r.run(binlog.RunOptions{})
	<-run.done
	if exitCodeOf(run.err) != 2 || !strings.Contains(fmt.Sprint(run.err), "ALTER DATABASE `app` CHARACTER SET latin1") {
		t.Fatalf("want a preflight refusal (exit 2) naming the ALTER DATABASE, got %v (exit %d)", run.err, exitCodeOf(run.err))
	}
	if n := targetCount(t, r, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'"); n != 0 {
		t.Fatalf("the refused run created %d tables", n)
	}
	sandboxtest.Exec(t, r.dstDB, "ALTER DATABASE app CHARACTER SET latin1 COLLATE latin1_swedish_ci")
	run = r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("CREATE TABLE app.n (id INT PRIMARY KEY, s VARCHAR(20))",
		// a latin1 é, and what a latin1-declared client sending UTF-8 stores
		"INSERT INTO app.n VALUES (1, CONVERT(_utf8mb4 X'C3A9' USING latin1)), (2, _latin1 X'C3A9')")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSameQuery("SELECT id, HEX(CONVERT(s USING utf8mb4)) FROM app.n ORDER BY id")
}
