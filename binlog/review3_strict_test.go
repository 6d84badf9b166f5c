package binlog_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Strict mode refuses a value too long or out of range, but a DECIMAL with
// fewer decimals on the target rounds with a Note only, even in strict
// mode: the copy into a pre-created target whose DECIMAL keeps 2 decimals
// for the source's 4 loses the digits without a stop.
func TestReview3NarrowerDecimalScaleStopsCopy(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.DDL = config.DDLIgnore
	r.source("CREATE DATABASE app", "CREATE TABLE app.d (id INT PRIMARY KEY, x DECIMAL(12,4))",
		"INSERT INTO app.d VALUES (1, 1.2345)")
	sandboxtest.Exec(t, r.dstDB, "CREATE DATABASE app")
	sandboxtest.Exec(t, r.dstDB, "CREATE TABLE app.d (id INT PRIMARY KEY, x DECIMAL(12,2))")
	err := runOnce(t, r.cfg, binlog.RunOptions{})
	var stop *binlog.StopError
	if !errors.As(err, &stop) || exitCodeOf(err) != 4 {
		got := targetCount(t, r, "SELECT COUNT(*) FROM app.d WHERE x = 1.23")
		t.Fatalf("want a stop (exit 4) on a DECIMAL the target rounds, got %v (exit %d); the target holds %d rounded values", err, exitCodeOf(err), got)
	}
	if msg := stop.Error(); !strings.Contains(msg, "app.d") || !strings.Contains(msg, "decimal(12,2)") || !strings.Contains(msg, "SHOW CREATE TABLE") {
		t.Errorf("the stop does not name the table, the column's type and what to do: %v", stop)
	}
	sandboxtest.Exec(t, r.dstDB, "ALTER TABLE app.d MODIFY x DECIMAL(12,4)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}
