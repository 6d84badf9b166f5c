package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// A cascade is not in the binlog: the target makes its own. With
// compare_before_image, a later change of a cascaded child carries the
// cascaded values in its before-image, which the target's own cascade
// must have produced: ON UPDATE CASCADE, ON DELETE SET NULL, ON UPDATE SET
// NULL, a self-referencing ON DELETE CASCADE, a child with an ON UPDATE
// CURRENT_TIMESTAMP column, and the same parents changed with
// foreign_key_checks off (no cascade on either side).
func TestReview15BeforeImageAfterCascades(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.p (id INT PRIMARY KEY, k VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, UNIQUE KEY (k))",
		"CREATE TABLE app.c (id INT PRIMARY KEY, pid INT NULL, pk VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL, v INT NOT NULL DEFAULT 0,"+
			" at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),"+
			" FOREIGN KEY (pid) REFERENCES app.p (id) ON UPDATE CASCADE ON DELETE SET NULL,"+
			" FOREIGN KEY (pk) REFERENCES app.p (k) ON UPDATE SET NULL ON DELETE CASCADE)",
		"CREATE TABLE app.tree (id INT PRIMARY KEY, parent INT NULL, v INT NOT NULL DEFAULT 0, FOREIGN KEY (parent) REFERENCES app.tree (id) ON DELETE CASCADE)",
		"INSERT INTO app.p VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')",
		"INSERT INTO app.c (id, pid, pk) VALUES (10, 1, 'a'), (11, 1, 'b'), (20, 2, 'b'), (30, 3, 'c'), (40, 4, 'd'), (50, 5, 'e')",
		"INSERT INTO app.tree VALUES (1, NULL, 0), (2, 1, 0), (3, 2, 0), (4, NULL, 0), (5, 4, 0)",
	)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(
		"UPDATE app.p SET id = 100 WHERE id = 1",          // c 10, 11: pid 1 -> 100
		"UPDATE app.c SET v = v + 1 WHERE pid = 100",      // before-images carry the cascade
		"UPDATE app.p SET k = 'B' WHERE id = 2",           // c 11, 20: pk 'b' -> NULL (case only, bytes differ)
		"UPDATE app.c SET v = v + 1 WHERE id IN (11, 20)", //
		"DELETE FROM app.p WHERE id = 3",                  // c 30: pid -> NULL, pk 'c' -> cascade delete
		"DELETE FROM app.p WHERE id = 4",                  // c 40 deleted by pk cascade
		"UPDATE app.c SET v = v + 1",                      //
		"DELETE FROM app.tree WHERE id = 1",               // 2, 3 cascade
		"UPDATE app.tree SET v = v + 1",                   //
		noChecks+"UPDATE app.p SET id = 500 WHERE id = 5", // no cascade: c 50 keeps pid 5
		noChecks+"DELETE FROM app.tree WHERE id = 4",      // no cascade: 5 stays
		"UPDATE app.c SET v = v + 1", "UPDATE app.tree SET v = v + 1",
		"START TRANSACTION; UPDATE app.p SET id = 101 WHERE id = 100; UPDATE app.c SET v = v + 10 WHERE pid = 101; DELETE FROM app.c WHERE pid = 101; COMMIT",
	)
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}
