package binlog_test

import (
	"fmt"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// A multi-row DELETE gathers up to 1000 rows whatever their size (its own
// text is only their keys). With compare_before_image its guard counts
// the rows matching every before-image, written as literals: the guard of
// a DELETE of many rows of moderate size (each well under the big-row
// limit, so none is sent as parameters) outgrows max_allowed_packet, and
// a change any native replica applies cannot be applied.
func TestReview15BeforeImageMultiRowDeleteOutgrowsPacket(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	sandboxtest.Exec(t, r.dstDB, "SET GLOBAL max_allowed_packet = 1048576") // 4 MB on MySQL 5.6; the limits scale with it
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, body TEXT CHARACTER SET latin1)")
	for i := range 10 {
		r.source(fmt.Sprintf("INSERT INTO app.t SELECT seq, REPEAT('x', 20000) FROM mysql.seq_%d_to_%d", i*10+1, i*10+10))
	}
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("DELETE FROM app.t WHERE id <= 100") // 100 rows of 20 KB: 2 MB raw, 4 MB as literals
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}
