package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// The app commands end to end against the AWS emulator.
func TestAppCommands(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSWITCHAROOTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "switcharoo-test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	emu, err := sandbox.StartAWS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	emu.TaskHealthyAfter = 200 * time.Millisecond
	td := emu.RegisterTaskDefinition("web", sandbox.ContainerDef{Name: "app", Command: []string{"/bin/sleep", "600"}, Environment: map[string]string{"DB_HOST": "old"}})
	emu.CreateService("prod", "web", td, 2, true)
	emu.PutRule("nightly", "rate(1 hour)", "prod", td, true)
	cfg := writeFile(t, "switcharoo.yaml", minimal+fmt.Sprintf(`state_dir: %s
aws: {endpoints: {ecs: '%s', events: '%s', scheduler: '%s'}}
app:
  stop:
    - {kind: eventbridge-rule, rule: nightly}
    - {kind: ecs-service, name: web, cluster: prod, service: web}
  deploy:
    - {kind: ecs-service, name: web, cluster: prod, service: web, environment: [{name: DB_HOST, value: aurora}]}
`, t.TempDir(), emu.URL, emu.URL, emu.URL))
	waitStatus := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := runCLI(t, "-c", cfg, "app", "status", "--output", "json")
			var st []struct{ Kind, Resource, State string }
			_ = json.Unmarshal([]byte(r.stdout), &st)
			var states []string
			for _, s := range st {
				states = append(states, s.State)
			}
			if got := strings.Join(states, "; "); got == want {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("status %q, want %q (exit %d %s)", got, want, r.code, r.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitStatus("ENABLED; web:1, 2 desired, 2 running")

	r := runCLI(t, "-c", cfg, "app", "plan")
	if r.code != 0 || !strings.Contains(r.stdout, "stop[1] ecs-service web: scale prod/web (running web:1) from 2 tasks to 0") {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "-c", cfg, "app", "stop"); r.code != 0 {
		t.Fatalf("stop: exit %d %s", r.code, r.stderr)
	}
	waitStatus("DISABLED; web:1, 0 desired, 0 running")
	if r := runCLI(t, "-c", cfg, "app", "deploy"); r.code != 0 {
		t.Fatalf("deploy: exit %d %s", r.code, r.stderr)
	}
	waitStatus("DISABLED; web:2, 2 desired, 2 running")
	if r := runCLI(t, "-c", cfg, "app", "start"); r.code != 0 {
		t.Fatalf("start: exit %d %s", r.code, r.stderr)
	}
	waitStatus("ENABLED; web:2, 2 desired, 2 running")

	bad := strings.Replace(string(mustRead(t, cfg)), "service: web}", "service: nosuch}", 1)
	r = runCLI(t, "-c", writeFile(t, "bad.yaml", bad), "app", "stop")
	if r.code != 2 || !strings.Contains(r.stderr, `ECS service "nosuch" not found in cluster "prod"`) || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("a missing service: exit %d\n%s", r.code, r.stderr)
	}
	waitStatus("ENABLED; web:2, 2 desired, 2 running")
}
