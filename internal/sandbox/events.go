package sandbox

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ebRule is an EventBridge rule whose ECS target runs on its schedule.
type ebRule struct {
	name, bus  string
	expression string
	state      string // ENABLED or DISABLED
	target     ebTarget
	lastFired  time.Time
}

// ebTarget is a rule's (or schedule's) ECS target.
type ebTarget struct {
	ID, ClusterARN, TaskDefinition string
}

// PutRule creates an EventBridge rule on the default bus that runs one
// task of taskDef in cluster on expression, e.g. "rate(2 seconds)".
func (e *AWS) PutRule(name, expression, cluster, taskDef string, enabled bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := &ebRule{name: name, bus: "default", expression: expression, state: state(enabled), lastFired: time.Now(),
		target: ebTarget{ID: "ecs", ClusterARN: ClusterARN(cluster), TaskDefinition: e.taskDef(taskDef).arn}}
	e.cluster(cluster)
	e.rules["default/"+name] = r
}

func state(enabled bool) string {
	if enabled {
		return "ENABLED"
	}
	return "DISABLED"
}

// RuleState returns ENABLED or DISABLED.
func (e *AWS) RuleState(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.rules["default/"+name]; r != nil {
		return r.state
	}
	return ""
}

func (e *AWS) serveEvents(w http.ResponseWriter, op string, body []byte) {
	var in struct {
		Name         string `json:"Name"`
		Rule         string `json:"Rule"`
		EventBusName string `json:"EventBusName"`
	}
	if !decode(w, body, &in) {
		return
	}
	name := in.Name
	if op == "ListTargetsByRule" {
		name = in.Rule
	}
	bus := lastSegment(in.EventBusName)
	if bus == "" {
		bus = "default"
	}
	r := e.rules[bus+"/"+name]
	if r == nil {
		awsError(w, http.StatusBadRequest, "ResourceNotFoundException", fmt.Sprintf("Rule %s does not exist on EventBus %s.", name, bus))
		return
	}
	switch op {
	case "DescribeRule":
		reply(w, map[string]any{"Name": r.name, "Arn": fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", emuRegion, emuAccount, r.name),
			"State": r.state, "ScheduleExpression": r.expression, "EventBusName": r.bus})
	case "EnableRule":
		r.state = "ENABLED"
		r.lastFired = time.Now()
		reply(w, map[string]any{})
	case "DisableRule":
		r.state = "DISABLED"
		reply(w, map[string]any{})
	case "ListTargetsByRule":
		reply(w, map[string]any{"Targets": []any{map[string]any{"Id": r.target.ID, "Arn": r.target.ClusterARN,
			"RoleArn":       fmt.Sprintf("arn:aws:iam::%s:role/ecsEventsRole", emuAccount),
			"EcsParameters": map[string]any{"TaskDefinitionArn": r.target.TaskDefinition, "TaskCount": 1}}}})
	default:
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "the emulator does not implement EventBridge "+op)
	}
}

// fire runs the targets of the enabled rules and schedules that are due.
func (e *AWS) fire() {
	now := time.Now()
	for _, r := range e.rules {
		if r.state == "ENABLED" && due(r.expression, r.lastFired, now) {
			r.lastFired = now
			e.runTarget(r.target, "events-rule/"+r.name)
		}
	}
	for _, s := range e.schedules {
		if s.doc.State == "ENABLED" && due(s.doc.ScheduleExpression, s.lastFired, now) {
			s.lastFired = now
			e.runTarget(ebTarget{ClusterARN: s.doc.Target.Arn, TaskDefinition: s.doc.Target.EcsParameters.TaskDefinitionArn}, "scheduler/"+s.doc.Name)
		}
	}
}

func (e *AWS) runTarget(t ebTarget, startedBy string) {
	td := e.taskDef(t.TaskDefinition)
	if td == nil {
		return
	}
	e.runTask(e.cluster(t.ClusterARN), td, "family:"+td.family, startedBy, nil)
}

// due reports whether a rate(N unit) schedule last run at last is due.
func due(expression string, last, now time.Time) bool {
	every, ok := rate(expression)
	return ok && now.Sub(last) >= every
}

func rate(expression string) (time.Duration, bool) {
	inner, ok := strings.CutPrefix(expression, "rate(")
	if !ok {
		return 0, false
	}
	n, unit, ok := strings.Cut(strings.TrimSuffix(inner, ")"), " ")
	v, err := strconv.Atoi(n)
	if !ok || err != nil || v <= 0 {
		return 0, false
	}
	switch strings.TrimSuffix(unit, "s") {
	case "second":
		return time.Duration(v) * time.Second, true
	case "minute":
		return time.Duration(v) * time.Minute, true
	case "hour":
		return time.Duration(v) * time.Hour, true
	case "day":
		return time.Duration(v) * 24 * time.Hour, true
	}
	return 0, false
}
