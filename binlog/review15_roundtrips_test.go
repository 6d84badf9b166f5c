package binlog_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// With compare_before_image, rowStatement calls guardCount(e, 1, true):
// the guard of every UPDATE is written with its text and binary values as
// parameters, whatever the row's size, so it cannot ride in the batch's
// multi-statement packet. Each UPDATE of a table with a text column costs
// a prepared statement of its own — SET character_set_client, PREPARE,
// EXECUTE, CLOSE, SET back: five round trips per row. Over the VPN of the
// reference migration (10–30 ms) that is 50–150 ms per updated row, a few
// rows a second. Small rows' guards should be literals in the batch, as
// their statements are (param only for a big row).
func TestReview15BeforeImageGuardsAreNotPreparedPerRow(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, name VARCHAR(40), v INT)",
		"INSERT INTO app.t SELECT seq, CONCAT('name', seq), seq FROM mysql.seq_1_to_500")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	prepared := func() int64 {
		var name string
		var n int64
		if err := r.dstDB.QueryRow("SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'").Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := prepared()
	start := time.Now()
	r.source("UPDATE app.t SET v = v + 1") // one rows event of 500 small rows
	r.waitCaughtUp(run)
	elapsed := time.Since(start)
	r.stopClean(run)
	r.assertSame("app")
	if n := prepared() - before; n > 10 {
		t.Errorf("500 small row updates prepared %d statements on the target (%s): one per row", n, elapsed)
	}
	_ = fmt.Sprint
}
