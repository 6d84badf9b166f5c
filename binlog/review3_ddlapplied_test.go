package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// --ddl-applied after a schema change replication could not read re-reads
// the schema of every replicated table from the target, not only of those
// the statement may name. A table the target holds in another character
// set than the source (a latin1 table pre-created as utf8mb4, as a
// migration to Aurora often does) then has its source bytes written as if
// they were the target's: é (latin1 0xE9) as utf8mb4 0xE9, which strict
// mode refuses, or worse.
func TestReview3DDLAppliedKeepsOtherTablesCharset(t *testing.T) {
	r := ddlRig(t, config.DDLStop)
	r.source("CREATE TABLE app.l (id INT PRIMARY KEY, s VARCHAR(20)) CHARACTER SET latin1",
		"CREATE TABLE app.parted (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, pad CHAR(10) NOT NULL DEFAULT 'p') "+
			"PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (1000), PARTITION p1 VALUES LESS THAN MAXVALUE)")
	sandboxtest.Exec(t, r.dstDB, "CREATE DATABASE app")
	sandboxtest.Exec(t, r.dstDB, "CREATE TABLE app.l (id INT PRIMARY KEY, s VARCHAR(20)) CHARACTER SET utf8mb4")
	r.source("INSERT INTO app.l VALUES (1, CONVERT(_utf8mb4 X'C3A9' USING latin1))")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("INSERT INTO app.l VALUES (2, CONVERT(_utf8mb4 X'C3A9' USING latin1))")
	r.waitCaughtUp(run)

	r.source("ALTER TABLE app.parted EXCHANGE PARTITION p0 WITH TABLE app.items")
	stop := r.waitStopped(run)
	// By hand, as the source did.
	sandboxtest.Exec(t, r.dstDB, "ALTER TABLE app.parted EXCHANGE PARTITION p0 WITH TABLE app.items")
	run = r.run(binlog.RunOptions{DDLApplied: stop.Position})
	r.waitCaughtUp(run)
	r.source("INSERT INTO app.l VALUES (3, CONVERT(_utf8mb4 X'C3A9' USING latin1))")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSameQuery("SELECT id, HEX(CONVERT(s USING utf8mb4)) FROM app.l ORDER BY id")
}
