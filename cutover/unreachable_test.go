package cutover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/faultproxy"
	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// A server made unreachable to switcharoo only, during the night (#17):
// switcharoo's connections to each server go through a proxy that the
// test stalls (bytes dropped both ways, sockets left open, as a failing
// VPN does); the application — the sandbox's web service and cron, and
// a writer on each server that nobody stops — reaches the servers
// directly throughout. Throughout, at most one side accepts application
// writes (watchPrimaries), and in the end every write the application
// saw acknowledged is on the side that is primary.
//
//   - The source, as verify begins (the source fenced, caught up): the
//     fence cannot be checked nor the step done, and the undo cannot
//     unfence a source it cannot reach. The night stops within bounds
//     (exit 4), the source fenced and the target still closed; once the
//     proxy heals, rollback brings everything back to the source.
//   - The target, as unfence-target opens it: the statement reaches it
//     and runs, its reply is lost, then nothing reaches it any more. The
//     step fails; its undo cannot fence the target again, so the undo
//     stops there (exit 4), the source fenced: the target, open, is the
//     one primary, and the application's writer on it goes on. A rollback
//     while the target is unreachable refuses, changing nothing (exit 2).
//     Healed, rollback brings everything back to the source, the writes
//     the target took included.
//   - The source at a step boundary (catch-up done): the one-writable
//     check cannot read it, and the night stops (exit 4); healed, resume
//     takes the fence again and finishes the night on the target.
//
// What each case catches (each tried once by removing it):
//   - the bound on a step's wait for a server (reaching, in do and
//     undoAll): without it the first case hangs in holdFence's
//     takeGlobalLock, forever; the runbook must return within
//     runbookBound, or the test fails.
//   - `break` after a failed undo in undoAll: without it the undo in the
//     second case goes on past the failed refence of the target to
//     unfence the source (targetStandsStill has no refenced position to
//     check) while the target is open: watchPrimaries sees both open.
func TestServerUnreachableToSwitcharoo(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)
	srcProxy := faultproxy.Start(t, sb.Config.Source.Host, sb.Config.Source.Port)
	dstProxy := faultproxy.Start(t, sb.Config.Target.Host, sb.Config.Target.Port)
	cfg := copyConfig(sb)
	cfg.Source.Host, cfg.Source.Port = faultproxy.Host, srcProxy.Port
	cfg.Target.Host, cfg.Target.Port = faultproxy.Host, dstProxy.Port
	// switcharoo takes a server that answers nothing for three times
	// this as unreachable.
	cfg.Source.ConnectTimeout, cfg.Target.ConnectTimeout = time.Second, time.Second
	for _, m := range []*sandbox.MariaDB{sb.Source, sb.Target} {
		startDirectWriter(t, sb, m)
	}
	ctx := context.Background()
	healAll := func() { srcProxy.Heal(t); dstProxy.Heal(t) }

	// stallAt is a hook that stalls p at a step's point, once.
	stallAt := func(p *faultproxy.Proxy, step string, point hookPoint) func(string, hookPoint) bool {
		var once sync.Once
		return func(s string, at hookPoint) bool {
			if s == step && at == point {
				once.Do(func() { p.Stall(t) })
			}
			return false
		}
	}
	fenced := func(t *testing.T, when string) {
		t.Helper()
		if ro := query(t, src, "SELECT @@global.read_only"); ro != "1" {
			t.Fatalf("%s: the source is not fenced (read_only %s)", when, ro)
		}
	}
	rollback := func(t *testing.T) (*Report, error) {
		return bounded(t, "rollback", healAll, func() (*Report, error) { return newRunbook(t, sb, cfg, nil).Rollback(ctx) })
	}
	// healedRollback heals the proxies and rolls back: everything on the
	// source again, every acknowledged write there.
	healedRollback := func(t *testing.T) {
		t.Helper()
		healAll()
		if _, err := rollback(t); err != nil {
			t.Fatalf("rollback once switcharoo reaches both servers: %v", err)
		}
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
	}

	t.Run("source while verifying", func(t *testing.T) {
		rb := newRunbook(t, sb, cfg, stallAt(srcProxy, "verify", beforeApply))
		report, err := bounded(t, "run", healAll, func() (*Report, error) { return rb.Run(ctx) })
		wantStop(t, err, report, "undo failed", "the source", "has answered nothing")
		fenced(t, "the night stopped")
		if ro := query(t, dst, "SELECT @@global.read_only"); ro != "1" {
			t.Fatalf("the night stopped before unfence-target, but the target is open (read_only %s)", ro)
		}
		healedRollback(t)
	})

	t.Run("target as it opens", func(t *testing.T) {
		var once sync.Once
		rb := newRunbook(t, sb, cfg, func(step string, at hookPoint) bool {
			switch {
			case step == "unfence-target" && at == beforeApply:
				dstProxy.DropReplies(t)
			case step == undoHook+"unfence-target" && at == beforeApply:
				once.Do(func() { dstProxy.DropRequests(t) })
			}
			return false
		})
		report, err := bounded(t, "run", healAll, func() (*Report, error) { return rb.Run(ctx) })
		wantStop(t, err, report, "undo failed", "step unfence-target failed (the target", "undo unfence-target: the target", "has answered nothing")
		fenced(t, "the undo stopped")
		if ro := query(t, dst, "SELECT @@global.read_only"); ro != "0" {
			t.Fatalf("the target's unfence did not run (read_only %s): this case needs it open", ro)
		}
		writesLand(t, sb, sb.Target) // the one primary, for its own clients
		before := observe(t, sb)
		_, err = rollback(t)
		var refused *RefusedError
		if !errors.As(err, &refused) || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "run it again once switcharoo reaches the target") {
			t.Fatalf("rollback with the target unreachable: %v (exit %d), want a refusal (exit 2) naming the target", err, exitcode.Of(err))
		}
		if after := observe(t, sb); after != before {
			t.Fatalf("a refused rollback changed the world:\nbefore %+v\nafter  %+v", before, after)
		}
		healedRollback(t)
	})

	t.Run("source at a step boundary", func(t *testing.T) {
		rb := newRunbook(t, sb, cfg, stallAt(srcProxy, "catch-up", afterStep))
		report, err := bounded(t, "run", healAll, func() (*Report, error) { return rb.Run(ctx) })
		wantStop(t, err, report, "stopped", "cannot tell whether the source accepts application writes", "has answered nothing")
		fenced(t, "the night stopped")
		healAll()
		report, err = bounded(t, "resume", healAll, func() (*Report, error) { return newRunbook(t, sb, cfg, nil).Resume(ctx) })
		if err != nil {
			t.Fatalf("resume once the source is reachable: %v", err)
		}
		checkReport(t, report, "run", "finished", nil)
		onTarget(t, sb)
		noneLost(t, sb, sb.Target)
	})
	if looks := stopWatch(); looks < 100 {
		t.Errorf("the one-writable watch looked only %d times", looks)
	}
}

// runbookBound is how long a command of the runbook may take with a
// server unreachable: its steps' bounds, with room to spare; never
// forever.
const runbookBound = 3 * time.Minute

// bounded runs a runbook command, failing t if it has not returned within
// runbookBound; heal then unblocks it, so that the test can end.
func bounded(t *testing.T, what string, heal func(), f func() (*Report, error)) (*Report, error) {
	t.Helper()
	type result struct {
		r   *Report
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		r, err := f()
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		t.Logf("%s returned after %s: %v", what, time.Since(start).Round(100*time.Millisecond), res.err)
		return res.r, res.err
	case <-time.After(runbookBound):
		heal()
		<-done
		t.Fatalf("%s hung for %s on a stalled connection", what, runbookBound)
		return nil, nil
	}
}

// wantStop checks that a command stopped for a person (exit 4), with its
// report's outcome, naming what it could not reach.
func wantStop(t *testing.T, err error, report *Report, outcome string, texts ...string) {
	t.Helper()
	var human *HumanError
	if !errors.As(err, &human) || exitcode.Of(err) != exitcode.NeedsHuman {
		t.Fatalf("got %v (exit %d), want the night stopped for a person (exit 4)", err, exitcode.Of(err))
	}
	for _, text := range texts {
		if !strings.Contains(err.Error(), text) {
			t.Errorf("the error lacks %q:\n%v", text, err)
		}
	}
	if report == nil || report.Outcome != outcome {
		t.Errorf("report %+v, want outcome %q", report, outcome)
	}
}

// startDirectWriter runs, until t ends, a writer of the application that
// reaches m directly (not through DNS, not through switcharoo's proxy) and
// nobody stops: every write m acknowledges goes to the sandbox's
// acknowledgement log, which noneLost reads.
func startDirectWriter(t *testing.T, sb *Sandbox, m *sandbox.MariaDB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- sandbox.RunWriter(ctx, sandbox.WriterOptions{
			Name: fmt.Sprintf("direct-%d", m.ServerID), Host: m.Addr, Port: m.Port,
			User: sb.Config.Checks.SQLProbe.User, Password: sb.Config.Checks.SQLProbe.Password.Reveal(), AckFile: sb.AckFile,
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("direct writer to server %d: %v", m.ServerID, err)
		}
	})
}
