package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/switcharoo/switcharoo/internal/config"
)

// ecsService scales a service to 0 (stop), redeploys it with a new task
// definition revision (deploy), or brings it back to the count stop found
// (start).
//
// A redeploy counts as done only when the deployment it created reports
// rolloutState COMPLETED and the service's primary deployment runs the new
// revision: ECS's own services-stable waiter also succeeds after a
// circuit-breaker rollback to the old revision, which is a failure here.
type ecsService struct{ base }

const ecsTimeout = 10 * time.Minute

func (a *ecsService) describe(ctx context.Context) (*types.Service, error) {
	out, err := a.r.aws.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster: aws.String(a.spec.Cluster), Services: []string{a.spec.Service}})
	var nf *types.ClusterNotFoundException
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("ECS cluster %q not found; check %s and aws.region", a.spec.Cluster, a.key("cluster"))
	}
	if err != nil {
		return nil, fmt.Errorf("ECS: describe service %s: %w", a.resource(), err)
	}
	for _, s := range out.Services {
		if aws.ToString(s.Status) != "INACTIVE" {
			return &s, nil
		}
	}
	return nil, fmt.Errorf("ECS service %q not found in cluster %q; check %s", a.spec.Service, a.spec.Cluster, a.key("service"))
}

func (a *ecsService) Plan(ctx context.Context) (string, error) {
	s, err := a.describe(ctx)
	if err != nil {
		return "", err
	}
	rev := revision(aws.ToString(s.TaskDefinition))
	switch a.phase {
	case Stop:
		return fmt.Sprintf("scale %s (running %s) from %d tasks to 0, wait until none runs", a.resource(), rev, s.DesiredCount), nil
	case Deploy:
		if err := a.keepsCapacity(s); err != nil {
			return "", err
		}
		var changes []string
		for _, e := range a.spec.Environment {
			changes = append(changes, e.Name+"="+e.Value)
		}
		if a.spec.Image != "" {
			changes = append(changes, "image "+a.spec.Image)
		}
		return fmt.Sprintf("register a revision of %s with %s; run it with %d tasks on %s; wait for the rollout to complete",
			rev, strings.Join(changes, ", "), a.deployCount(s), a.resource()), nil
	}
	return fmt.Sprintf("scale %s from %d tasks back to %s", a.resource(), s.DesiredCount, countString(a.recorded().StoppedCount)), nil
}

// keepsCapacity refuses, in a night that keeps serving, a redeploy that
// may stop running tasks before their replacements serve: a service whose
// minimumHealthyPercent is below 100 (ECS's default for a replica
// service is 100).
func (a *ecsService) keepsCapacity(s *types.Service) error {
	if a.r.cfg.Cutover.AppMode != config.AppModeKeepServing {
		return nil
	}
	if dc := s.DeploymentConfiguration; dc != nil && dc.MinimumHealthyPercent != nil && *dc.MinimumHealthyPercent < 100 {
		return fmt.Errorf("%s: minimumHealthyPercent is %d: its rolling update would stop running tasks before their replacements serve, and cutover.app_mode: %s never drops running capacity; set the service's minimumHealthyPercent to 100 (maximumPercent 200), or use app_mode: %s",
			a.resource(), *dc.MinimumHealthyPercent, config.AppModeKeepServing, config.AppModeStopAll)
	}
	return nil
}

func countString(n *int) string {
	if n == nil {
		return "its count before app stop (none recorded: left as is)"
	}
	return fmt.Sprintf("%d", *n)
}

func (a *ecsService) Apply(ctx context.Context) error {
	switch a.phase {
	case Stop:
		return a.stop(ctx)
	case Deploy:
		return a.redeploy(ctx)
	}
	return a.restoreCount(ctx)
}

func (a *ecsService) Verify(ctx context.Context) error {
	s, err := a.describe(ctx)
	if err != nil {
		return err
	}
	switch a.phase {
	case Stop:
		if s.DesiredCount != 0 || s.RunningCount != 0 {
			return fmt.Errorf("%s should run no task: desired %d, running %d", a.resource(), s.DesiredCount, s.RunningCount)
		}
	case Deploy:
		if done, state := rolledOut(s, a.recorded().NewTaskDefinition); !done {
			return fmt.Errorf("%s: %s", a.resource(), state)
		}
	default:
		if n := a.recorded().StoppedCount; n != nil && (s.DesiredCount != int32(*n) || s.RunningCount != int32(*n)) {
			return fmt.Errorf("%s should run %d tasks: desired %d, running %d", a.resource(), *n, s.DesiredCount, s.RunningCount)
		}
	}
	return nil
}

func (a *ecsService) Undo(ctx context.Context) error {
	rec := a.recorded()
	switch a.phase {
	case Stop:
		return a.restoreCount(ctx)
	case Deploy:
		if rec.PreviousTaskDefinition == "" {
			return nil // never redeployed
		}
		count := 0
		if rec.PreviousCount != nil {
			count = *rec.PreviousCount
		}
		if err := a.update(ctx, rec.PreviousTaskDefinition, count); err != nil {
			return err
		}
		// Every task of the night's revision gone, not only the count
		// running: those still serving reach the database the night's way.
		err := a.waitUntil(ctx, a.timeout(ecsTimeout), "the previous revision to run", func(ctx context.Context) (bool, string, error) {
			s, err := a.describe(ctx)
			if err != nil {
				return false, "", err
			}
			if count == 0 {
				return s.RunningCount == 0 && s.PendingCount == 0, fmt.Sprintf("%d tasks running", s.RunningCount), nil
			}
			done, state := rolledOut(s, rec.PreviousTaskDefinition)
			return done, state, nil
		})
		if err != nil {
			return err
		}
		// Undone: the next deploy registers a revision afresh, from the
		// configuration it is given then.
		rec.PreviousTaskDefinition, rec.PreviousCount, rec.NewTaskDefinition = "", nil, ""
		return a.r.save()
	}
	return nil // starting again is not undone
}

// stop records the desired count and scales the service to 0.
func (a *ecsService) stop(ctx context.Context) error {
	s, err := a.describe(ctx)
	if err != nil {
		return err
	}
	rec := a.recorded()
	if rec.StoppedCount == nil || (*rec.StoppedCount == 0 && s.DesiredCount > 0) {
		n := int(s.DesiredCount)
		rec.StoppedCount, rec.ChangedAt = &n, time.Now().UTC()
		if err := a.r.save(); err != nil {
			return err
		}
	}
	if s.DesiredCount != 0 {
		if _, err := a.r.aws.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(a.spec.Cluster),
			Service: aws.String(a.spec.Service), DesiredCount: aws.Int32(0)}); err != nil {
			return fmt.Errorf("ECS: scale %s to 0: %w", a.resource(), err)
		}
	}
	return a.waitUntil(ctx, a.timeout(ecsTimeout), "no task to run", func(ctx context.Context) (bool, string, error) {
		s, err := a.describe(ctx)
		if err != nil {
			return false, "", err
		}
		return s.RunningCount == 0 && s.PendingCount == 0, fmt.Sprintf("%d running, %d pending", s.RunningCount, s.PendingCount), nil
	})
}

// restoreCount scales the service back to the count app stop found.
func (a *ecsService) restoreCount(ctx context.Context) error {
	n := a.recorded().StoppedCount
	if n == nil {
		a.r.log.Info().Str("action", a.Name()).Msg("nothing recorded by app stop to restore; service left as it is")
		return nil
	}
	s, err := a.describe(ctx)
	if err != nil {
		return err
	}
	if s.DesiredCount != int32(*n) {
		if _, err := a.r.aws.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(a.spec.Cluster),
			Service: aws.String(a.spec.Service), DesiredCount: aws.Int32(int32(*n))}); err != nil {
			return fmt.Errorf("ECS: scale %s to %d: %w", a.resource(), *n, err)
		}
	}
	return a.waitUntil(ctx, a.timeout(ecsTimeout), fmt.Sprintf("%d tasks to run", *n), func(ctx context.Context) (bool, string, error) {
		s, err := a.describe(ctx)
		if err != nil {
			return false, "", err
		}
		return s.RunningCount == int32(*n) && s.PendingCount == 0, fmt.Sprintf("%d of %d running", s.RunningCount, *n), nil
	})
}

// deployCount is how many tasks the redeployed service runs: the count app
// stop found, else its current count.
func (a *ecsService) deployCount(s *types.Service) int {
	if n := a.recorded().StoppedCount; n != nil && *n > 0 {
		return *n
	}
	return int(s.DesiredCount)
}

// redeploy registers a revision copied from the running one with the
// configured environment and image, runs it, and waits for its rollout.
func (a *ecsService) redeploy(ctx context.Context) error {
	s, err := a.describe(ctx)
	if err != nil {
		return err
	}
	rec := a.recorded()
	count := a.deployCount(s)
	if count == 0 {
		return fmt.Errorf("%s runs no task and app stop recorded no count to redeploy with; scale it up first", a.resource())
	}
	current := aws.ToString(s.TaskDefinition)
	if rec.PreviousTaskDefinition == "" || (current != rec.NewTaskDefinition && current != rec.PreviousTaskDefinition) {
		n := int(s.DesiredCount)
		rec.PreviousTaskDefinition, rec.PreviousCount, rec.NewTaskDefinition = current, &n, ""
	}
	if rec.NewTaskDefinition == "" {
		arn, err := a.register(ctx, rec.PreviousTaskDefinition)
		if err != nil {
			return err
		}
		rec.NewTaskDefinition = arn
		rec.ChangedAt = time.Now().UTC()
		a.r.log.Info().Str("action", a.Name()).Str("revision", revision(arn)).Msg("task definition registered")
	}
	if err := a.r.save(); err != nil {
		return err
	}
	if current != rec.NewTaskDefinition || s.DesiredCount != int32(count) {
		if err := a.update(ctx, rec.NewTaskDefinition, count); err != nil {
			return err
		}
	}
	return a.waitUntil(ctx, a.timeout(ecsTimeout), "the rollout of "+revision(rec.NewTaskDefinition), func(ctx context.Context) (bool, string, error) {
		s, err := a.describe(ctx)
		if err != nil {
			return false, "", err
		}
		if failed := a.rollbackReason(s); failed != "" {
			return false, "", errors.New(failed)
		}
		done, state := rolledOut(s, rec.NewTaskDefinition)
		return done, state, nil
	})
}

func (a *ecsService) update(ctx context.Context, taskDef string, count int) error {
	_, err := a.r.aws.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(a.spec.Cluster), Service: aws.String(a.spec.Service),
		TaskDefinition: aws.String(taskDef), DesiredCount: aws.Int32(int32(count)), ForceNewDeployment: true})
	if err != nil {
		return fmt.Errorf("ECS: update %s to %s: %w", a.resource(), revision(taskDef), err)
	}
	return nil
}

// rolledOut reports whether the deployment of revision want completed and
// is the service's primary, with every task running, and no task of an
// earlier deployment runs any more: until then the load balancer still
// sends users to tasks configured the old way.
func rolledOut(s *types.Service, want string) (bool, string) {
	var primary *types.Deployment
	draining := int32(0)
	for i, d := range s.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			primary = &s.Deployments[i]
		} else {
			draining += d.RunningCount
		}
	}
	if primary == nil {
		return false, "no primary deployment"
	}
	state := fmt.Sprintf("%s %s, %d of %d running", revision(aws.ToString(primary.TaskDefinition)), primary.RolloutState, primary.RunningCount, primary.DesiredCount)
	if draining > 0 {
		state += fmt.Sprintf(", %d tasks of earlier revisions still running", draining)
	}
	return aws.ToString(primary.TaskDefinition) == want && primary.RolloutState == types.DeploymentRolloutStateCompleted &&
		primary.RunningCount == primary.DesiredCount && draining == 0, state
}

// rollbackReason says why the new revision's deployment failed, if it did:
// rolloutState FAILED, or the service back on another revision.
func (a *ecsService) rollbackReason(s *types.Service) string {
	want := a.recorded().NewTaskDefinition
	for _, d := range s.Deployments {
		if aws.ToString(d.TaskDefinition) == want && d.RolloutState == types.DeploymentRolloutStateFailed {
			return fmt.Sprintf("the deployment of %s failed: %s", revision(want), aws.ToString(d.RolloutStateReason))
		}
	}
	if primary := aws.ToString(s.TaskDefinition); primary != want && !slices.ContainsFunc(s.Deployments, func(d types.Deployment) bool {
		return aws.ToString(d.TaskDefinition) == want
	}) {
		return fmt.Sprintf("the deployment of %s was rolled back: the service runs %s", revision(want), revision(primary))
	}
	return ""
}

// register copies a revision with the configured changes.
func (a *ecsService) register(ctx context.Context, from string) (string, error) {
	out, err := a.r.aws.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(from)})
	if err != nil {
		return "", fmt.Errorf("ECS: describe %s: %w", revision(from), err)
	}
	td := out.TaskDefinition
	containers := slices.Clone(td.ContainerDefinitions)
	if a.spec.Image != "" && a.spec.Container == "" && len(containers) > 1 {
		return "", fmt.Errorf("%s has %d containers: set app.deploy[%d].container to say which gets image %s", revision(from), len(containers), a.index, a.spec.Image)
	}
	found := false
	for i := range containers {
		c := &containers[i]
		if a.spec.Container != "" && aws.ToString(c.Name) != a.spec.Container {
			continue
		}
		found = true
		if a.spec.Image != "" {
			c.Image = aws.String(a.spec.Image)
		}
		c.Environment = slices.Clone(c.Environment)
		for _, e := range a.spec.Environment {
			i := slices.IndexFunc(c.Environment, func(kv types.KeyValuePair) bool { return aws.ToString(kv.Name) == e.Name })
			if i >= 0 {
				c.Environment[i].Value = aws.String(e.Value)
			} else {
				c.Environment = append(c.Environment, types.KeyValuePair{Name: aws.String(e.Name), Value: aws.String(e.Value)})
			}
		}
	}
	if !found {
		return "", fmt.Errorf("%s has no container named %q (app.deploy[%d].container)", revision(from), a.spec.Container, a.index)
	}
	reg, err := a.r.aws.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  td.Family,
		ContainerDefinitions:    containers,
		Cpu:                     td.Cpu,
		Memory:                  td.Memory,
		NetworkMode:             td.NetworkMode,
		ExecutionRoleArn:        td.ExecutionRoleArn,
		TaskRoleArn:             td.TaskRoleArn,
		RequiresCompatibilities: td.RequiresCompatibilities,
		Volumes:                 td.Volumes,
		PlacementConstraints:    td.PlacementConstraints,
		RuntimePlatform:         td.RuntimePlatform,
		EphemeralStorage:        td.EphemeralStorage,
		IpcMode:                 td.IpcMode,
		PidMode:                 td.PidMode,
		ProxyConfiguration:      td.ProxyConfiguration,
		EnableFaultInjection:    td.EnableFaultInjection,
	})
	if err != nil {
		return "", fmt.Errorf("ECS: register a revision of %s: %w", aws.ToString(td.Family), err)
	}
	return aws.ToString(reg.TaskDefinition.TaskDefinitionArn), nil
}

// revision shortens a task definition ARN to family:revision.
func revision(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
