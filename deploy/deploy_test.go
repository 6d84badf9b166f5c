package deploy

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// emulator starts the AWS emulator and points the SDK's default chain at
// static test credentials.
func emulator(t *testing.T) (*sandbox.AWS, *config.Config) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSWITCHAROOTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "switcharoo-test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	emu, err := sandbox.StartAWS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	emu.TaskHealthyAfter = 300 * time.Millisecond
	t.Cleanup(emu.Close)
	cfg := config.Defaults()
	cfg.StateDir = t.TempDir()
	cfg.AWS.Endpoints = config.AWSEndpoints{ECS: emu.URL, Events: emu.URL, Scheduler: emu.URL}
	return emu, &cfg
}

func runner(t *testing.T, cfg *config.Config, log *bytes.Buffer) *Runner {
	w := zerolog.Nop()
	if log != nil {
		w = zerolog.New(log)
	}
	if os.Getenv("DEPLOY_DEBUG") != "" {
		w = zerolog.New(os.Stderr)
	}
	r, err := New(context.Background(), cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	r.poll, r.drainMargin = 50*time.Millisecond, 500*time.Millisecond
	return r
}

// writer is a task command: it appends its DB_HOST to out ten times a
// second, and exits at once when DB_HOST is "broken".
func writer(out string) []string {
	return []string{"/bin/sh", "-c", `test "$DB_HOST" != broken || exit 1; while true; do echo "$DB_HOST" >> ` + out + `; sleep 0.1; done`}
}

// hosts returns the DB_HOST values written to out in the last 300 ms.
func recentHosts(t *testing.T, out string) string {
	t.Helper()
	before, _ := os.ReadFile(out)
	time.Sleep(300 * time.Millisecond)
	after, _ := os.ReadFile(out)
	fresh := strings.Fields(string(after[len(before):]))
	seen := map[string]bool{}
	var hosts []string
	for _, h := range fresh {
		if !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return strings.Join(hosts, ",")
}

// An ECS service is scaled to 0 (its writers really stop), redeployed with
// a new DB_HOST (its writers really come back writing to the new host),
// and both are undone in reverse; plan changes nothing.
func TestECSService(t *testing.T) {
	emu, cfg := emulator(t)
	out := filepath.Join(t.TempDir(), "writes")
	td := emu.RegisterTaskDefinition("web", sandbox.ContainerDef{Name: "app", Image: "web:1", Command: writer(out), Environment: map[string]string{"DB_HOST": "old-master"}})
	emu.CreateService("prod", "web", td, 2, true)
	waitHosts(t, out, "old-master")
	cfg.App.Stop = []config.Action{{Kind: "ecs-service", Name: "web", Cluster: "prod", Service: "web"}}
	cfg.App.Deploy = []config.Action{{Kind: "ecs-service", Name: "web", Cluster: "prod", Service: "web",
		Environment: []config.EnvVar{{Name: "DB_HOST", Value: "aurora"}}}}
	r := runner(t, cfg, nil)
	ctx := context.Background()

	plan, err := r.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 2 || plan[0].Plan != "scale prod/web (running web:1) from 2 tasks to 0, wait until none runs" ||
		plan[1].Plan != "register a revision of web:1 with DB_HOST=aurora; run it with 2 tasks on prod/web; wait for the rollout to complete" {
		t.Errorf("plan: %+v", plan)
	}
	if st := status(t, r); st != "web:1, 2 desired, 2 running" {
		t.Errorf("plan changed the service: %s", st)
	}

	if err := r.Run(ctx, Stop); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if h := recentHosts(t, out); h != "" {
		t.Fatalf("writes continue after the service was scaled to 0: %s", h)
	}
	if err := r.Run(ctx, Deploy); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if st := status(t, r); st != "web:2, 2 desired, 2 running" {
		t.Errorf("after deploy: %s", st)
	}
	waitHosts(t, out, "aurora")

	if err := r.Undo(ctx, Deploy); err != nil {
		t.Fatalf("undo deploy: %v", err)
	}
	if st := status(t, r); st != "web:1, 0 desired, 0 running" {
		t.Errorf("after undoing the deploy: %s", st)
	}
	if err := r.Undo(ctx, Stop); err != nil {
		t.Fatalf("undo stop: %v", err)
	}
	if st := status(t, r); st != "web:1, 2 desired, 2 running" {
		t.Errorf("after undoing the stop: %s", st)
	}
	waitHosts(t, out, "old-master")
}

// Undoing a rolling redeploy (a keep-serving night: the service was never
// scaled to 0) returns once no task of the night's revision runs, not as
// soon as the service's running count matches: until then the load
// balancer still sends users to tasks that reach the night's database.
func TestECSServiceUndoWaitsForTheNightsTasksToGo(t *testing.T) {
	emu, cfg := emulator(t)
	out := filepath.Join(t.TempDir(), "writes")
	td := emu.RegisterTaskDefinition("web", sandbox.ContainerDef{Name: "app", Image: "web:1", Command: writer(out), Environment: map[string]string{"DB_HOST": "old-master"}})
	emu.CreateService("prod", "web", td, 2, true)
	waitHosts(t, out, "old-master")
	cfg.App.Deploy = []config.Action{{Kind: "ecs-service", Name: "web", Cluster: "prod", Service: "web",
		Environment: []config.EnvVar{{Name: "DB_HOST", Value: "aurora"}}}}
	r := runner(t, cfg, nil)
	ctx := context.Background()
	if err := r.Run(ctx, Deploy); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	waitHosts(t, out, "aurora")
	if err := r.Undo(ctx, Deploy); err != nil {
		t.Fatalf("undo deploy: %v", err)
	}
	if h := recentHosts(t, out); h != "old-master" {
		t.Fatalf("right after the undo, tasks write to %q; want only the previous revision's (old-master)", h)
	}
	if st := status(t, r); st != "web:1, 2 desired, 2 running" {
		t.Errorf("after undoing the deploy: %s", st)
	}
}

// A redeploy whose new revision's tasks exit at once trips the circuit
// breaker; ECS rolls back, which is reported as a failure, and the runner
// undoes it to the recorded revision and count.
func TestECSFailedDeployment(t *testing.T) {
	emu, cfg := emulator(t)
	out := filepath.Join(t.TempDir(), "writes")
	td := emu.RegisterTaskDefinition("web", sandbox.ContainerDef{Name: "app", Command: writer(out), Environment: map[string]string{"DB_HOST": "old-master"}})
	emu.CreateService("prod", "web", td, 1, true)
	waitHosts(t, out, "old-master")
	cfg.App.Deploy = []config.Action{{Kind: "ecs-service", Cluster: "prod", Service: "web", Timeout: time.Minute,
		Environment: []config.EnvVar{{Name: "DB_HOST", Value: "broken"}}}}
	r := runner(t, cfg, nil)
	err := r.Run(context.Background(), Deploy)
	var failed *FailedError
	if !errors.As(err, &failed) || !strings.Contains(err.Error(), "the deployment of web:2 failed: ECS deployment circuit breaker") ||
		exitcode.Of(err) != exitcode.Failed {
		t.Fatalf("want a failed deployment, undone (exit 3), got %v (exit %d)", err, exitcode.Of(err))
	}
	if st := status(t, r); st != "web:1, 1 desired, 1 running" {
		t.Errorf("after the failed deployment: %s", st)
	}
	waitHosts(t, out, "old-master")
}

// Rules and schedules: stop disables those enabled and waits for their
// running jobs; start restores exactly those that were enabled, and a
// schedule comes back whole.
func TestCrons(t *testing.T) {
	emu, cfg := emulator(t)
	job := emu.RegisterTaskDefinition("report", sandbox.ContainerDef{Name: "job", Command: []string{"/bin/sleep", "1.5"}})
	emu.PutRule("nightly-report", "rate(1 second)", "prod", job, true)
	emu.PutRule("already-off", "rate(1 second)", "prod", job, false)
	emu.PutSchedule("default", "invoices", "rate(1 second)", "prod", job, "invoice run, do not delete", true)
	savedSchedule := emu.Schedule("default", "invoices")
	cronActions := []config.Action{
		{Kind: "eventbridge-rule", Rule: "nightly-report"},
		{Kind: "eventbridge-rule", Rule: "already-off"},
		{Kind: "scheduler-schedule", Schedule: "invoices"},
	}
	cfg.App.Stop, cfg.App.Start = cronActions, cronActions
	r := runner(t, cfg, nil)
	ctx := context.Background()
	waitFor(t, "a job to run", func() bool { return runningJobs(t, r) > 0 })

	if err := r.Run(ctx, Stop); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if n := runningJobs(t, r); n != 0 {
		t.Errorf("stop returned with %d jobs still running", n)
	}
	if emu.RuleState("nightly-report") != "DISABLED" || emu.RuleState("already-off") != "DISABLED" ||
		!strings.Contains(emu.Schedule("default", "invoices"), `"State":"DISABLED"`) {
		t.Errorf("not all disabled")
	}
	time.Sleep(1500 * time.Millisecond)
	if n := runningJobs(t, r); n != 0 {
		t.Errorf("%d jobs started while disabled", n)
	}

	if err := r.Run(ctx, Start); err != nil {
		t.Fatalf("start: %v", err)
	}
	if emu.RuleState("nightly-report") != "ENABLED" || emu.RuleState("already-off") != "DISABLED" {
		t.Errorf("start should enable exactly the rule that was enabled: %s, %s", emu.RuleState("nightly-report"), emu.RuleState("already-off"))
	}
	if got := emu.Schedule("default", "invoices"); got != savedSchedule {
		t.Errorf("the schedule did not come back whole:\n got %s\nwant %s", got, savedSchedule)
	}
}

func runningJobs(t *testing.T, r *Runner) int {
	t.Helper()
	tasks, err := jobTasks(context.Background(), r.aws.ecs, ecsTarget{cluster: "prod", taskDef: "report"}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return len(tasks)
}

// exec runs commands with their environment and undoes them in reverse
// when a later step fails; a command past its timeout is killed.
func TestExecAndHTTP(t *testing.T) {
	_, cfg := emulator(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "maintenance")
	var mu sync.Mutex
	var calls []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/off" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()
	cfg.App.Stop = []config.Action{
		{Kind: "exec", Name: "maintenance on", Command: []string{"/bin/sh", "-c", `echo "on by $WHO"; echo "$WHO" > ` + marker},
			Undo: []string{"/bin/rm", marker}, Environment: []config.EnvVar{{Name: "WHO", Value: "switcharoo"}}},
		{Kind: "http", URL: hook.URL + "/drain", ExpectStatus: 202, UndoURL: hook.URL + "/undrain"},
		{Kind: "exec", Name: "fails", Command: []string{"/bin/sh", "-c", "echo about to fail; exit 3"}},
	}
	var log bytes.Buffer
	r := runner(t, cfg, &log)
	err := r.Run(context.Background(), Stop)
	if err == nil || !strings.Contains(err.Error(), "stop[2] exec fails failed: /bin/sh exited with status 3; last output: about to fail") {
		t.Fatalf("want the failing command reported, got %v", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the first command was not undone")
	}
	if got := strings.Join(calls, ", "); got != "POST /drain, POST /undrain" {
		t.Errorf("webhook calls: %s; want the call and its undo_url", got)
	}
	if !strings.Contains(log.String(), `"output":"on by switcharoo"`) {
		t.Errorf("command output not logged:\n%s", log.String())
	}

	cfg.App.Stop = []config.Action{{Kind: "exec", Command: []string{"/bin/sleep", "30"}, Timeout: 200 * time.Millisecond}}
	start := time.Now()
	err = runner(t, cfg, nil).Run(context.Background(), Stop)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms and was killed") || time.Since(start) > 10*time.Second {
		t.Errorf("timeout: %v after %s", err, time.Since(start))
	}

	cfg.App.Stop = []config.Action{{Kind: "http", URL: hook.URL + "/drain", ExpectStatus: 204}}
	err = runner(t, cfg, nil).Run(context.Background(), Stop)
	if err == nil || !strings.Contains(err.Error(), "answered 202, want 204") {
		t.Errorf("wrong status: %v", err)
	}
}

func status(t *testing.T, r *Runner) string {
	t.Helper()
	st, err := r.Status(context.Background())
	if err != nil || len(st) == 0 {
		t.Fatalf("status: %v", err)
	}
	return st[0].State
}

// waitHosts waits until the writers write only to host.
func waitHosts(t *testing.T, out, host string) {
	t.Helper()
	waitFor(t, "writes to "+host, func() bool { return recentHosts(t, out) == host })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
