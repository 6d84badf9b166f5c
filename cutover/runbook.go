package cutover

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/deploy"
	"github.com/switcharoo/switcharoo/dnsswap"
	"github.com/switcharoo/switcharoo/internal/cockpit"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"github.com/switcharoo/switcharoo/internal/traffic"
)

// Options change how the runbook runs.
type Options struct {
	// Yes skips the approvals of the fence and of the DNS swap, which are
	// otherwise asked before the first step that changes anything.
	Yes bool
	// Approve asks the operator; nil approves.
	Approve func(ctx context.Context, question string) (bool, error)
	// StartReverse starts reverse replication (switcharoo replicate
	// --reverse), which the runbook has seeded; it must return once it is
	// started and leave it running.
	StartReverse func(ctx context.Context) error
	// PlanHash, when set, must equal the hash of the plan as run now.
	PlanHash string
	// Board, when set, is the cockpit the night reports to (--http).
	Board *cockpit.Board
}

// Runbook runs the switchover night.
type Runbook struct {
	cfg    *config.Config
	log    zerolog.Logger
	opts   Options
	source *server
	target *server
	dns    *dnsswap.Swapper // nil without a DNS provider
	app    *deploy.Runner
	probe  *probe
	users  *traffic.Record // checks.http_probe's, once started
	// stopProbes ends the probes startProbe started and waits for their
	// requests under way; the report calls it first, so a request sent
	// before the last step ended is in it, failed or not.
	stopProbes func()

	steps []*step
	j     *journal
	run   string
	facts map[string]string // what steps recorded: the fenced position, ...
	lock  *globalLock       // the source's FLUSH TABLES WITH READ LOCK
	lease *lease            // the night's hold on the databases (lease.go)

	// hook, in tests, runs at points of every step: before it acts (to
	// inject a fault), and after it acted, before and after its result is
	// journaled, where returning true simulates the process dying.
	hook func(step string, at hookPoint) (crash bool)

	mu       sync.Mutex
	timeline []Entry
}

// step is one step of the night. apply and undo are idempotent: after a
// crash they run again and re-read the real state before acting.
type step struct {
	name    string
	plan    func(ctx context.Context) (string, error)
	apply   func(ctx context.Context) error
	undo    func(ctx context.Context) error // nil: nothing to undo
	timeout time.Duration
	// noReturn: once done, a later failure is not undone; rollback is.
	noReturn bool
	// approve: the question asked, unless --yes, before the night's first
	// step acts.
	approve string
	// interruptible: the step changes nothing and may wait long (the TTL
	// wait), so Ctrl-C interrupts it, and the night pauses before it.
	interruptible bool
	// uses are the servers apply and undo talk to: one that stops
	// answering ends them (reach.go).
	uses []*server
}

// New prepares the runbook; it contacts nothing yet.
func New(ctx context.Context, cfg *config.Config, log zerolog.Logger, opts Options) (*Runbook, error) {
	src, err := mysqlconn.Open(cfg.Source, "", mysqlconn.DataSession())
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	dst, err := mysqlconn.Open(cfg.Target, "", mysqlconn.DataSession())
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("target: %w", err)
	}
	rb := &Runbook{cfg: cfg, log: log, opts: opts, facts: map[string]string{}, probe: newProbe(cfg),
		source: &server{name: "source", addr: mysqlconn.Addr(cfg.Source), db: src, answer: answerFactor * cfg.Source.ConnectTimeout},
		target: &server{name: "target", addr: mysqlconn.Addr(cfg.Target), db: dst, appUsers: cfg.Cutover.AppUsers, answer: answerFactor * cfg.Target.ConnectTimeout}}
	if cfg.DNS.Provider != "" {
		if rb.dns, err = dnsswap.New(ctx, cfg, log); err != nil {
			rb.Close()
			return nil, err
		}
	}
	if rb.app, err = deploy.New(ctx, cfg, log); err != nil {
		rb.Close()
		return nil, err
	}
	rb.steps = rb.buildSteps()
	names := make([]string, len(rb.steps))
	for i, s := range rb.steps {
		names[i] = s.name
	}
	opts.Board.Plan(names)
	if rb.probe != nil {
		rb.probe.board = opts.Board
	}
	return rb, nil
}

// Close releases the connections (and a global lock still held: the
// source stays read_only).
func (rb *Runbook) Close() error {
	rb.lock.release()
	var users error
	if rb.users != nil {
		users = rb.users.Close()
	}
	return errors.Join(rb.source.db.Close(), rb.target.db.Close(), users)
}

// releaseLease gives the night's lease up when a command ends.
func (rb *Runbook) releaseLease() {
	rb.lease.release()
	rb.lease = nil
}

// PlannedStep is one step of a plan.
type PlannedStep struct {
	Step    string `json:"step"`
	Plan    string `json:"plan"`
	Timeout string `json:"timeout,omitempty"`
}

// Plan runs the preflight and describes every step with its concrete
// actions, and the plan's hash. It changes nothing: the preflight only
// reads (the probe's write is rolled back).
func (rb *Runbook) Plan(ctx context.Context) ([]PlannedStep, string, error) {
	defer func() { rb.facts = map[string]string{} }()
	return rb.plan(ctx)
}

// plan runs the preflight, leaving the facts it found, and plans every step.
func (rb *Runbook) plan(ctx context.Context) ([]PlannedStep, string, error) {
	rb.facts = map[string]string{}
	if err := rb.preflight(ctx); err != nil {
		return nil, "", err
	}
	var out []PlannedStep
	h := sha256.New()
	for _, s := range rb.steps {
		text, err := s.plan(ctx)
		if err != nil {
			return nil, "", &RefusedError{Reason: fmt.Sprintf("plan of step %s: %v", s.name, err)}
		}
		p := PlannedStep{Step: s.name, Plan: text}
		if s.timeout > 0 {
			p.Timeout = s.timeout.String()
		}
		out = append(out, p)
		fmt.Fprintf(h, "%s\n%s\n%s\n", p.Step, p.Plan, p.Timeout)
	}
	return out, hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Run executes the night from the first step. The preflight (and the plan
// hash) is checked before anything is journaled: a refusal (exit 2) leaves
// no trace, and the last run can still be rolled back.
func (rb *Runbook) Run(ctx context.Context) (*Report, error) {
	lk, err := takeLock(rb.cfg.StateDir, "switcharoo run")
	if err != nil {
		return nil, err
	}
	defer lk.release()
	defer rb.followReplication(ctx)()
	events, err := readLastRun(rb.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if runState(events) == "in progress" {
		return nil, &RefusedError{Reason: fmt.Sprintf("run %s was interrupted and is not finished: use `switcharoo resume` or `switcharoo rollback`", events[0].Run)}
	}
	start := time.Now()
	rb.opts.Board.StepStarted(rb.steps[0].name, false)
	var hash string
	err = reaching(ctx, func(ctx context.Context) error {
		if err := rb.checkLease(ctx); err != nil {
			return err
		}
		_, hash, err = rb.plan(ctx)
		return err
	}, rb.source, rb.target)
	if err != nil {
		rb.opts.Board.StepEnded(rb.steps[0].name, false, err)
		return nil, err
	}
	if rb.opts.PlanHash != "" && hash != rb.opts.PlanHash {
		return nil, &RefusedError{Reason: fmt.Sprintf("the plan changed since it was reviewed (hash %s now, %s reviewed): run `switcharoo plan` again and review it", hash, rb.opts.PlanHash)}
	}
	if err := rb.approveAll(ctx, rb.steps[1:], ""); err != nil {
		return nil, err
	}
	if rb.lease, err = rb.takeLease(ctx, "run"); err != nil {
		return nil, err
	}
	defer rb.releaseLease()
	if rb.j, err = openJournal(rb.cfg.StateDir); err != nil {
		return nil, err
	}
	defer rb.j.close()
	rb.run = newRunID()
	first := rb.steps[0].name // the preflight, just passed
	for _, e := range []Event{{Run: rb.run, Kind: evStart}, {Run: rb.run, Step: first, Kind: evIntent}, {Run: rb.run, Step: first, Kind: evDone, Data: maps.Clone(rb.facts)}} {
		if err := rb.j.append(e); err != nil {
			return nil, err
		}
	}
	rb.record(Entry{Step: first, Start: start, End: time.Now(), Result: resultOf(nil)})
	// What an earlier night recorded to restore is not this night's.
	if err := rb.app.Forget(); err != nil {
		return nil, err
	}
	return rb.forward(ctx, 1, "run")
}

// Resume continues the last run from its journal: forward from the first
// step not done, or, when a step had failed, on with undoing.
func (rb *Runbook) Resume(ctx context.Context) (*Report, error) {
	lk, err := takeLock(rb.cfg.StateDir, "switcharoo resume")
	if err != nil {
		return nil, err
	}
	defer lk.release()
	defer rb.followReplication(ctx)()
	events, err := readLastRun(rb.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if runState(events) != "in progress" {
		return nil, &RefusedError{Reason: "there is no interrupted run to resume (switcharoo status shows the last one)"}
	}
	if rb.lease, err = rb.takeLease(ctx, "resume"); err != nil {
		return nil, err
	}
	defer rb.releaseLease()
	if rb.j, err = openJournal(rb.cfg.StateDir); err != nil {
		return nil, err
	}
	defer rb.j.close()
	rb.run = events[0].Run
	acted, completed, undoing := rb.replay(events)
	rb.timeline = journaledTimeline(events, false)
	rb.log.Info().Str("run", rb.run).Int("steps_done", len(completed)).Bool("undoing", undoing).Msg("resuming")
	if undoing {
		return rb.undoAll(ctx, acted, "rollback", nil)
	}
	var rest []*step
	for _, s := range rb.steps {
		if !completed[s.name] {
			rest = append(rest, s)
		}
	}
	last := ""
	for _, s := range rb.steps {
		if completed[s.name] {
			last = s.name
		}
	}
	if err := rb.approveAll(ctx, rest, last); err != nil {
		return nil, err
	}
	var moved bool
	if err := reaching(ctx, func(ctx context.Context) (err error) {
		moved, err = rb.restoreFence(ctx, acted, completed)
		return err
	}, rb.source); err != nil {
		return nil, restoreFenceError(err)
	}
	if moved { // what catch-up and verify established no longer holds
		delete(completed, "catch-up")
		delete(completed, "verify")
	}
	next := len(rb.steps)
	for i, s := range rb.steps {
		if !completed[s.name] {
			next = i
			break
		}
	}
	return rb.forward(ctx, next, "run")
}

// Rollback undoes, in reverse, every step the last run did: after a full
// run, or a partial one.
func (rb *Runbook) Rollback(ctx context.Context) (*Report, error) {
	lk, err := takeLock(rb.cfg.StateDir, "switcharoo rollback")
	if err != nil {
		return nil, err
	}
	defer lk.release()
	defer rb.followReplication(ctx)()
	events, err := readLastRun(rb.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	if st := runState(events); st == "none" || st == "rolled back" {
		return nil, &RefusedError{Reason: "there is no run to roll back (switcharoo status shows the last one)"}
	}
	if rb.lease, err = rb.takeLease(ctx, "rollback"); err != nil {
		return nil, err
	}
	defer rb.releaseLease()
	if rb.j, err = openJournal(rb.cfg.StateDir); err != nil {
		return nil, err
	}
	defer rb.j.close()
	rb.run = events[0].Run
	acted, _, _ := rb.replay(events)
	rb.timeline = journaledTimeline(events, true)
	return rb.undoAll(ctx, acted, "rollback", nil)
}

// replay restores the facts the journal recorded. It returns the steps
// that acted (done, failed or under way when the run died) and were not
// undone, the steps completed, and whether the run was undoing: a step
// failed before the point of no return (after it, a failure waits for a
// fix and resume, or a rollback), or an undo had begun.
func (rb *Runbook) replay(events []Event) (acted, completed map[string]bool, undoing bool) {
	acted, completed = map[string]bool{}, map[string]bool{}
	noReturn := map[string]bool{}
	for _, s := range rb.steps {
		noReturn[s.name] = s.noReturn
	}
	pastReturn := false
	for _, e := range events {
		if e.Kind == evProbe {
			if err := rb.probe.restore(e.Data); err != nil {
				rb.log.Warn().Err(err).Msg("the report leaves out a run of probe writes it cannot read")
			}
			continue
		}
		for k, v := range e.Data {
			rb.facts[k] = v
		}
		switch e.Kind {
		case evIntent:
			acted[e.Step] = true
		case evFailed:
			acted[e.Step] = true
			undoing = undoing || !pastReturn
		case evDone:
			acted[e.Step], completed[e.Step] = true, true
			pastReturn = pastReturn || noReturn[e.Step]
		case evUndone:
			delete(acted, e.Step)
		case evUndoIntent, evUndoFailed:
			undoing = true
		}
	}
	return acted, completed, undoing
}

// runState names the state of a run from its events.
func runState(events []Event) string {
	if len(events) == 0 {
		return "none"
	}
	switch lastStep(events).Kind {
	case evFinished:
		return "finished"
	case evRolledBack:
		return "rolled back"
	}
	return "in progress"
}

// approveAll asks, unless --yes, every approval the steps carry, all
// before the first of them acts: a "no", or a question that cannot be
// asked (no terminal), refuses the night with nothing changed. resumedAfter
// names, for resume, the last step the interrupted run completed: the
// refusal changes nothing more, but the night stays where it stopped.
func (rb *Runbook) approveAll(ctx context.Context, steps []*step, resumedAfter string) error {
	if rb.opts.Yes || rb.opts.Approve == nil {
		return nil
	}
	unchanged := "nothing was changed"
	if resumedAfter != "" {
		unchanged = fmt.Sprintf("resume changed nothing, and the interrupted run stays where it stopped, after step %s "+
			"(the application may be stopped and the source fenced): `switcharoo resume` to go on, or `switcharoo rollback` to go back", resumedAfter)
	}
	for _, s := range steps {
		if s.approve == "" {
			continue
		}
		ok, err := rb.opts.Approve(ctx, s.approve)
		if err != nil {
			return &RefusedError{Reason: fmt.Sprintf("the approval of step %s could not be asked (%v); %s: answer it on a terminal, or pass --yes", s.name, err, unchanged)}
		}
		if !ok {
			return &RefusedError{Reason: fmt.Sprintf("step %s was not approved; %s", s.name, unchanged)}
		}
	}
	return nil
}

// forward runs the steps from index from. A failure before a noReturn step
// is done undoes everything; after, it stops for a person.
func (rb *Runbook) forward(ctx context.Context, from int, kind string) (*Report, error) {
	defer rb.startProbe(context.WithoutCancel(ctx))()
	pastReturn := false
	for _, s := range rb.steps[:from] {
		pastReturn = pastReturn || s.noReturn
	}
	done := map[string]bool{}
	for _, s := range rb.steps[:from] {
		done[s.name] = true
	}
	for _, s := range rb.steps[from:] {
		if ctx.Err() != nil {
			return rb.pause(s.name, "interrupted")
		}
		if err := rb.do(ctx, s); err != nil {
			if errors.Is(err, errCrash) {
				return nil, err
			}
			if errors.Is(err, errInterrupted) {
				return rb.pause(s.name, "interrupted")
			}
			if pastReturn {
				rep := rb.report(kind, "failed after the point of no return")
				return rep, &HumanError{Reason: fmt.Sprintf("step %s failed after the DNS swap; fix the cause and run `switcharoo resume`, or `switcharoo rollback`", s.name), Err: err}
			}
			done[s.name] = true // its partial effects are undone with the rest
			return rb.undoAll(ctx, done, kind, &UndoneError{Step: s.name, Err: err})
		}
		done[s.name] = true
		pastReturn = pastReturn || s.noReturn
		if err := rb.checkOnePrimary(ctx); err != nil {
			return rb.report(kind, "stopped"), err
		}
	}
	if err := rb.j.append(Event{Run: rb.run, Kind: evFinished}); err != nil {
		return nil, err
	}
	return rb.report(kind, "finished"), nil
}

// startProbe runs the probe until the returned function is called,
// journaling every run of its writes as it begins and ends: the report of
// a night resumed or rolled back after a crash covers it whole.
func (rb *Runbook) startProbe(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if rb.probe != nil {
		wg.Go(func() { rb.probe.run(ctx, rb.journalProbe) })
	}
	if users := rb.usersRecord(); users != nil {
		p := rb.cfg.Checks.HTTPProbe
		g := &traffic.Generator{ReadURL: p.ReadURL, WriteURL: p.WriteURL, Rate: p.Rate, Timeout: p.Timeout}
		wg.Go(func() { g.Run(ctx, users) })
	}
	rb.stopProbes = sync.OnceFunc(func() { cancel(); wg.Wait() })
	return rb.stopProbes
}

// usersRecord is the record of checks.http_probe's requests, kept in
// state_dir/users-<run>.log: a process that resumes or rolls back the
// night reads its predecessors' back. nil without checks.http_probe.
func (rb *Runbook) usersRecord() *traffic.Record {
	if p := rb.cfg.Checks.HTTPProbe; rb.users != nil || p.ReadURL == "" && p.WriteURL == "" {
		return rb.users
	}
	rec, err := traffic.OpenRecord(filepath.Join(rb.cfg.StateDir, "users-"+rb.run+".log"))
	if err != nil {
		rb.log.Warn().Err(err).Msg("checks.http_probe does not run: the report will not say what users saw")
		return nil
	}
	rb.users = rec
	return rec
}

// journalProbe journals a run of the probe's writes.
func (rb *Runbook) journalProbe(r probeRun) {
	if err := rb.j.append(Event{Run: rb.run, Kind: evProbe, Data: r.data()}); err != nil {
		rb.log.Warn().Err(err).Msg("the probe's writes are not journaled: a report after a crash may miss them")
	}
}

// markProbe journals how far the probe's run of writes under way has
// come, as a step starts: a crash inside the step loses no more.
func (rb *Runbook) markProbe() {
	if r, ok := rb.probe.current(); ok {
		rb.journalProbe(r)
	}
}

// do runs one step: intent journaled, apply under its timeout (not
// cancelled by Ctrl-C, which pauses at the next boundary), result
// journaled.
func (rb *Runbook) do(ctx context.Context, s *step) error {
	if err := rb.j.append(Event{Run: rb.run, Step: s.name, Kind: evIntent}); err != nil {
		return err
	}
	rb.markProbe()
	start := time.Now()
	rb.log.Info().Str("step", s.name).Msg("step")
	rb.opts.Board.StepStarted(s.name, false)
	sctx := context.WithoutCancel(ctx)
	if s.interruptible {
		sctx = ctx
	}
	var cancel context.CancelFunc = func() {}
	if s.timeout > 0 {
		sctx, cancel = context.WithTimeout(sctx, s.timeout)
	}
	before := maps.Clone(rb.facts)
	rb.at(s.name, beforeApply)
	uses := s.uses
	if rb.lock != nil { // holdFence reads the source
		uses = append(slices.Clip(uses), rb.source)
	}
	err := rb.lease.check()
	if err == nil {
		err = reaching(sctx, func(ctx context.Context) error {
			if err := rb.holdFence(ctx, "before "+s.name); err != nil {
				return err
			}
			if err := s.apply(ctx); err != nil {
				return err
			}
			return rb.holdFence(ctx, "during "+s.name)
		}, uses...)
	}
	cancel()
	if rb.at(s.name, insideStep) {
		return errCrash
	}
	if err != nil && s.interruptible && ctx.Err() != nil {
		return errInterrupted
	}
	rb.record(Entry{Step: s.name, Start: start, End: time.Now(), Result: resultOf(err), Error: errString(err)})
	if err != nil {
		rb.log.Error().Err(err).Str("step", s.name).Msg("step failed")
		// What it recorded before failing (reverse replication seeded...)
		// is needed to undo it.
		_ = rb.j.append(Event{Run: rb.run, Step: s.name, Kind: evFailed, Error: err.Error(), Data: diff(before, rb.facts)})
		return err
	}
	if err := rb.j.append(Event{Run: rb.run, Step: s.name, Kind: evDone, Data: diff(before, rb.facts)}); err != nil {
		return err
	}
	if rb.at(s.name, afterStep) {
		return errCrash
	}
	return nil
}

// hookPoint is where in a step the test hook runs.
type hookPoint int

const (
	beforeApply hookPoint = iota // intent journaled, nothing done yet
	insideStep                   // applied, result not journaled
	afterStep                    // result journaled: the step boundary
)

// undoHook prefixes a step's name at the hook points of its undo.
const undoHook = "undo "

func (rb *Runbook) at(step string, p hookPoint) bool {
	return rb.hook != nil && rb.hook(step, p)
}

// restoreFenceError is what resume says when it could not take the
// source's fence back: nothing was done yet (the journal is as the crash
// left it), so it refuses, or stops for a person where a server answered
// with something to look at.
func restoreFenceError(err error) error {
	var u *unreachableError
	var human *HumanError
	var refused *RefusedError
	switch {
	case errors.As(err, &u):
		return &RefusedError{Reason: fmt.Sprintf("%v; resume changed nothing (the source stays fenced, the application stopped): run it again once switcharoo reaches the %s", err, u.server)}
	case errors.As(err, &human), errors.As(err, &refused):
		return err
	}
	return &HumanError{Reason: fmt.Sprintf("resume could not take the source's fence back (%v); it changed nothing: the source stays read_only and the application stopped. "+
		"Run resume again once the cause is gone (a long query holding FLUSH TABLES WITH READ LOCK back: end it), or `switcharoo rollback`", err)}
}

// errCrash is a simulated death of the process: nothing more is done or
// journaled.
var errCrash = errors.New("simulated crash")

// errInterrupted: Ctrl-C stopped an interruptible step, which changed
// nothing; the night pauses before it.
var errInterrupted = errors.New("interrupted")

// undoAll undoes the done steps in reverse order under cutover.undo_timeout,
// ending with the source writable and the application on it.
func (rb *Runbook) undoAll(ctx context.Context, done map[string]bool, kind string, cause *UndoneError) (*Report, error) {
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rb.cfg.Cutover.UndoTimeout)
	defer cancel()
	if cause == nil { // else forward's probe runs on
		defer rb.startProbe(uctx)()
	}
	var errs []error
	for i := len(rb.steps) - 1; i >= 0; i-- {
		s := rb.steps[i]
		if !done[s.name] || s.undo == nil {
			continue
		}
		if err := rb.lease.check(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := rb.j.append(Event{Run: rb.run, Step: s.name, Kind: evUndoIntent}); err != nil {
			return nil, err
		}
		rb.markProbe()
		rb.at(undoHook+s.name, beforeApply)
		start := time.Now()
		rb.log.Info().Str("step", s.name).Msg("undo")
		rb.opts.Board.StepStarted(s.name, true)
		err := reaching(uctx, s.undo, s.uses...)
		if err == nil && rb.at(undoHook+s.name, insideStep) {
			return nil, errCrash
		}
		rb.record(Entry{Step: s.name, Undo: true, Start: start, End: time.Now(), Result: resultOf(err), Error: errString(err)})
		if err != nil {
			rb.log.Error().Err(err).Str("step", s.name).Msg("undo failed")
			_ = rb.j.append(Event{Run: rb.run, Step: s.name, Kind: evUndoFailed, Error: err.Error()})
			// The steps before it are not undone over a failed undo:
			// unfencing the source while the target's writes have not
			// come back, say, would lose them.
			errs = append(errs, fmt.Errorf("undo %s: %w", s.name, err))
			break
		}
		_ = rb.j.append(Event{Run: rb.run, Step: s.name, Kind: evUndone})
		if rb.at(undoHook+s.name, afterStep) {
			return nil, errCrash
		}
		if err := rb.checkOnePrimary(uctx); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if len(errs) > 0 {
		reason := "undoing the night failed; fix what the errors name, then run `switcharoo rollback` again"
		if cause != nil {
			reason = fmt.Sprintf("step %s failed (%v), and %s", cause.Step, cause.Err, reason)
		}
		return rb.report(kind, "undo failed"), &HumanError{Reason: reason, Err: errors.Join(errs...)}
	}
	if rb.probe != nil && cause == nil {
		// The report measures the switch back: give the probe a moment to
		// see the source take its first write.
		id, _ := strconv.ParseUint(rb.facts["source_server_id"], 10, 32)
		rb.probe.waitWrite(uctx, uint32(id), 5*time.Second)
	}
	if err := rb.j.append(Event{Run: rb.run, Kind: evRolledBack}); err != nil {
		return nil, err
	}
	if cause != nil {
		return rb.report(kind, "undone"), cause
	}
	return rb.report(kind, "rolled back"), nil
}

// pause stops at a step boundary, to be resumed.
func (rb *Runbook) pause(next, why string) (*Report, error) {
	_ = rb.j.append(Event{Run: rb.run, Step: next, Kind: evPaused, Error: why})
	return rb.report("run", "paused"), &HumanError{Reason: fmt.Sprintf("paused before step %s (%s): run `switcharoo resume` to go on, or `switcharoo rollback`", next, why)}
}

// onePrimaryAttempts is how many times checkOnePrimary reads a side
// before it takes the side as unknown.
const onePrimaryAttempts = 3

// checkOnePrimary asserts that at most one side accepts application
// writes. A side it cannot read is not taken as closed: a network fault
// between switcharoo and a data centre does not stop that data centre's
// clients. Unknown stops the night, as two open sides do.
func (rb *Runbook) checkOnePrimary(ctx context.Context) error {
	// Ctrl-C pauses the night at the next boundary; this check still runs.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var open []string
	for _, s := range []*server{rb.source, rb.target} {
		var w bool
		err := reaching(ctx, func(ctx context.Context) (err error) {
			w, err = s.appWritable(ctx)
			for attempt := 1; err != nil && attempt < onePrimaryAttempts && ctx.Err() == nil; attempt++ {
				// A blip is not an outage: look again before stopping.
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
				w, err = s.appWritable(ctx)
			}
			return err
		}, s)
		if err != nil {
			return &HumanError{Reason: fmt.Sprintf("cannot tell whether the %s accepts application writes (%v): the night stops until it can; "+
				"restore the connection to it, check by hand that at most one side is writable, then `switcharoo resume` or `switcharoo rollback`", s.name, err)}
		}
		if w {
			open = append(open, s.name)
		}
	}
	if len(open) == 2 {
		return &HumanError{Reason: "both source and target accept application writes: fence one of them now (SET GLOBAL read_only = ON, or lock the accounts of cutover.app_users and kill their sessions)"}
	}
	return nil
}

func newRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// diff returns the facts added or changed.
func diff(before, after map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range after {
		if before[k] != v {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func resultOf(err error) string {
	if err != nil {
		return "failed"
	}
	return "done"
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Rehearse runs the night for real, then rolls it back: the night
// practised end to end on a rehearsal environment.
func (rb *Runbook) Rehearse(ctx context.Context) (run, back *Report, err error) {
	run, err = rb.Run(ctx)
	if err != nil {
		var undone *UndoneError
		if errors.As(err, &undone) {
			return run, nil, err // already undone
		}
	}
	if run == nil {
		return nil, nil, err
	}
	rb.timeline = nil
	back, rerr := rb.Rollback(context.WithoutCancel(ctx))
	if back != nil {
		back.Kind = "rehearse-rollback"
	}
	return run, back, errors.Join(err, rerr)
}
