package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// A load written by a session with foreign_key_checks and unique_checks
// off into empty tables (MariaDB then inserts in bulk on the target too),
// with updates and deletes of the loaded rows in the same transaction and
// batch: the guards (turned on around the checks) must see the rows the
// load inserted, with compare_before_image on and off.
func TestReview15EmptyTableLoadUnderChecksOff(t *testing.T) {
	for _, compare := range []bool{false, true} {
		r := newRig(t)
		r.cfg.Replication.CompareBeforeImage = compare
		r.source("CREATE DATABASE app",
			"CREATE TABLE app.p (id INT PRIMARY KEY, v VARCHAR(20), u INT, UNIQUE KEY (u))",
			"CREATE TABLE app.c (id INT PRIMARY KEY, pid INT, v INT, FOREIGN KEY (pid) REFERENCES app.p (id))",
			"CREATE TABLE app.n (id INT PRIMARY KEY, v INT)")
		run := r.run(binlog.RunOptions{})
		r.waitCaughtUp(run)
		r.source(noChecks+"START TRANSACTION;"+
			" INSERT INTO app.c SELECT seq, seq % 50 + 1, seq FROM mysql.seq_1_to_200;"+
			" INSERT INTO app.p SELECT seq, CONCAT('p', seq), seq FROM mysql.seq_1_to_50;"+
			" INSERT INTO app.n SELECT seq, seq FROM mysql.seq_1_to_100;"+
			" UPDATE app.p SET v = 'changed', u = u + 1000 WHERE id <= 10;"+
			" UPDATE app.c SET v = -v WHERE id % 3 = 0;"+
			" UPDATE app.n SET v = -v WHERE id % 3 = 0;"+
			" DELETE FROM app.c WHERE id % 7 = 0;"+
			" DELETE FROM app.n WHERE id % 7 = 0;"+
			" DELETE FROM app.p WHERE id = 50;"+
			" INSERT INTO app.p VALUES (51, 'late', 51);"+
			" COMMIT",
			"UPDATE app.n SET v = v + 1", "DELETE FROM app.c WHERE id > 150")
		r.waitCaughtUp(run)
		r.stopClean(run)
		r.assertSame("app")
	}
}
