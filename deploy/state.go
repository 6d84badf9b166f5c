package deploy

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// stateFile, in state_dir, keeps what the actions must remember between
// commands (app stop today, app start tomorrow, a resume after a crash):
// counts, revisions and states as they were before switcharoo changed
// them. It is written before each change.
const stateFile = "app.json"

type state struct {
	Resources map[string]*resourceState `json:"resources"`
}

// resourceState is what is remembered of one resource. A value is
// recorded once, when it is first changed, so that running an action
// again after a crash never overwrites the original with switcharoo's own
// change.
type resourceState struct {
	// ECS service: the desired count app stop found (before scaling to 0).
	StoppedCount *int `json:"stopped_count,omitempty"`
	// ECS service, deploy: the revision and count before the redeploy, and
	// the revision registered for it.
	PreviousTaskDefinition string `json:"previous_task_definition,omitempty"`
	PreviousCount          *int   `json:"previous_count,omitempty"`
	NewTaskDefinition      string `json:"new_task_definition,omitempty"`
	// Rules and schedules: whether app stop found them enabled.
	WasEnabled *bool `json:"was_enabled,omitempty"`
	// Schedules: the whole schedule as app stop found it, because
	// UpdateSchedule replaces all of it.
	Schedule *savedSchedule `json:"schedule,omitempty"`

	ChangedAt time.Time `json:"changed_at,omitzero"`
}

// savedSchedule is every field UpdateSchedule takes.
type savedSchedule struct {
	ActionAfterCompletion      types.ActionAfterCompletion `json:"action_after_completion,omitempty"`
	Description                *string                     `json:"description,omitempty"`
	EndDate                    *time.Time                  `json:"end_date,omitempty"`
	FlexibleTimeWindow         *types.FlexibleTimeWindow   `json:"flexible_time_window,omitempty"`
	KmsKeyArn                  *string                     `json:"kms_key_arn,omitempty"`
	ScheduleExpression         *string                     `json:"schedule_expression,omitempty"`
	ScheduleExpressionTimezone *string                     `json:"schedule_expression_timezone,omitempty"`
	StartDate                  *time.Time                  `json:"start_date,omitempty"`
	State                      types.ScheduleState         `json:"state,omitempty"`
	Target                     *types.Target               `json:"target,omitempty"`
}
