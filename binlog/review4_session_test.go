package binlog_test

import (
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
)

// A schema change that fills a new column in the rows already there does
// so on the source with no row event: the target must compute the same
// values, so the statement must run with every setting of the source
// session that decides them (#16.5). sourceSession gives it sql_mode (bits
// 0-31 only), the character sets, time_zone and
// explicit_defaults_for_timestamp, but not:
//   - the statement's time (the event's timestamp, which a native replica
//     sets with SET TIMESTAMP): DEFAULT CURRENT_TIMESTAMP fills the old
//     rows with the time the target applied it — later by the lag;
//   - auto_increment_increment/offset (the event's Q_AUTO_INCREMENT; a
//     source in a master-master pair has 2): a new AUTO_INCREMENT column
//     numbers the old rows 1, 3, 5 … on the source, 1, 2, 3 … on the target;
//   - MariaDB's sql_mode bits above 31 (EMPTY_STRING_IS_NULL,
//     TIME_ROUND_FRACTIONAL): an empty-string DEFAULT is NULL on the source, empty on the
//     target; a DEFAULT with a fraction is rounded up on the source,
//     truncated on the target.
//
// Each leaves every old row different, silently.
func TestReview4DDLSessionSettingsThatFillRows(t *testing.T) {
	for _, c := range []struct{ name, ddl string }{
		{"statement time", "ALTER TABLE app.items ADD COLUMN created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP"},
		{"auto_increment_increment", "SET SESSION auto_increment_increment = 2; " +
			"ALTER TABLE app.items ADD COLUMN n INT NOT NULL AUTO_INCREMENT, ADD UNIQUE KEY (n)"},
		{"EMPTY_STRING_IS_NULL", "SET SESSION sql_mode = CONCAT(@@sql_mode, ',EMPTY_STRING_IS_NULL'); " +
			"ALTER TABLE app.items ADD COLUMN e VARCHAR(10) DEFAULT ''"},
		{"TIME_ROUND_FRACTIONAL", "SET SESSION sql_mode = CONCAT(@@sql_mode, ',TIME_ROUND_FRACTIONAL'); " +
			"ALTER TABLE app.items ADD COLUMN d DATETIME NOT NULL DEFAULT '2024-01-01 00:00:00.9'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ddlRig(t, config.DDLApply)
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.stopClean(run)
			r.source(c.ddl)
			time.Sleep(2 * time.Second) // replication lags behind, as it does
			run = r.run(binlog.RunOptions{})
			if !r.caughtUpOrStopped(run) {
				t.Logf("held: %v", run.err)
				return
			}
			r.stopClean(run)
			r.assertSameTable("app", "app", "items")
		})
	}
}
