package cutover

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/faultproxy"
)

// review17: resume after a crash between the fence and stop-replication
// takes the global read lock again (restoreFence), under reaching. When
// that fails — the source stops answering switcharoo just after resume
// took its lease (here), or, on a MySQL 5.6 master, FLUSH TABLES WITH
// READ LOCK times out behind a long SELECT (MariaDB 10.11 no longer waits
// for running reads, so the sandbox cannot show that one) — the error
// comes back from Resume as it is, without an exit code: the CLI exits 3,
// "whatever had been done was undone" (internal/exitcode), while the
// source is fenced and the application stopped. runbook.md promises
// "A `resume` or `rollback` started while a server is unreachable
// refuses, changing nothing" (exit 2), and the message should say that
// resume changed nothing and to run it again once switcharoo reaches the
// source — as takeLease's refusal does.
func TestReview17ResumeUnreachableExitCode(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	src := rootDB(t, sb.Source)
	proxy := faultproxy.Start(t, sb.Config.Source.Host, sb.Config.Source.Port)
	cfg := copyConfig(sb)
	cfg.Source.Host, cfg.Source.Port = faultproxy.Host, proxy.Port
	cfg.Source.ConnectTimeout = time.Second
	rb := newRunbook(t, sb, cfg, func(step string, at hookPoint) bool {
		return step == "catch-up" && at == afterStep // the process dies
	})
	if _, err := rb.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the simulated crash", err)
	}
	rb.Close()
	resume := newRunbook(t, sb, cfg, nil)
	// The approvals come after the lease and before the fence is
	// restored: the source stops answering switcharoo there.
	resume.opts.Yes = false
	resume.opts.Approve = func(context.Context, string) (bool, error) {
		proxy.Stall(t)
		return true, nil
	}
	_, err := bounded(t, "resume", func() { proxy.Heal(t) }, func() (*Report, error) { return resume.Resume(ctx) })
	proxy.Heal(t)
	if err == nil {
		t.Fatalf("resume went on with the source unreachable")
	}
	if code := exitcode.Of(err); code != exitcode.Usage && code != exitcode.NeedsHuman {
		t.Errorf("resume that could not reach the source to restore its fence exits %d (Failed: \"whatever had been done was undone\"), "+
			"but the source is fenced and the application stopped: want %d (refused, changing nothing) or %d", code, exitcode.Usage, exitcode.NeedsHuman)
	}
	if !strings.Contains(err.Error(), "run it again") && !strings.Contains(err.Error(), "`switcharoo resume`") {
		t.Errorf("the error does not say what to do (resume changed nothing; run it again once switcharoo reaches the source): %v", err)
	}
	if ro := query(t, src, "SELECT @@global.read_only"); ro != "1" {
		t.Errorf("the source after the failed resume: read_only %s", ro)
	}
	stopWatch()
}
