package cutover

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

var nightSteps = []string{"preflight", "ttl", "stop-app", "fence-source", "catch-up", "verify", "stop-replication",
	"unfence-target", "deploy", "dns-swap", "start-app", "health", "finish"}

// The night on the sandbox: a plan that changes nothing and a hash that
// guards it; the run, with its report; writes on the new side; the
// rollback that brings every one of them back to the old side; then a
// rehearsal (run and rollback) on the same sandbox. Throughout, at most
// one server accepts application writes.
func TestNight(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	rb := newRunbook(t, sb, sb.Config, nil)
	journal := filepath.Join(sb.Config.StateDir, journalFile)

	before := snapshot(t, sb)
	steps, hash, err := rb.Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	var names []string
	for _, s := range steps {
		names = append(names, s.Step)
		if s.Plan == "" {
			t.Errorf("step %s has no plan", s.Step)
		}
	}
	if !slices.Equal(names, nightSteps) {
		t.Fatalf("plan steps %v, want %v", names, nightSteps)
	}
	if !strings.Contains(steps[9].Plan, "db.example.test.") || !strings.Contains(steps[9].Plan, "127.0.0.3") {
		t.Errorf("the swap's plan does not name the record and its new value: %s", steps[9].Plan)
	}
	if _, again, err := rb.Plan(ctx); err != nil || again != hash {
		t.Errorf("planning twice gave hashes %s and %s (%v)", hash, again, err)
	}
	if after := snapshot(t, sb); after != before {
		t.Fatalf("plan changed the world:\nbefore %+v\nafter  %+v", before, after)
	}
	if _, err := os.Stat(journal); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("plan wrote a journal: %v", err)
	}

	rb.opts.PlanHash = "0123456789abcdef"
	_, err = rb.Run(ctx)
	var refused *RefusedError
	if !errors.As(err, &refused) || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "the plan changed") {
		t.Fatalf("run with another plan's hash: %v (exit %d), want a refusal (exit 2)", err, exitcode.Of(err))
	}
	if after := snapshot(t, sb); after != before {
		t.Fatalf("a refused run changed the world:\nbefore %+v\nafter  %+v", before, after)
	}

	rb.opts.PlanHash = hash
	var began []string
	rb.hook = journalFirst(t, rb, &began)
	report, err := rb.Run(ctx)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkReport(t, report, "run", "finished", nightSteps)
	if !slices.Equal(began, nightSteps[1:]) { // preflight acts on nothing, and is not journaled
		t.Errorf("the journal was looked at as %v began, want %v", began, nightSteps[1:])
	}
	onTarget(t, sb)
	if st := forwardStatus(t, sb); st.State != binlog.StateStopped {
		t.Errorf("forward replication after the night: %s, want stopped", st.State)
	}
	noneLost(t, sb, sb.Target)
	// Run again by mistake: refused by the preflight (DNS names the target
	// now), with no trace in the journal: the night can still be rolled back.
	if _, err := newRunbook(t, sb, sb.Config, nil).Run(ctx); exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "dns: ") {
		t.Errorf("a second run after the night: %v (exit %d), want a preflight refusal", err, exitcode.Of(err))
	}
	if last, err := LastRun(sb.Config.StateDir); err != nil || last.Run != report.Run || last.State != "finished" {
		t.Errorf("after a refused run, the last run is %+v (%v), want %s finished", last, err, report.Run)
	}

	rollback, undos := newRunbook(t, sb, sb.Config, nil), []string(nil)
	rollback.hook = journalFirst(t, rollback, &undos)
	back, err := rollback.Rollback(ctx)
	if err != nil {
		t.Fatalf("rollback: %v", err)
	}
	checkReport(t, back, "rollback", "rolled back", nil)
	if len(undos) == 0 {
		t.Errorf("the journal was not looked at as the undos began")
	}
	onSource(t, sb)
	noneLost(t, sb, sb.Source)
	if n := query(t, rootDB(t, sb.Source), "SELECT COUNT(*) FROM app.writes WHERE server_id = 2"); n == "0" {
		t.Errorf("no write taken by the new side reached the old side")
	}
	noneLost(t, sb, sb.Target) // forward replication runs again

	run, back, err := newRunbook(t, sb, sb.Config, nil).Rehearse(ctx)
	if err != nil {
		t.Fatalf("rehearse: %v", err)
	}
	checkReport(t, run, "run", "finished", nightSteps)
	checkReport(t, back, "rehearse-rollback", "rolled back", nil)
	onSource(t, sb)
	noneLost(t, sb, sb.Source)
	if looks := stopWatch(); looks < 100 {
		t.Errorf("the primaries were looked at only %d times", looks)
	}
}

// journalFirst is a test hook that checks N5 (docs/model.md) as each step
// or undo of rb begins, counting them in began: its intent is the run's
// last event in the journal file, the probe's aside, and every event of
// the run there has been synced. A step that acts before its intent is
// journaled, or a journal that does not fsync, fails here.
func journalFirst(t *testing.T, rb *Runbook, began *[]string) func(string, hookPoint) bool {
	baseline := new(int)
	*baseline = -1
	return func(step string, at hookPoint) bool {
		if at != beforeApply {
			return false
		}
		*began = append(*began, step)
		events, err := readJournal(rb.cfg.StateDir)
		if err != nil {
			t.Errorf("%s: read the journal: %v", step, err)
			return false
		}
		var run []Event
		for _, e := range events {
			if e.Run == rb.run {
				run = append(run, e)
			}
		}
		want := Event{Step: step, Kind: evIntent}
		if name, ok := strings.CutPrefix(step, undoHook); ok {
			want = Event{Step: name, Kind: evUndoIntent}
		}
		last := slices.DeleteFunc(slices.Clone(run), func(e Event) bool { return e.Kind == evProbe })
		if len(last) == 0 || last[len(last)-1].Step != want.Step || last[len(last)-1].Kind != want.Kind {
			t.Errorf("%s begins, but the journal's last event is %+v, want its %s", step, last[len(last)-1:], want.Kind)
		}
		// Events an earlier process wrote (a rollback's run is the
		// night's) are on disk already; every one this journal wrote
		// must have been synced.
		unsynced := len(run) - rb.j.syncedEvents()
		if *baseline < 0 {
			*baseline = unsynced
		}
		if unsynced != *baseline {
			t.Errorf("%s begins with %d events of the run in the journal that this runbook did not sync, %d before", step, unsynced, *baseline)
		}
		return false
	}
}

// Without reverse replication nothing brings the target's writes back: an
// undo goes back only when a fenced verify finds both sides equal (a
// deploy whose tasks never wrote), and otherwise stops for a person, both
// sides fenced, rather than lose what the target took.
func TestUndoWithoutReverse(t *testing.T) {
	sb := startSandbox(t)
	sb.Config.Cutover.ReverseReplication = false
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()

	cfg := copyConfig(sb)
	cfg.App.Deploy[0].Environment = append(cfg.App.Deploy[0].Environment, config.EnvVar{Name: "DB_PORT", Value: "not-a-port"})
	_, err := newRunbook(t, sb, cfg, nil).Run(ctx)
	var u *UndoneError
	if !errors.As(err, &u) || u.Step != "deploy" {
		t.Fatalf("a deploy that wrote nothing: %v, want it undone", err)
	}
	onSource(t, sb)

	rb := newRunbook(t, sb, sb.Config, func(s string, at hookPoint) bool {
		if s == "dns-swap" && at == beforeApply {
			writesLand(t, sb, sb.Target) // the redeployed web service writes there
			sb.Route53.DenyChanges(1)
		}
		return false
	})
	_, err = rb.Run(ctx)
	var human *HumanError
	if !errors.As(err, &human) || exitcode.Of(err) != exitcode.NeedsHuman || !strings.Contains(err.Error(), "either the target holds writes no replication brought back") {
		t.Fatalf("an undo over the target's writes: %v (exit %d), want a stop for a person", err, exitcode.Of(err))
	}
	if w := observe(t, sb); w.SourceOpen || w.TargetOpen {
		t.Errorf("after the stopped undo: %+v, want both sides fenced", w)
	}
	stopWatch()
}

// The night against an Aurora-like target, where nobody may change
// read_only: the target is closed to the application by locking its
// account (cutover.app_users), opened by unlocking it, and read_only is
// never touched.
func TestNightAccountLock(t *testing.T) {
	sb := startSandbox(t)
	dst := rootDB(t, sb.Target)
	exec1(t, dst, "ALTER USER 'app'@'%' ACCOUNT LOCK", "SET GLOBAL read_only = OFF")
	sb.Config.Cutover.AppUsers = []string{"app"}
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	onSource(t, sb)

	report, err := newRunbook(t, sb, sb.Config, nil).Run(ctx)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkReport(t, report, "run", "finished", nightSteps)
	onTarget(t, sb)
	noneLost(t, sb, sb.Target)
	if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	onSource(t, sb)
	noneLost(t, sb, sb.Source)
	if ro := query(t, dst, "SELECT @@global.read_only"); ro != "0" {
		t.Errorf("the target's read_only was changed to %s", ro)
	}
	stopWatch()
}

// checkReport checks a report's outcome, its steps (when given) and its
// files, and that the probe measured the switch.
func checkReport(t *testing.T, r *Report, kind, outcome string, steps []string) {
	t.Helper()
	if r == nil {
		t.Fatalf("no %s report", kind)
	}
	if r.Kind != kind || r.Outcome != outcome {
		t.Errorf("report: %s %s, want %s %s", r.Kind, r.Outcome, kind, outcome)
	}
	if steps != nil {
		var got []string
		for _, s := range r.Steps {
			got = append(got, s.Step)
			if s.Result != "done" || s.End.Before(s.Start) {
				t.Errorf("report step %+v", s)
			}
		}
		if !slices.Equal(got, steps) {
			t.Errorf("report steps %v, want %v", got, steps)
		}
	}
	if r.Writes == nil || r.Writes.WindowMS <= 0 || r.Writes.DNSCacheMS != 1000 || r.Writes.DNSTTLRead != "db.example.test. A 1s" {
		t.Errorf("write unavailability not measured: %+v", r.Writes)
	}
	for _, f := range []string{r.Markdown, r.JSON} {
		if b, err := os.ReadFile(f); err != nil || !strings.Contains(string(b), r.Run) {
			t.Errorf("report file %s: %v", f, err)
		}
	}
}

// The orchestrator dies inside every step (after it acted, before its
// result is journaled) and at every step boundary, one death per process;
// each time a new process resumes from the journal. The night ends as
// an uninterrupted one does, nothing lost, never two primaries. Then the
// rollback dies inside and after every undo, each time taken up by
// another rollback, and ends with the application on the source.
func TestCrashAndResume(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	type crash struct {
		step string
		at   hookPoint
	}
	var crashes []crash
	// The preflight passes before anything is journaled: the first step a
	// crash can interrupt is the next.
	for _, s := range nightSteps[1:] {
		crashes = append(crashes, crash{s, insideStep}, crash{s, afterStep})
	}
	next := 0
	hook := func(step string, at hookPoint) bool {
		if next < len(crashes) && crashes[next] == (crash{step, at}) {
			next++
			return true
		}
		return false
	}
	var report *Report
	var err error
	for process := 0; ; process++ {
		rb := newRunbook(t, sb, sb.Config, hook)
		if process == 0 {
			report, err = rb.Run(ctx)
		} else {
			report, err = rb.Resume(ctx)
		}
		rb.Close() // the dead process's connections, and its global lock, go
		if !errors.Is(err, errCrash) {
			break
		}
		if process > 2*len(crashes) {
			t.Fatalf("still crashing after %d processes", process)
		}
	}
	if err != nil {
		t.Fatalf("the last resume: %v", err)
	}
	if next != len(crashes) {
		t.Fatalf("only %d of %d crashes happened", next, len(crashes))
	}
	if report.Outcome != "finished" {
		t.Fatalf("outcome %s", report.Outcome)
	}
	sandboxtest.Count(t, "runbook process deaths, at and inside every step (in-process)", int64(len(crashes)))
	onTarget(t, sb)
	noneLost(t, sb, sb.Target)
	if _, err := newRunbook(t, sb, sb.Config, nil).Resume(ctx); exitcode.Of(err) != exitcode.Usage {
		t.Errorf("resume after a finished night: %v, want a refusal", err)
	}

	// Then the rollback dies inside and after every undo, and each time
	// another rollback takes it up.
	crashes, next = nil, 0
	for _, s := range []string{"dns-swap", "deploy", "unfence-target", "stop-replication", "fence-source", "stop-app"} {
		crashes = append(crashes, crash{undoHook + s, insideStep}, crash{undoHook + s, afterStep})
	}
	for process := 0; ; process++ {
		rb := newRunbook(t, sb, sb.Config, hook)
		report, err = rb.Rollback(ctx)
		rb.Close()
		if !errors.Is(err, errCrash) {
			break
		}
		if process > 2*len(crashes) {
			t.Fatalf("the rollback still crashing after %d processes", process)
		}
	}
	if err != nil || report.Outcome != "rolled back" {
		t.Fatalf("the last rollback: %v", err)
	}
	if next != len(crashes) {
		t.Fatalf("only %d of %d rollback crashes happened", next, len(crashes))
	}
	sandboxtest.Count(t, "runbook process deaths, at and inside every undo of a rollback (in-process)", int64(len(crashes)))
	onSource(t, sb)
	noneLost(t, sb, sb.Source)
	stopWatch()
}

// A preflight refusal changes nothing. A fault injected in each step:
// before the DNS swap the night is undone
// (exit 3) and the application runs on the source again, ready for another
// night; after the swap (health) it stops for a person (exit 4), resume
// finishes the night once the cause is fixed, and a rollback brings
// everything back. Last, an interrupt pauses the night at a
// step boundary, and resume finishes it.
func TestFailures(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)

	// undone runs a night with inject called before step injectAt acts,
	// and checks that step failed, with want in the error, and all undone.
	undone := func(t *testing.T, cfg *config.Config, injectAt, step, want string, inject func()) {
		t.Helper()
		rb := newRunbook(t, sb, cfg, func(s string, at hookPoint) bool {
			if s == injectAt && at == beforeApply {
				inject()
			}
			return false
		})
		report, err := rb.Run(ctx)
		var u *UndoneError
		if !errors.As(err, &u) || u.Step != step || exitcode.Of(err) != exitcode.Failed || !strings.Contains(err.Error(), want) {
			t.Fatalf("want step %s undone (exit 3) with %q, got %v (exit %d)", step, want, err, exitcode.Of(err))
		}
		if report == nil || report.Outcome != "undone" {
			t.Fatalf("report: %+v", report)
		}
		var undos []string
		for _, s := range report.Steps {
			if s.Undo {
				undos = append(undos, s.Step)
			}
		}
		t.Logf("undone: %v", undos)
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
	}

	t.Run("preflight", func(t *testing.T) {
		// Bad server state is refused with every problem at once, before
		// anything changes or is journaled: an application account missing
		// on the target, a statement running long on the source.
		cfg := copyConfig(sb)
		cfg.Cutover.AppUsers = []string{"ghost"}
		cfg.Cutover.LongQuery = time.Second
		conn, err := src.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		id := 0
		if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
			t.Fatal(err)
		}
		sleeping := make(chan error, 1)
		go func() { _, err := conn.ExecContext(ctx, "SELECT SLEEP(60)"); sleeping <- err }()
		waitFor(t, "the long statement", 10*time.Second, func() (bool, string) {
			n := query(t, src, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND TIME >= 1", id)
			return n == "1", n
		})
		before := snapshot(t, sb)
		_, err = newRunbook(t, sb, cfg, nil).Run(ctx)
		exec1(t, src, fmt.Sprintf("KILL QUERY %d", id))
		<-sleeping
		var refused *RefusedError
		if !errors.As(err, &refused) || exitcode.Of(err) != exitcode.Usage {
			t.Fatalf("want a refusal (exit 2), got %v (exit %d)", err, exitcode.Of(err))
		}
		for _, want := range []string{"the application's account ghost does not exist", fmt.Sprintf("connection %d (root) has run for", id)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal lacks %q:\n%v", want, err)
			}
		}
		if after := snapshot(t, sb); after != before {
			t.Errorf("a refused run changed the world:\nbefore %+v\nafter  %+v", before, after)
		}
		if last, err := LastRun(sb.Config.StateDir); err != nil || last.State != "none" {
			t.Errorf("a refused run left a trace in the journal: %+v, %v", last, err)
		}
	})

	t.Run("catch-up", func(t *testing.T) {
		// The target stalls: a table the replicator must write is locked,
		// and the source changes it just before the fence.
		cfg := copyConfig(sb)
		cfg.Cutover.CatchUpTimeout = 2 * time.Second
		conn, err := dst.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		undone(t, cfg, "fence-source", "catch-up", "did not reach the fenced position", func() {
			if _, err := conn.ExecContext(ctx, "LOCK TABLES app.customers WRITE"); err != nil {
				t.Error(err)
			}
			exec1(t, src, "UPDATE app.customers SET balance = balance + 1 WHERE id = 1")
		})
		if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("verify", func(t *testing.T) {
		// A row changed on the target behind replication's back.
		name := query(t, src, "SELECT name FROM app.customers WHERE id = 2")
		undone(t, copyConfig(sb), "verify", "verify", "differs", func() {
			exec1(t, dst, "SET SESSION sql_log_bin = 0", "UPDATE app.customers SET name = 'tampered' WHERE id = 2", "SET SESSION sql_log_bin = 1")
		})
		exec1(t, dst, "SET SESSION sql_log_bin = 0", "UPDATE app.customers SET name = '"+name+"' WHERE id = 2", "SET SESSION sql_log_bin = 1")
	})

	t.Run("deploy", func(t *testing.T) {
		// The new revision's tasks exit at once: ECS's circuit breaker.
		cfg := copyConfig(sb)
		cfg.App.Deploy[0].Environment = append(cfg.App.Deploy[0].Environment, config.EnvVar{Name: "DB_PORT", Value: "not-a-port"})
		undone(t, cfg, "deploy", "deploy", "circuit breaker", func() {})
	})

	t.Run("dns-swap", func(t *testing.T) {
		// Route 53 refuses the change: the credentials lack the permission.
		undone(t, copyConfig(sb), "dns-swap", "dns-swap", "AccessDenied", func() { sb.Route53.DenyChanges(1) })
	})

	t.Run("health", func(t *testing.T) {
		// After the swap, the web health check fails.
		unhealthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		defer unhealthy.Close()
		cfg := copyConfig(sb)
		cfg.Checks.HTTP = append(cfg.Checks.HTTP, config.HTTPCheck{Name: "web", URL: unhealthy.URL})
		cfg.Cutover.HealthTimeout = 2 * time.Second
		report, err := newRunbook(t, sb, cfg, nil).Run(ctx)
		var human *HumanError
		if !errors.As(err, &human) || exitcode.Of(err) != exitcode.NeedsHuman || !strings.Contains(err.Error(), "switcharoo rollback") {
			t.Fatalf("want a stop for a person (exit 4) pointing to rollback, got %v (exit %d)", err, exitcode.Of(err))
		}
		if report == nil || report.Outcome != "failed after the point of no return" {
			t.Fatalf("report: %+v", report)
		}
		onTarget(t, sb) // nothing undone: the application runs on the target
		if _, err := newRunbook(t, sb, cfg, nil).Run(ctx); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("a new run over an unfinished one: %v, want a refusal", err)
		}
		// The cause fixed (the check pointed at the wrong endpoint),
		// resume finishes the night; then it is rolled back.
		if report, err := newRunbook(t, sb, sb.Config, nil).Resume(ctx); err != nil || report.Outcome != "finished" {
			t.Fatalf("resume after the fix: %v", err)
		}
		onTarget(t, sb)
		if _, err := newRunbook(t, sb, cfg, nil).Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
	})

	t.Run("transaction open at the fence", func(t *testing.T) {
		// Not a failure: a SUPER user's transaction with changes is open
		// when read_only goes on. The fence waits (up to fence_grace) for
		// it; it commits, and the change moves with the night.
		conn, err := src.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, q := range []string{"BEGIN", "UPDATE app.customers SET balance = 4242.42 WHERE id = 4"} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		cfg := copyConfig(sb)
		cfg.Cutover.FenceGrace = time.Minute
		committed := make(chan error, 1)
		rb := newRunbook(t, sb, cfg, func(s string, at hookPoint) bool {
			if s == "fence-source" && at == beforeApply {
				go func() {
					for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
						var ro bool
						if err := src.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&ro); err != nil || ro {
							break
						}
					}
					_, err := conn.ExecContext(ctx, "COMMIT")
					committed <- err
				}()
			}
			return false
		})
		if report, err := rb.Run(ctx); err != nil || report.Outcome != "finished" {
			t.Fatalf("run: %v", err)
		}
		if err := <-committed; err != nil {
			t.Fatalf("the transaction open at the fence could not commit: %v", err)
		}
		if got := query(t, dst, "SELECT balance FROM app.customers WHERE id = 4"); got != "4242.42" {
			t.Errorf("the target has balance %s for the row changed under the fence, want 4242.42", got)
		}
		if _, err := newRunbook(t, sb, cfg, nil).Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
	})

	t.Run("deploy after the swap", func(t *testing.T) {
		// With cutover.dns_swap: before-deploy the swap comes first and is
		// the point of no return: a failed rollout is not undone; resume
		// retries it once fixed.
		cfg := copyConfig(sb)
		cfg.Cutover.DNSSwap = config.DNSSwapBeforeDeploy
		broken := copyConfig(sb)
		broken.Cutover.DNSSwap = config.DNSSwapBeforeDeploy
		broken.App.Deploy[0].Environment = append(broken.App.Deploy[0].Environment, config.EnvVar{Name: "DB_PORT", Value: "not-a-port"})
		report, err := newRunbook(t, sb, broken, nil).Run(ctx)
		if exitcode.Of(err) != exitcode.NeedsHuman || !strings.Contains(err.Error(), "circuit breaker") {
			t.Fatalf("want a stop for a person (exit 4) naming the circuit breaker, got %v (exit %d)", err, exitcode.Of(err))
		}
		var steps []string
		for _, s := range report.Steps {
			steps = append(steps, s.Step)
		}
		if want := []string{"unfence-target", "dns-swap", "deploy"}; !slices.Equal(steps[len(steps)-3:], want) {
			t.Fatalf("steps %v, want them to end with %v", steps, want)
		}
		if report.Outcome != "failed after the point of no return" {
			t.Fatalf("report: %+v", report)
		}
		if report, err := newRunbook(t, sb, cfg, nil).Resume(ctx); err != nil || report.Outcome != "finished" {
			t.Fatalf("resume after the fix: %v", err)
		}
		onTarget(t, sb)
		if _, err := newRunbook(t, sb, cfg, nil).Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
	})

	t.Run("interrupted", func(t *testing.T) {
		// Ctrl-C during the final verify: the step finishes, the night
		// pauses before the next one. While the runbook is down (its
		// global lock gone with it) a SUPER user writes through read_only;
		// resume sees the position moved, catches up and verifies again,
		// and finishes the night with that write on the target.
		runCtx, interrupt := context.WithCancel(ctx)
		defer interrupt()
		rb := newRunbook(t, sb, sb.Config, func(s string, at hookPoint) bool {
			if s == "verify" && at == beforeApply {
				interrupt()
			}
			return false
		})
		report, err := rb.Run(runCtx)
		var human *HumanError
		if !errors.As(err, &human) || exitcode.Of(err) != exitcode.NeedsHuman || !strings.Contains(err.Error(), "paused before step stop-replication") {
			t.Fatalf("want a pause before stop-replication (exit 4), got %v (exit %d)", err, exitcode.Of(err))
		}
		if report == nil || report.Outcome != "paused" || report.Steps[len(report.Steps)-1].Step != "verify" {
			t.Fatalf("report: %+v", report)
		}
		rb.Close()
		exec1(t, src, "UPDATE app.customers SET balance = balance + 100 WHERE id = 3")
		if report, err = newRunbook(t, sb, sb.Config, nil).Resume(ctx); err != nil || report.Outcome != "finished" {
			t.Fatalf("resume after the pause: %v", err)
		}
		var steps []string
		for _, s := range report.Steps {
			steps = append(steps, s.Step)
		}
		// The report covers the whole night: the steps done before the
		// pause, then catch-up and verify again, and the rest.
		if want := slices.Insert(slices.Clone(nightSteps), 6, "catch-up", "verify"); !slices.Equal(steps, want) {
			t.Errorf("resume after the position moved: the report has %v, want %v", steps, want)
		}
		onTarget(t, sb)
		if s, d := query(t, src, "SELECT balance FROM app.customers WHERE id = 3"), query(t, dst, "SELECT balance FROM app.customers WHERE id = 3"); s != d {
			t.Errorf("the write made while the runbook was down: source %s, target %s", s, d)
		}
		if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
	})
	stopWatch()
}
