package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// Scheduled jobs: app stop disables an EventBridge rule or Scheduler
// schedule (recording whether it was enabled) and then waits for the ECS
// tasks it started to finish; app start restores exactly those that were
// enabled. A schedule is saved whole before it is disabled, because
// UpdateSchedule replaces everything it is not given.

const cronTimeout = 10 * time.Minute

// ecsTarget is where a job runs: a cluster and a task definition.
type ecsTarget struct {
	cluster, taskDef string
}

// drain waits until no job of the targets' task definition families that
// started before the schedule was disabled (plus the runner's drainMargin,
// for an invocation already under way and for the difference between this
// machine's clock and AWS's) still runs outside a service. Jobs started
// later belong to another schedule that shares the family and is still
// enabled.
func (b base) drain(ctx context.Context, targets []ecsTarget, disabledAt time.Time) error {
	if len(targets) == 0 {
		return nil
	}
	cutoff := disabledAt.Add(b.r.drainMargin)
	return b.waitUntil(ctx, b.timeout(cronTimeout), "its running jobs to finish", func(ctx context.Context) (bool, string, error) {
		var running []string
		for _, t := range targets {
			tasks, err := jobTasks(ctx, b.r.aws.ecs, t, cutoff)
			if err != nil {
				return false, "", err
			}
			running = append(running, tasks...)
		}
		return len(running) == 0, fmt.Sprintf("%d jobs running %s", len(running), strings.Join(running, ", ")), nil
	})
}

// jobTasks lists the running tasks of the target's family not run by a
// service, started before cutoff.
func jobTasks(ctx context.Context, c *ecs.Client, t ecsTarget, cutoff time.Time) ([]string, error) {
	family := revision(t.taskDef)
	family, _, _ = strings.Cut(family, ":")
	list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(t.cluster), Family: aws.String(family),
		DesiredStatus: ecstypes.DesiredStatusRunning})
	if err != nil {
		return nil, fmt.Errorf("ECS: list tasks of %s: %w", family, err)
	}
	if len(list.TaskArns) == 0 {
		return nil, nil
	}
	out, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(t.cluster), Tasks: list.TaskArns})
	if err != nil {
		return nil, fmt.Errorf("ECS: describe tasks of %s: %w", family, err)
	}
	var running []string
	for _, task := range out.Tasks {
		if !strings.HasPrefix(aws.ToString(task.Group), "service:") && aws.ToString(task.LastStatus) != "STOPPED" &&
			(task.StartedAt == nil || task.StartedAt.Before(cutoff)) {
			running = append(running, revision(aws.ToString(task.TaskArn)))
		}
	}
	return running, nil
}

// rule is an EventBridge rule.
type rule struct{ base }

func (a *rule) describe(ctx context.Context) (*eventbridge.DescribeRuleOutput, error) {
	out, err := a.r.aws.events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(a.spec.Rule), EventBusName: a.bus()})
	var nf *ebtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("EventBridge rule %q not found on bus %s; check %s and aws.region", a.spec.Rule, orDefault(a.spec.EventBus), a.key("rule"))
	}
	if err != nil {
		return nil, fmt.Errorf("EventBridge: describe rule %s: %w", a.spec.Rule, err)
	}
	return out, nil
}

func (a *rule) bus() *string {
	if a.spec.EventBus == "" {
		return nil
	}
	return aws.String(a.spec.EventBus)
}

func (a *rule) Plan(ctx context.Context) (string, error) {
	r, err := a.describe(ctx)
	if err != nil {
		return "", err
	}
	if a.phase == Stop {
		return fmt.Sprintf("disable rule %s (now %s, %s), then wait for the jobs it started", a.spec.Rule, r.State, aws.ToString(r.ScheduleExpression)), nil
	}
	return fmt.Sprintf("enable rule %s (now %s) if app stop found it enabled (%s)", a.spec.Rule, r.State, foundString(a.recorded().WasEnabled)), nil
}

// foundString says what app stop found, for a plan: before the night's
// stop has run, nothing.
func foundString(b *bool) string {
	if b == nil {
		return "app stop has not run yet"
	}
	return "found enabled: " + enabledString(b)
}

func enabledString(b *bool) string {
	switch {
	case b == nil:
		return "nothing recorded"
	case *b:
		return "yes"
	}
	return "no"
}

func (a *rule) Apply(ctx context.Context) error {
	r, err := a.describe(ctx)
	if err != nil {
		return err
	}
	rec := a.recorded()
	if a.phase != Stop {
		return a.restore(ctx, r.State)
	}
	if rec.WasEnabled == nil {
		enabled := r.State == ebtypes.RuleStateEnabled
		rec.WasEnabled, rec.ChangedAt = &enabled, time.Now().UTC()
		if err := a.r.save(); err != nil {
			return err
		}
	}
	if r.State != ebtypes.RuleStateDisabled {
		if _, err := a.r.aws.events.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String(a.spec.Rule), EventBusName: a.bus()}); err != nil {
			return fmt.Errorf("EventBridge: disable rule %s: %w", a.spec.Rule, err)
		}
	}
	disabledAt := time.Now()
	targets, err := a.targets(ctx)
	if err != nil {
		return err
	}
	return a.drain(ctx, targets, disabledAt)
}

func (a *rule) restore(ctx context.Context, now ebtypes.RuleState) error {
	was := a.recorded().WasEnabled
	if was == nil {
		a.r.log.Info().Str("action", a.Name()).Msg("nothing recorded by app stop to restore; rule left as it is")
		return nil
	}
	if *was && now != ebtypes.RuleStateEnabled {
		if _, err := a.r.aws.events.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String(a.spec.Rule), EventBusName: a.bus()}); err != nil {
			return fmt.Errorf("EventBridge: enable rule %s: %w", a.spec.Rule, err)
		}
	}
	return nil
}

func (a *rule) targets(ctx context.Context) ([]ecsTarget, error) {
	out, err := a.r.aws.events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(a.spec.Rule), EventBusName: a.bus()})
	if err != nil {
		return nil, fmt.Errorf("EventBridge: targets of rule %s: %w", a.spec.Rule, err)
	}
	var targets []ecsTarget
	for _, t := range out.Targets {
		if t.EcsParameters != nil && strings.Contains(aws.ToString(t.Arn), ":cluster/") {
			targets = append(targets, ecsTarget{cluster: aws.ToString(t.Arn), taskDef: aws.ToString(t.EcsParameters.TaskDefinitionArn)})
		}
	}
	return targets, nil
}

func (a *rule) Verify(ctx context.Context) error {
	r, err := a.describe(ctx)
	if err != nil {
		return err
	}
	want := ebtypes.RuleStateDisabled
	if a.phase != Stop {
		if was := a.recorded().WasEnabled; was == nil || !*was {
			return nil
		}
		want = ebtypes.RuleStateEnabled
	}
	if r.State != want {
		return fmt.Errorf("rule %s is %s, want %s", a.spec.Rule, r.State, want)
	}
	return nil
}

func (a *rule) Undo(ctx context.Context) error {
	if a.phase != Stop {
		return nil // what start enabled stays enabled
	}
	r, err := a.describe(ctx)
	if err != nil {
		return err
	}
	return a.restore(ctx, r.State)
}

// sched is an EventBridge Scheduler schedule.
type sched struct{ base }

func (a *sched) get(ctx context.Context) (*scheduler.GetScheduleOutput, error) {
	out, err := a.r.aws.scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(a.spec.Schedule), GroupName: aws.String(orDefault(a.spec.Group))})
	var nf *schedtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("schedule %q not found in group %s; check %s and %s", a.spec.Schedule, orDefault(a.spec.Group), a.key("schedule"), a.key("group"))
	}
	if err != nil {
		return nil, fmt.Errorf("Scheduler: get schedule %s: %w", a.spec.Schedule, err)
	}
	return out, nil
}

func (a *sched) Plan(ctx context.Context) (string, error) {
	s, err := a.get(ctx)
	if err != nil {
		return "", err
	}
	if a.phase == Stop {
		return fmt.Sprintf("save schedule %s whole, disable it (now %s, %s), then wait for the jobs it started", a.spec.Schedule, s.State, aws.ToString(s.ScheduleExpression)), nil
	}
	return fmt.Sprintf("restore schedule %s as app stop saved it (now %s; %s)", a.spec.Schedule, s.State, foundString(a.recorded().WasEnabled)), nil
}

func (a *sched) Apply(ctx context.Context) error {
	if a.phase != Stop {
		return a.restore(ctx)
	}
	s, err := a.get(ctx)
	if err != nil {
		return err
	}
	rec := a.recorded()
	if rec.Schedule == nil {
		enabled := s.State == schedtypes.ScheduleStateEnabled
		rec.WasEnabled, rec.ChangedAt = &enabled, time.Now().UTC()
		rec.Schedule = &savedSchedule{ActionAfterCompletion: s.ActionAfterCompletion, Description: s.Description, EndDate: s.EndDate,
			FlexibleTimeWindow: s.FlexibleTimeWindow, KmsKeyArn: s.KmsKeyArn, ScheduleExpression: s.ScheduleExpression,
			ScheduleExpressionTimezone: s.ScheduleExpressionTimezone, StartDate: s.StartDate, State: s.State, Target: s.Target}
		if err := a.r.save(); err != nil {
			return err
		}
	}
	if s.State != schedtypes.ScheduleStateDisabled {
		if err := a.update(ctx, schedtypes.ScheduleStateDisabled); err != nil {
			return err
		}
	}
	disabledAt := time.Now()
	var targets []ecsTarget
	if t := rec.Schedule.Target; t != nil && t.EcsParameters != nil {
		targets = append(targets, ecsTarget{cluster: aws.ToString(t.Arn), taskDef: aws.ToString(t.EcsParameters.TaskDefinitionArn)})
	}
	return a.drain(ctx, targets, disabledAt)
}

// update writes the saved schedule back whole, in the given state.
func (a *sched) update(ctx context.Context, state schedtypes.ScheduleState) error {
	s := a.recorded().Schedule
	_, err := a.r.aws.scheduler.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
		Name: aws.String(a.spec.Schedule), GroupName: aws.String(orDefault(a.spec.Group)),
		ActionAfterCompletion: s.ActionAfterCompletion, Description: s.Description, EndDate: s.EndDate,
		FlexibleTimeWindow: s.FlexibleTimeWindow, KmsKeyArn: s.KmsKeyArn, ScheduleExpression: s.ScheduleExpression,
		ScheduleExpressionTimezone: s.ScheduleExpressionTimezone, StartDate: s.StartDate, State: state, Target: s.Target,
	})
	if err != nil {
		return fmt.Errorf("Scheduler: update schedule %s: %w", a.spec.Schedule, err)
	}
	return nil
}

func (a *sched) restore(ctx context.Context) error {
	rec := a.recorded()
	if rec.Schedule == nil {
		a.r.log.Info().Str("action", a.Name()).Msg("nothing recorded by app stop to restore; schedule left as it is")
		return nil
	}
	return a.update(ctx, rec.Schedule.State)
}

func (a *sched) Verify(ctx context.Context) error {
	s, err := a.get(ctx)
	if err != nil {
		return err
	}
	want := schedtypes.ScheduleStateDisabled
	if a.phase != Stop {
		rec := a.recorded()
		if rec.Schedule == nil {
			return nil
		}
		want = rec.Schedule.State
	}
	if s.State != want {
		return fmt.Errorf("schedule %s is %s, want %s", a.spec.Schedule, s.State, want)
	}
	return nil
}

func (a *sched) Undo(ctx context.Context) error {
	if a.phase != Stop {
		return nil
	}
	return a.restore(ctx)
}
