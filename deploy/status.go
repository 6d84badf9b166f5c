package deploy

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/switcharoo/switcharoo/internal/config"
)

// ResourceStatus is the current state of a resource the actions act on.
type ResourceStatus struct {
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
	State    string `json:"state"`
	// Recorded is what app stop (or deploy) recorded to restore later.
	Recorded string `json:"recorded,omitempty"`
}

// Status reads each ECS service, rule and schedule of the app section once.
func (r *Runner) Status(ctx context.Context) ([]ResourceStatus, error) {
	var out []ResourceStatus
	var seen []string
	for _, p := range Phases {
		for _, a := range r.Actions(p) {
			var b base
			switch x := a.(type) {
			case *ecsService:
				b = x.base
			case *rule:
				b = x.base
			case *sched:
				b = x.base
			default:
				continue
			}
			key := b.spec.Kind + " " + b.resource()
			if slices.Contains(seen, key) {
				continue
			}
			seen = append(seen, key)
			st, err := r.status(ctx, a)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
	}
	return out, nil
}

func (r *Runner) status(ctx context.Context, a Action) (ResourceStatus, error) {
	switch x := a.(type) {
	case *ecsService:
		s, err := x.describe(ctx)
		if err != nil {
			return ResourceStatus{}, err
		}
		rec := x.recorded()
		recorded := ""
		if rec.StoppedCount != nil {
			recorded = fmt.Sprintf("count before stop: %d", *rec.StoppedCount)
		}
		if rec.PreviousTaskDefinition != "" {
			recorded += fmt.Sprintf("; redeployed from %s to %s", revision(rec.PreviousTaskDefinition), revision(rec.NewTaskDefinition))
		}
		return ResourceStatus{Kind: config.ActionECSService, Resource: x.resource(), Recorded: recorded,
			State: fmt.Sprintf("%s, %d desired, %d running", revision(aws.ToString(s.TaskDefinition)), s.DesiredCount, s.RunningCount)}, nil
	case *rule:
		d, err := x.describe(ctx)
		if err != nil {
			return ResourceStatus{}, err
		}
		return ResourceStatus{Kind: config.ActionEventBridgeRule, Resource: x.resource(), State: string(d.State),
			Recorded: "enabled before stop: " + enabledString(x.recorded().WasEnabled)}, nil
	default:
		s := a.(*sched)
		g, err := s.get(ctx)
		if err != nil {
			return ResourceStatus{}, err
		}
		return ResourceStatus{Kind: config.ActionSchedulerSchedule, Resource: s.resource(), State: string(g.State),
			Recorded: "enabled before stop: " + enabledString(s.recorded().WasEnabled)}, nil
	}
}
