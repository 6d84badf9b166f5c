package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// schedule is an EventBridge Scheduler schedule. UpdateSchedule replaces
// all of it, as the real service does: a field left out is gone.
type schedule struct {
	doc       scheduleDoc
	lastFired time.Time
}

type scheduleDoc struct {
	Arn                        string          `json:"Arn,omitempty"`
	Name                       string          `json:"Name,omitempty"`
	GroupName                  string          `json:"GroupName,omitempty"`
	State                      string          `json:"State,omitempty"`
	ScheduleExpression         string          `json:"ScheduleExpression,omitempty"`
	ScheduleExpressionTimezone string          `json:"ScheduleExpressionTimezone,omitempty"`
	Description                string          `json:"Description,omitempty"`
	FlexibleTimeWindow         *flexibleWindow `json:"FlexibleTimeWindow,omitempty"`
	Target                     scheduleTarget  `json:"Target"`
	ActionAfterCompletion      string          `json:"ActionAfterCompletion,omitempty"`
	KmsKeyArn                  string          `json:"KmsKeyArn,omitempty"`
	StartDate                  *float64        `json:"StartDate,omitempty"`
	EndDate                    *float64        `json:"EndDate,omitempty"`
	CreationDate               float64         `json:"CreationDate,omitempty"`
	LastModificationDate       float64         `json:"LastModificationDate,omitempty"`
}

type flexibleWindow struct {
	Mode                   string `json:"Mode"`
	MaximumWindowInMinutes *int   `json:"MaximumWindowInMinutes,omitempty"`
}

type scheduleTarget struct {
	Arn           string         `json:"Arn"`
	RoleArn       string         `json:"RoleArn"`
	Input         string         `json:"Input,omitempty"`
	EcsParameters ecsParameters  `json:"EcsParameters"`
	RetryPolicy   map[string]any `json:"RetryPolicy,omitempty"`
}

type ecsParameters struct {
	TaskDefinitionArn string `json:"TaskDefinitionArn"`
	TaskCount         int    `json:"TaskCount,omitempty"`
	LaunchType        string `json:"LaunchType,omitempty"`
}

// PutSchedule creates a schedule in group that runs one task of taskDef in
// cluster on expression, e.g. "rate(2 seconds)".
func (e *AWS) PutSchedule(group, name, expression, cluster, taskDef, description string, enabled bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cluster(cluster)
	now := epoch(time.Now())
	s := &schedule{lastFired: time.Now(), doc: scheduleDoc{
		Arn:  fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", emuRegion, emuAccount, group, name),
		Name: name, GroupName: group, State: state(enabled), ScheduleExpression: expression,
		ScheduleExpressionTimezone: "Europe/London", Description: description,
		FlexibleTimeWindow: &flexibleWindow{Mode: "OFF"},
		Target: scheduleTarget{Arn: ClusterARN(cluster), RoleArn: fmt.Sprintf("arn:aws:iam::%s:role/scheduler", emuAccount),
			EcsParameters: ecsParameters{TaskDefinitionArn: e.taskDef(taskDef).arn, TaskCount: 1, LaunchType: "FARGATE"},
			RetryPolicy:   map[string]any{"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}},
		CreationDate: now, LastModificationDate: now,
	}}
	e.schedules[group+"/"+name] = s
}

// Schedule returns a copy of a schedule's document, as JSON.
func (e *AWS) Schedule(group, name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.schedules[group+"/"+name]
	if s == nil {
		return ""
	}
	doc := s.doc
	doc.LastModificationDate = 0
	b, _ := json.Marshal(doc)
	return string(b)
}

func (e *AWS) serveScheduler(w http.ResponseWriter, r *http.Request, body []byte) {
	name := strings.TrimPrefix(r.URL.Path, "/schedules/")
	group := r.URL.Query().Get("groupName")
	var update scheduleDoc
	if r.Method == http.MethodPut {
		if !decode(w, body, &update) {
			return
		}
		group = update.GroupName
	}
	if group == "" {
		group = "default"
	}
	s := e.schedules[group+"/"+name]
	if s == nil {
		schedulerError(w, http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("Schedule %s does not exist.", name))
		return
	}
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.doc)
	case http.MethodPut:
		if update.ScheduleExpression == "" || update.FlexibleTimeWindow == nil || update.Target.Arn == "" {
			schedulerError(w, http.StatusBadRequest, "ValidationException", "ScheduleExpression, FlexibleTimeWindow and Target are required.")
			return
		}
		// Replaced whole: what the request leaves out is gone.
		update.Arn, update.Name, update.GroupName, update.CreationDate = s.doc.Arn, s.doc.Name, group, s.doc.CreationDate
		update.LastModificationDate = epoch(time.Now())
		if update.State == "" {
			update.State = "ENABLED"
		}
		if update.State == "ENABLED" && s.doc.State != "ENABLED" {
			s.lastFired = time.Now()
		}
		s.doc = update
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ScheduleArn": s.doc.Arn})
	default:
		schedulerError(w, http.StatusBadRequest, "ValidationException", "the emulator does not implement "+r.Method+" "+r.URL.Path)
	}
}

func schedulerError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Message": msg})
}
