package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// With compare_before_image, an UPDATE's before-image guard is sent with
// its text values as parameters, the key's included: k =
// CONVERT(CAST(? AS BINARY) USING utf8mb4). CONVERT's result has its
// character set's default collation and the same coercibility as the
// column (IMPLICIT), so a text key in any other collation —
// utf8mb4_unicode_ci, latin1_bin, utf8_unicode_ci, all common on MySQL
// 5.6 — makes the guard "Illegal mix of collations" (1267), and every
// UPDATE of such a table stops replication.
func TestReview15BeforeImageTextKeyInNonDefaultCollation(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.u (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci PRIMARY KEY, v INT)",
		"CREATE TABLE app.l (k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL, v INT, UNIQUE KEY (k))",
		"INSERT INTO app.u VALUES ('a', 1), ('b', 2)",
		"INSERT INTO app.l VALUES ('a', 1), ('b', 2)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("UPDATE app.u SET v = v + 1 WHERE k = 'a'", "UPDATE app.l SET v = v + 1 WHERE k = 'a'",
		"DELETE FROM app.u WHERE k = 'b'", "DELETE FROM app.l WHERE k = 'b'")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}
