package sandbox

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type ecsCluster struct {
	name, arn string
	services  map[string]*ecsService
	tasks     []*ecsTask
}

type ecsService struct {
	name, arn      string
	cluster        *ecsCluster
	desired        int
	circuitBreaker bool
	minHealthy     int              // minimumHealthyPercent (the emulator always rolls as with 100)
	deployments    []*ecsDeployment // [0] is the primary; the rest are ACTIVE until drained
	retired        []*ecsDeployment // INACTIVE
}

type ecsDeployment struct {
	id      string
	td      *ecsTaskDef
	rollout string // IN_PROGRESS, COMPLETED, FAILED
	reason  string
	failed  int
	created time.Time
	updated time.Time
}

type ecsTaskDef struct {
	family   string
	revision int
	arn      string
	doc      map[string]any // as registered, with arn, revision and status added
}

// ContainerDef is a container of a task definition registered through the
// emulator's Go API. The emulator runs Command, with Environment.
type ContainerDef struct {
	Name        string
	Image       string
	Command     []string
	Environment map[string]string
}

type ecsTask struct {
	arn       string
	cluster   *ecsCluster
	td        *ecsTaskDef
	group     string
	startedBy string
	dep       *ecsDeployment

	lastStatus    string
	desiredStatus string
	startedAt     time.Time
	stoppedAt     time.Time
	stoppedReason string
	exitCode      *int
	counted       bool // its failure to start was counted

	cmd  *exec.Cmd
	done chan struct{}
}

// RegisterTaskDefinition registers a revision of family and returns its ARN.
func (e *AWS) RegisterTaskDefinition(family string, containers ...ContainerDef) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var defs []any
	for _, c := range containers {
		env := []any{}
		names := make([]string, 0, len(c.Environment))
		for k := range c.Environment {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			env = append(env, map[string]any{"name": k, "value": c.Environment[k]})
		}
		cmd := make([]any, len(c.Command))
		for i, a := range c.Command {
			cmd[i] = a
		}
		defs = append(defs, map[string]any{"name": c.Name, "image": c.Image, "command": cmd, "environment": env, "essential": true})
	}
	return e.register(map[string]any{"family": family, "containerDefinitions": defs, "networkMode": "awsvpc", "cpu": "256", "memory": "512"}).arn
}

func (e *AWS) register(doc map[string]any) *ecsTaskDef {
	family, _ := doc["family"].(string)
	td := &ecsTaskDef{family: family, revision: len(e.taskDefs[family]) + 1}
	td.arn = fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", emuRegion, emuAccount, family, td.revision)
	doc["taskDefinitionArn"], doc["revision"], doc["status"] = td.arn, td.revision, "ACTIVE"
	td.doc = doc
	e.taskDefs[family] = append(e.taskDefs[family], td)
	return td
}

// taskDef finds a task definition by ARN, family:revision or family.
func (e *AWS) taskDef(ref string) *ecsTaskDef {
	ref = lastSegment(ref)
	family, rev, hasRev := strings.Cut(ref, ":")
	defs := e.taskDefs[family]
	if len(defs) == 0 {
		return nil
	}
	if !hasRev {
		return defs[len(defs)-1]
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 || n > len(defs) {
		return nil
	}
	return defs[n-1]
}

func (e *AWS) cluster(name string) *ecsCluster {
	name = lastSegment(name)
	if name == "" {
		name = "default"
	}
	c := e.clusters[name]
	if c == nil {
		c = &ecsCluster{name: name, arn: fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", emuRegion, emuAccount, name), services: map[string]*ecsService{}}
		e.clusters[name] = c
	}
	return c
}

// ClusterARN is the ARN of a cluster, for rule and schedule targets.
func ClusterARN(name string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", emuRegion, emuAccount, name)
}

// CreateService creates a service running desired tasks of taskDef.
func (e *AWS) CreateService(cluster, name, taskDef string, desired int, circuitBreaker bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.cluster(cluster)
	s := &ecsService{name: name, cluster: c, desired: desired, circuitBreaker: circuitBreaker, minHealthy: 100,
		arn: fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", emuRegion, emuAccount, c.name, name)}
	s.deployments = []*ecsDeployment{e.newDeployment(e.taskDef(taskDef))}
	c.services[name] = s
}

// SetMinimumHealthyPercent sets what DescribeServices reports of the
// service's deployment configuration.
func (e *AWS) SetMinimumHealthyPercent(cluster, name string, percent int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cluster(cluster).services[name].minHealthy = percent
}

// ServiceState describes a service for comparisons: its primary
// deployment's task definition and its desired count; "" when the
// service does not exist.
func (e *AWS) ServiceState(cluster, name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.clusters[cluster]
	if c == nil || c.services[name] == nil {
		return ""
	}
	s := c.services[name]
	td := s.deployments[0].td
	return fmt.Sprintf("%s:%d, %d desired, %d deployments", td.family, td.revision, s.desired, len(s.deployments))
}

func (e *AWS) newDeployment(td *ecsTaskDef) *ecsDeployment {
	now := time.Now()
	return &ecsDeployment{id: fmt.Sprintf("ecs-svc/%019d", e.next()), td: td, rollout: "IN_PROGRESS", created: now, updated: now}
}

func (e *AWS) serveECS(w http.ResponseWriter, op string, body []byte) {
	switch op {
	case "DescribeServices":
		var in struct {
			Cluster  string   `json:"cluster"`
			Services []string `json:"services"`
		}
		if !decode(w, body, &in) {
			return
		}
		c := e.clusters[lastSegment(in.Cluster)]
		if c == nil {
			awsError(w, http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
			return
		}
		out := map[string]any{"services": []any{}, "failures": []any{}}
		for _, name := range in.Services {
			s := c.services[lastSegment(name)]
			if s == nil {
				out["failures"] = append(out["failures"].([]any), map[string]any{"arn": name, "reason": "MISSING"})
				continue
			}
			out["services"] = append(out["services"].([]any), s.json())
		}
		reply(w, out)
	case "UpdateService":
		var in struct {
			Cluster            string `json:"cluster"`
			Service            string `json:"service"`
			DesiredCount       *int   `json:"desiredCount"`
			TaskDefinition     string `json:"taskDefinition"`
			ForceNewDeployment bool   `json:"forceNewDeployment"`
		}
		if !decode(w, body, &in) {
			return
		}
		c := e.clusters[lastSegment(in.Cluster)]
		if c == nil {
			awsError(w, http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
			return
		}
		s := c.services[lastSegment(in.Service)]
		if s == nil {
			awsError(w, http.StatusBadRequest, "ServiceNotFoundException", "Service not found.")
			return
		}
		if in.DesiredCount != nil {
			s.desired = *in.DesiredCount
		}
		td := s.deployments[0].td
		if in.TaskDefinition != "" {
			if td = e.taskDef(in.TaskDefinition); td == nil {
				awsError(w, http.StatusBadRequest, "ClientException", "Unable to describe task definition.")
				return
			}
		}
		if td != s.deployments[0].td || in.ForceNewDeployment {
			s.deployments = append([]*ecsDeployment{e.newDeployment(td)}, s.deployments...)
		}
		reply(w, map[string]any{"service": s.json()})
	case "DescribeTaskDefinition":
		var in struct {
			TaskDefinition string `json:"taskDefinition"`
		}
		if !decode(w, body, &in) {
			return
		}
		td := e.taskDef(in.TaskDefinition)
		if td == nil {
			awsError(w, http.StatusBadRequest, "ClientException", "Unable to describe task definition.")
			return
		}
		reply(w, map[string]any{"taskDefinition": td.doc, "tags": []any{}})
	case "RegisterTaskDefinition":
		var in map[string]any
		if !decode(w, body, &in) {
			return
		}
		if f, _ := in["family"].(string); f == "" {
			awsError(w, http.StatusBadRequest, "ClientException", "Family is required.")
			return
		}
		delete(in, "tags")
		reply(w, map[string]any{"taskDefinition": e.register(in).doc, "tags": []any{}})
	case "ListTasks":
		var in struct {
			Cluster       string `json:"cluster"`
			ServiceName   string `json:"serviceName"`
			Family        string `json:"family"`
			StartedBy     string `json:"startedBy"`
			DesiredStatus string `json:"desiredStatus"`
		}
		if !decode(w, body, &in) {
			return
		}
		c := e.clusters[lastSegment(in.Cluster)]
		if c == nil {
			awsError(w, http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
			return
		}
		if in.DesiredStatus == "" {
			in.DesiredStatus = "RUNNING"
		}
		arns := []string{}
		for _, t := range c.tasks {
			switch {
			case in.ServiceName != "" && t.group != "service:"+lastSegment(in.ServiceName):
			case in.Family != "" && t.td.family != in.Family:
			case in.StartedBy != "" && t.startedBy != in.StartedBy:
			case t.desiredStatus != in.DesiredStatus:
			default:
				arns = append(arns, t.arn)
			}
		}
		reply(w, map[string]any{"taskArns": arns})
	case "DescribeTasks":
		var in struct {
			Cluster string   `json:"cluster"`
			Tasks   []string `json:"tasks"`
		}
		if !decode(w, body, &in) {
			return
		}
		c := e.clusters[lastSegment(in.Cluster)]
		if c == nil {
			awsError(w, http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
			return
		}
		out := map[string]any{"tasks": []any{}, "failures": []any{}}
		for _, arn := range in.Tasks {
			i := slices.IndexFunc(c.tasks, func(t *ecsTask) bool { return t.arn == arn || lastSegment(t.arn) == arn })
			if i < 0 {
				out["failures"] = append(out["failures"].([]any), map[string]any{"arn": arn, "reason": "MISSING"})
				continue
			}
			out["tasks"] = append(out["tasks"].([]any), c.tasks[i].json())
		}
		reply(w, out)
	default:
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "the emulator does not implement ECS "+op)
	}
}

func (s *ecsService) json() map[string]any {
	var running, pending int
	for _, t := range s.cluster.tasks {
		if t.group != "service:"+s.name || t.desiredStatus != "RUNNING" {
			continue
		}
		switch t.lastStatus {
		case "RUNNING":
			running++
		case "PENDING":
			pending++
		}
	}
	deps := []any{}
	listed := slices.Clone(s.deployments)
	for _, d := range s.retired {
		// A failed deployment stays listed a while, as in ECS; other
		// finished ones drop out.
		if d.rollout == "FAILED" && time.Since(d.updated) < time.Minute {
			listed = append(listed, d)
		}
	}
	for i, d := range listed {
		status := "ACTIVE"
		if i == 0 {
			status = "PRIMARY"
		}
		var dRunning, dPending int
		for _, t := range s.cluster.tasks {
			if t.dep == d && t.desiredStatus == "RUNNING" {
				if t.lastStatus == "RUNNING" {
					dRunning++
				} else if t.lastStatus == "PENDING" {
					dPending++
				}
			}
		}
		desired := 0
		if i == 0 {
			desired = s.desired
		}
		deps = append(deps, map[string]any{
			"id": d.id, "status": status, "taskDefinition": d.td.arn, "desiredCount": desired,
			"runningCount": dRunning, "pendingCount": dPending, "failedTasks": d.failed,
			"rolloutState": d.rollout, "rolloutStateReason": d.reason,
			"createdAt": epoch(d.created), "updatedAt": epoch(d.updated),
		})
	}
	return map[string]any{
		"serviceArn": s.arn, "serviceName": s.name, "clusterArn": s.cluster.arn, "status": "ACTIVE",
		"desiredCount": s.desired, "runningCount": running, "pendingCount": pending,
		"taskDefinition": s.deployments[0].td.arn, "deployments": deps,
		"deploymentConfiguration": map[string]any{
			"deploymentCircuitBreaker": map[string]any{"enable": s.circuitBreaker, "rollback": s.circuitBreaker},
			"maximumPercent":           200, "minimumHealthyPercent": s.minHealthy,
		},
		"launchType": "FARGATE",
	}
}

func (t *ecsTask) json() map[string]any {
	c := map[string]any{"name": "app", "lastStatus": t.lastStatus}
	if t.exitCode != nil {
		c["exitCode"] = *t.exitCode
	}
	return map[string]any{
		"taskArn": t.arn, "clusterArn": t.cluster.arn, "taskDefinitionArn": t.td.arn,
		"lastStatus": t.lastStatus, "desiredStatus": t.desiredStatus, "group": t.group, "startedBy": t.startedBy,
		"startedAt": epoch(t.startedAt), "stoppedAt": epoch(t.stoppedAt), "stoppedReason": t.stoppedReason,
		"containers": []any{c}, "launchType": "FARGATE",
	}
}

// reconcile moves every service toward its desired state.
func (e *AWS) reconcile() {
	now := time.Now()
	for _, c := range e.clusters {
		for _, s := range c.services {
			e.reconcileService(s, now)
		}
		c.tasks = slices.DeleteFunc(c.tasks, func(t *ecsTask) bool {
			return t.lastStatus == "STOPPED" && now.Sub(t.stoppedAt) > 10*time.Minute
		})
	}
}

func (e *AWS) reconcileService(s *ecsService, now time.Time) {
	primary := s.deployments[0]
	var live []*ecsTask
	healthy := 0
	for _, t := range s.cluster.tasks {
		if t.dep != primary {
			continue
		}
		if t.lastStatus == "STOPPED" && !t.counted && t.stoppedAt.Sub(t.startedAt) < e.TaskHealthyAfter && t.stoppedReason == "Essential container in task exited" {
			t.counted = true
			primary.failed++
			primary.updated = now
		}
		if t.desiredStatus == "RUNNING" && t.lastStatus != "STOPPED" {
			live = append(live, t)
			if t.lastStatus == "RUNNING" && now.Sub(t.startedAt) >= e.TaskHealthyAfter {
				healthy++
			}
		}
	}
	if s.circuitBreaker && primary.rollout == "IN_PROGRESS" && primary.failed >= 3 && len(s.deployments) > 1 {
		primary.rollout, primary.reason, primary.updated = "FAILED", "ECS deployment circuit breaker: tasks failed to start.", now
		for _, t := range live {
			t.kill("Scaling activity initiated by deployment " + primary.id)
		}
		back := e.newDeployment(s.deployments[1].td)
		s.retired = append(s.retired, primary)
		s.deployments = append([]*ecsDeployment{back}, s.deployments[1:]...)
		return
	}
	for i := len(live); i < s.desired; i++ {
		e.runTask(s.cluster, primary.td, "service:"+s.name, primary.id, primary)
	}
	for i := s.desired; i < len(live); i++ {
		live[i].kill("Scaling activity initiated by " + primary.id)
	}
	if healthy < s.desired {
		return
	}
	// The primary is up: drain the older deployments.
	for _, d := range s.deployments[1:] {
		for _, t := range s.cluster.tasks {
			if t.dep == d && t.desiredStatus == "RUNNING" {
				t.kill("Scaling activity initiated by deployment " + primary.id)
			}
		}
		s.retired = append(s.retired, d)
	}
	s.deployments = s.deployments[:1]
	if primary.rollout == "IN_PROGRESS" {
		primary.rollout, primary.reason, primary.updated = "COMPLETED", "ECS deployment "+primary.id+" completed.", now
	}
}

// runTask starts a task: its first container's command, as a local process.
func (e *AWS) runTask(c *ecsCluster, td *ecsTaskDef, group, startedBy string, dep *ecsDeployment) *ecsTask {
	id := fmt.Sprintf("%032x", e.next())
	t := &ecsTask{arn: fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", emuRegion, emuAccount, c.name, id), cluster: c, td: td,
		group: group, startedBy: startedBy, dep: dep, lastStatus: "PENDING", desiredStatus: "RUNNING", startedAt: time.Now(), done: make(chan struct{})}
	c.tasks = append(c.tasks, t)
	command, env := containerCommand(td)
	if len(command) == 0 {
		t.stopped(nil, "CannotStartContainerError: the task definition's first container has no command")
		return t
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "ECS_TASK_ARN=" + t.arn}, env...)
	if e.Dir != "" {
		if f, err := os.Create(filepath.Join(e.Dir, "task-"+id+".log")); err == nil {
			cmd.Stdout, cmd.Stderr = f, f
			defer f.Close()
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.stopped(nil, "CannotStartContainerError: "+err.Error())
		return t
	}
	t.cmd, t.lastStatus = cmd, "RUNNING"
	go func() {
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		e.mu.Lock()
		defer e.mu.Unlock()
		reason := "Essential container in task exited"
		if t.desiredStatus == "STOPPED" {
			reason = t.stoppedReason
		} else if err != nil && code < 0 {
			reason = "Essential container in task exited: " + err.Error()
		}
		t.stopped(&code, reason)
	}()
	return t
}

func (t *ecsTask) stopped(code *int, reason string) {
	t.lastStatus, t.desiredStatus, t.stoppedAt, t.exitCode, t.stoppedReason = "STOPPED", "STOPPED", time.Now(), code, reason
	select {
	case <-t.done:
	default:
		close(t.done)
	}
}

// kill asks the task's process to stop: SIGTERM to its process group,
// SIGKILL five seconds later.
func (t *ecsTask) kill(reason string) {
	if t.lastStatus == "STOPPED" || t.desiredStatus == "STOPPED" {
		return
	}
	t.desiredStatus, t.stoppedReason = "STOPPED", reason
	if t.cmd == nil || t.cmd.Process == nil {
		return
	}
	pid := t.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	done := t.done
	go func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}()
}

// containerCommand is the first container's command and environment.
func containerCommand(td *ecsTaskDef) ([]string, []string) {
	defs, _ := td.doc["containerDefinitions"].([]any)
	if len(defs) == 0 {
		return nil, nil
	}
	c, _ := defs[0].(map[string]any)
	var command, env []string
	if args, ok := c["command"].([]any); ok {
		for _, a := range args {
			if s, ok := a.(string); ok {
				command = append(command, s)
			}
		}
	}
	if vars, ok := c["environment"].([]any); ok {
		for _, v := range vars {
			if m, ok := v.(map[string]any); ok {
				name, _ := m["name"].(string)
				value, _ := m["value"].(string)
				env = append(env, name+"="+value)
			}
		}
	}
	return command, env
}
