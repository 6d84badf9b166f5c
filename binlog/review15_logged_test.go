package binlog_test

import (
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Under on_divergence: log with compare_before_image, a row that is on the
// target but differs from its before-image is recorded in the divergence
// table as "a row among these was missing": an operator reading it looks
// for a missing row that is there. The record must say what was found.
func TestReview15BeforeImageLoggedAsMissing(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.cfg.Replication.OnDivergence = config.DivergenceLog
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v INT, w VARCHAR(20))",
		"INSERT INTO app.t VALUES (1, 1, 'a'), (2, 2, 'b')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	sandboxtest.Exec(t, r.dstDB, "UPDATE app.t SET w = 'changed' WHERE id IN (1, 2)")
	r.source("UPDATE app.t SET v = 100 WHERE id = 1", "DELETE FROM app.t WHERE id = 2")
	r.waitCaughtUp(run)
	r.stopClean(run)
	got := sandboxtest.Text(t, r.dstDB, "SELECT problem FROM _switcharoo.divergence WHERE check_no IS NULL ORDER BY id")
	if len(got) != 2 {
		t.Fatalf("divergences recorded: %q, want the UPDATE and the DELETE", got)
	}
	for _, p := range got {
		if strings.Contains(p, "missing") || !strings.Contains(p, "before-image") {
			t.Errorf("recorded %q for a row that is present but differs from its before-image", p)
		}
	}
}

// Under on_divergence: log with compare_before_image, one UPDATE whose row
// is missing on the target is one divergence; it must be counted once
// (status and the metric count the divergence table's rows), not once by
// the before-image guard and again by the UPDATE's row count guard.
func TestReview15BeforeImageMissingRowLoggedOnce(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.cfg.Replication.OnDivergence = config.DivergenceLog
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v INT)", "INSERT INTO app.t VALUES (1, 1)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	sandboxtest.Exec(t, r.dstDB, "DELETE FROM app.t WHERE id = 1")
	r.source("UPDATE app.t SET v = 2 WHERE id = 1")
	r.waitCaughtUp(run)
	r.stopClean(run)
	if got := sandboxtest.Text(t, r.dstDB, "SELECT problem FROM _switcharoo.divergence WHERE check_no IS NULL ORDER BY id"); len(got) != 1 {
		t.Errorf("one missing row recorded as %d divergences: %q", len(got), got)
	}
}
