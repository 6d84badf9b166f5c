package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// Old-format temporal columns (tables created before MySQL 5.6.4; MariaDB
// with mysql56_temporal_format=OFF) as keys and as compared columns with
// compare_before_image: a negative TIME, zero and maximal DATETIME and
// TIMESTAMP (the source's zone is not UTC) must match their own
// before-images.
func TestReview15BeforeImageOldTemporalFormats(t *testing.T) {
	r := newRig(t, "mysql56_temporal_format=OFF", "sql_mode=''", "default_time_zone='+05:30'")
	r.cfg.Replication.CompareBeforeImage = true
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.old (t TIME NOT NULL, dt DATETIME, ts TIMESTAMP NULL DEFAULT NULL, d DATE, n INT NOT NULL DEFAULT 0, PRIMARY KEY (t))",
		"CREATE TABLE app.oldk (dt DATETIME NOT NULL, ts TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00', n INT NOT NULL DEFAULT 0, PRIMARY KEY (dt, ts))",
		"INSERT INTO app.old (t, dt, ts, d) VALUES ('-01:00:00', '1999-12-31 23:59:59', '2001-02-03 04:05:06', '1999-12-31'), "+
			"('-838:59:59', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00'), ('838:59:59', '9999-12-31 23:59:59', '2038-01-19 08:44:07', '9999-12-31')",
		"INSERT INTO app.oldk (dt, ts) VALUES ('0000-00-00 00:00:00', '0000-00-00 00:00:00'), ('2021-03-28 02:30:00', '2021-10-31 02:30:00')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("INSERT INTO app.old (t, dt, ts, d) VALUES ('-00:00:01', '2000-01-01 00:00:00', '1970-01-01 05:30:01', '2000-02-29'), ('-12:34:56', NULL, NULL, NULL)",
		"INSERT INTO app.oldk (dt, ts) VALUES ('1000-01-01 00:00:00', '1970-01-01 05:30:01')",
		"UPDATE app.old SET n = n + 1", "UPDATE app.oldk SET n = n + 1",
		"UPDATE app.old SET t = '-100:00:00' WHERE t = '-01:00:00'",
		"DELETE FROM app.old WHERE t < '00:00:00'", "DELETE FROM app.oldk")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}
