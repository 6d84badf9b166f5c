package binlog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// A schema change that fills existing rows with the time it runs —
// ADD COLUMN ... DEFAULT CURRENT_TIMESTAMP, and on MySQL 5.6 a plain
// ADD COLUMN ts TIMESTAMP, the table's first, which 5.6 makes DEFAULT
// CURRENT_TIMESTAMP — must give them the source's time, as a native
// replica does (its SQL thread runs the statement at the query event's
// timestamp: SET TIMESTAMP, with MariaDB's microseconds). Applied at the
// target's own time, every existing row differs in that column from the
// source: silently by default, and with compare_before_image the next
// change of any such row stops replication.
func TestReview15SchemaChangeTimeFillsRows(t *testing.T) {
	for _, compare := range []bool{false, true} {
		r := newRig(t)
		r.cfg.Replication.CompareBeforeImage = compare
		r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v INT)",
			"INSERT INTO app.t SELECT seq, seq FROM mysql.seq_1_to_10")
		run := r.run(binlog.RunOptions{})
		r.waitCaughtUp(run)
		// the replicator applies the change some time after the source ran
		// it, as it does under any backlog
		r.source("SET SESSION timestamp = UNIX_TIMESTAMP('2020-01-01 00:00:00'); " +
			"ALTER TABLE app.t ADD COLUMN at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6); SET SESSION timestamp = DEFAULT")
		time.Sleep(100 * time.Millisecond)
		r.source("UPDATE app.t SET v = v + 1 WHERE id = 1")
		select {
		case <-run.done:
			t.Fatalf("compare %v: replication ended: %v", compare, run.err)
		default:
		}
		r.waitCaughtUp(run)
		r.stopClean(run)
		got := r.assertSameQuery("SELECT id, at FROM app.t ORDER BY id")
		if len(got) > 0 && !strings.Contains(got[0], "2020-01-01") {
			t.Errorf("compare %v: rows filled at the target's time: %s", compare, got[0])
		}
	}
}
