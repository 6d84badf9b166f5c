package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/statefile"
)

// Phase is one of the app lists: what an action does depends on it.
type Phase string

// The phases, in the order of the night.
const (
	Stop   Phase = "stop"
	Deploy Phase = "deploy"
	Start  Phase = "start"
)

// Phases lists them in order.
var Phases = []Phase{Stop, Deploy, Start}

// Action is one step on the application's writers.
type Action interface {
	// Name names the action for people: "stop[1] ecs-service web".
	Name() string
	// Plan reads the resource and says what Apply would do. It changes
	// nothing.
	Plan(ctx context.Context) (string, error)
	// Apply does it, and waits until it is done (tasks stopped, a rollout
	// completed, a cron drained). It records what Undo needs first.
	Apply(ctx context.Context) error
	// Verify checks that the effect holds.
	Verify(ctx context.Context) error
	// Undo reverses Apply, from what Apply recorded.
	Undo(ctx context.Context) error
}

// Runner builds and runs the actions of the app section.
type Runner struct {
	cfg   *config.Config
	log   zerolog.Logger
	aws   *clients
	state *state
	poll  time.Duration
	// drainMargin: see base.drain.
	drainMargin time.Duration
}

// New prepares the app's actions. AWS clients are created only when an
// action needs one; nothing is contacted yet.
func New(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*Runner, error) {
	r := &Runner{cfg: cfg, log: log, state: &state{Resources: map[string]*resourceState{}}, poll: 500 * time.Millisecond,
		drainMargin: 5 * time.Second}
	if _, err := statefile.Load(r.statePath(), r.state); err != nil {
		return nil, fmt.Errorf("app state: %w", err)
	}
	for _, p := range Phases {
		for _, a := range phaseActions(cfg.App, p) {
			if a.Kind == config.ActionECSService || a.Kind == config.ActionEventBridgeRule || a.Kind == config.ActionSchedulerSchedule {
				aws, err := newClients(ctx, cfg.AWS)
				if err != nil {
					return nil, err
				}
				r.aws = aws
				return r, nil
			}
		}
	}
	return r, nil
}

func (r *Runner) statePath() string { return filepath.Join(r.cfg.StateDir, stateFile) }

// save writes the state durably; actions call it before they act.
func (r *Runner) save() error { return statefile.Save(r.statePath(), r.state) }

// Actions returns a phase's actions, in order.
func (r *Runner) Actions(p Phase) []Action {
	list := phaseActions(r.cfg.App, p)
	out := make([]Action, len(list))
	for i, a := range list {
		base := base{r: r, phase: p, index: i, spec: a}
		switch a.Kind {
		case config.ActionECSService:
			out[i] = &ecsService{base}
		case config.ActionEventBridgeRule:
			out[i] = &rule{base}
		case config.ActionSchedulerSchedule:
			out[i] = &sched{base}
		case config.ActionExec:
			out[i] = &execAction{base}
		default:
			out[i] = &httpAction{base}
		}
	}
	return out
}

// Planned is one action's plan.
type Planned struct {
	Phase  Phase  `json:"phase"`
	Action string `json:"action"`
	Plan   string `json:"plan"`
}

// Plan reads every resource and says what each action would do.
func (r *Runner) Plan(ctx context.Context) ([]Planned, error) {
	var out []Planned
	for _, p := range Phases {
		for _, a := range r.Actions(p) {
			plan, err := a.Plan(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a.Name(), err)
			}
			out = append(out, Planned{Phase: p, Action: a.Name(), Plan: plan})
		}
	}
	return out, nil
}

// FailedError means an action failed. Undone says whether the actions
// already applied were undone (exit 3) or not all of them (exit 4).
type FailedError struct {
	Action  string
	Err     error
	UndoErr error
}

func (e *FailedError) Error() string {
	msg := fmt.Sprintf("%s failed: %v", e.Action, e.Err)
	if e.UndoErr != nil {
		return msg + "; undoing what was done failed too, fix by hand: " + e.UndoErr.Error()
	}
	return msg + "; what was done before it was undone"
}

func (e *FailedError) Unwrap() error { return e.Err }

// ExitCode implements exitcode.Coder.
func (e *FailedError) ExitCode() int {
	if e.UndoErr != nil {
		return exitcode.NeedsHuman
	}
	return exitcode.Failed
}

// RefusedError means an action could not even be planned (a service, rule
// or schedule that does not exist, credentials refused): nothing was
// changed. Exit code 2.
type RefusedError struct {
	Action string
	Err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s: %v; nothing was changed", e.Action, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// ExitCode implements exitcode.Coder.
func (e *RefusedError) ExitCode() int { return exitcode.Usage }

// Run applies a phase's actions in order, verifying each. Every action is
// planned first, so that a resource that does not exist stops the phase
// before anything changes. When an action fails, the ones applied so far
// (it included) are undone in reverse order.
func (r *Runner) Run(ctx context.Context, p Phase) error {
	actions := r.Actions(p)
	for _, a := range actions {
		if _, err := a.Plan(ctx); err != nil {
			return &RefusedError{Action: a.Name(), Err: err}
		}
	}
	for i, a := range actions {
		r.log.Info().Str("action", a.Name()).Msg("applying")
		err := a.Apply(ctx)
		if err == nil {
			err = a.Verify(ctx)
		}
		if err != nil {
			r.log.Error().Err(err).Str("action", a.Name()).Msg("action failed; undoing what was done")
			return &FailedError{Action: a.Name(), Err: err, UndoErr: r.undo(context.WithoutCancel(ctx), actions[:i+1])}
		}
		r.log.Info().Str("action", a.Name()).Msg("done")
	}
	return nil
}

// ForgetStop drops what app stop recorded, once app start has restored
// it, so that the next app stop records afresh. What app deploy recorded
// stays, for undoing the deploy.
func (r *Runner) ForgetStop() error {
	for _, a := range phaseActions(r.cfg.App, Stop) {
		if rec := r.state.Resources[a.Kind+" "+(base{spec: a}).resource()]; rec != nil {
			rec.StoppedCount, rec.WasEnabled, rec.Schedule = nil, nil, nil
		}
	}
	return r.save()
}

// Forget drops everything recorded: a new night records afresh what it
// stops and what it deploys, from the services as they are then.
func (r *Runner) Forget() error {
	r.state.Resources = map[string]*resourceState{}
	return r.save()
}

// Undo undoes a phase's actions in reverse order, as far as they record
// something to undo.
func (r *Runner) Undo(ctx context.Context, p Phase) error {
	return r.undo(ctx, r.Actions(p))
}

func (r *Runner) undo(ctx context.Context, actions []Action) error {
	var errs []error
	for i := len(actions) - 1; i >= 0; i-- {
		a := actions[i]
		if err := a.Undo(ctx); err != nil {
			r.log.Error().Err(err).Str("action", a.Name()).Msg("undo failed")
			errs = append(errs, fmt.Errorf("%s: %w", a.Name(), err))
			continue
		}
		r.log.Info().Str("action", a.Name()).Msg("undone")
	}
	return errors.Join(errs...)
}

// base is what every action shares.
type base struct {
	r     *Runner
	phase Phase
	index int
	spec  config.Action
}

func (b base) Name() string {
	name := b.spec.Name
	if name == "" {
		name = b.resource()
	}
	return fmt.Sprintf("%s[%d] %s %s", b.phase, b.index, b.spec.Kind, name)
}

// key is the configuration key of one of the action's fields.
func (b base) key(field string) string {
	return fmt.Sprintf("app.%s[%d].%s", b.phase, b.index, field)
}

// resource names what the action acts on, across phases: the stop and the
// start of one rule share what was recorded.
func (b base) resource() string {
	a := b.spec
	switch a.Kind {
	case config.ActionECSService:
		return a.Cluster + "/" + a.Service
	case config.ActionEventBridgeRule:
		return orDefault(a.EventBus) + "/" + a.Rule
	case config.ActionSchedulerSchedule:
		return orDefault(a.Group) + "/" + a.Schedule
	case config.ActionExec:
		return fmt.Sprint(a.Command)
	}
	return a.URL
}

func (b base) recorded() *resourceState {
	key := b.spec.Kind + " " + b.resource()
	s := b.r.state.Resources[key]
	if s == nil {
		s = &resourceState{}
		b.r.state.Resources[key] = s
	}
	return s
}

// timeout is the action's bound, or def.
func (b base) timeout(def time.Duration) time.Duration {
	if b.spec.Timeout > 0 {
		return b.spec.Timeout
	}
	return def
}

// waitUntil polls done until it reports true, an error, or the timeout.
func (b base) waitUntil(ctx context.Context, timeout time.Duration, what string, done func(ctx context.Context) (bool, string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := ""
	for {
		ok, state, err := done(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			return err
		case ok:
			return nil
		}
		if state != last {
			b.r.log.Info().Str("action", b.Name()).Str("state", state).Msg("waiting for " + what)
			last = state
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not reached within %s (last: %s)", what, timeout, last)
		case <-time.After(b.r.poll):
		}
	}
}

func orDefault(s string) string {
	if s == "" {
		return "default"
	}
	return s
}

func phaseActions(app config.App, p Phase) []config.Action {
	switch p {
	case Stop:
		return app.Stop
	case Deploy:
		return app.Deploy
	}
	return app.Start
}
