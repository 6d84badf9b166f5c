package cutover

import (
	"context"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandbox"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// The night that keeps the site serving (the sandbox's default shape): the
// web service is never scaled to 0, retries what the fence refuses, and
// follows the name; its users — the runbook's checks.http_probe and the
// sandbox's own — see no failed request, the load balancer never lacks a
// task, and no acknowledged write is lost.
func TestNightKeepsServing(t *testing.T) {
	sb := startSandboxWith(t, sandbox.EnvOptions{})
	if sb.Config.Cutover.AppMode != config.AppModeKeepServing {
		t.Fatalf("the sandbox's night is %s, want %s", sb.Config.Cutover.AppMode, config.AppModeKeepServing)
	}
	stopWatch := watchPrimaries(t, sb)
	rb := newRunbook(t, sb, sb.Config, nil)
	report, err := rb.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	stopWatch()
	from, to := report.Steps[0].Start, report.Steps[len(report.Steps)-1].End
	u := report.Users
	if u == nil {
		t.Fatal("the report says nothing of what users saw (checks.http_probe)")
	}
	if u.Requests < 20 || u.Failed != 0 {
		t.Errorf("users through the night (the report): %+v; want requests, none failed", *u)
	}
	if own := sb.Users.Summary(from, to); own.Requests == 0 || own.Failed != 0 {
		t.Errorf("the sandbox's own users through the night: %+v; want requests, none failed", own)
	}
	if n, first, last := sb.LB.Down(from, to); n > 0 {
		t.Errorf("the load balancer had no web task for %d requests, from %s to %s: the site went down", n, first.Format(time.StampMilli), last.Format(time.StampMilli))
	}
	noneLost(t, sb, sb.Target)
}

// The seed's night stops the web service with the cron job: the site is
// down until the redeploy brings tasks back, and the report says so — its
// site-down time (and its longest run of failed user requests) matches,
// within 100 ms, the time the load balancer answered that no task served.
func TestNightStopAllReportsTheSiteDown(t *testing.T) {
	sb := startSandboxWith(t, sandbox.EnvOptions{StopAll: true})
	rb := newRunbook(t, sb, sb.Config, nil)
	report, err := rb.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	from, to := report.Steps[0].Start, report.Steps[len(report.Steps)-1].End
	n, first, last := sb.LB.Down(from, to)
	if n == 0 {
		t.Fatal("the load balancer always had a web task: the web service was not stopped")
	}
	u := report.Users
	if u == nil || u.Failed == 0 {
		t.Fatalf("users through a night that stopped the site: %+v; want failures", u)
	}
	down := last.Sub(first)
	if d := time.Duration(u.LongestFailureMS)*time.Millisecond - down; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("the report's longest run of failures is %d ms; the load balancer had no task for %s", u.LongestFailureMS, down)
	}
	if d := time.Duration(u.LongestDownMS)*time.Millisecond - down; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("the report's site-down time is %d ms; the load balancer had no task for %s", u.LongestDownMS, down)
	}
	noneLost(t, sb, sb.Target)
}

// Rolling a keep-serving night back keeps serving too, and keeps one
// writable primary at every instant although the web service retries
// against both sides all along: with the target fenced by read_only, and
// with an Aurora-shaped target fenced by locking the application's
// account (whose retrying sessions must all be ended).
func TestNightKeepsServingRollsBack(t *testing.T) {
	for _, aurora := range []bool{false, true} {
		t.Run(map[bool]string{false: "read_only", true: "account lock"}[aurora], func(t *testing.T) {
			sb := startSandboxWith(t, sandbox.EnvOptions{})
			cfg := sb.Config
			if aurora {
				exec1(t, rootDB(t, sb.Target), "CREATE USER admin@'%' IDENTIFIED BY 'aurora-pw'",
					"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, CREATE USER, PROCESS, RELOAD, REPLICATION SLAVE, BINLOG MONITOR, REPLICATION MASTER ADMIN, SHOW DATABASES ON *.* TO admin@'%' WITH GRANT OPTION",
					"CREATE DEFINER = root@localhost PROCEDURE mysql.rds_kill(IN thread BIGINT) SQL SECURITY DEFINER KILL thread",
					"GRANT EXECUTE ON PROCEDURE mysql.rds_kill TO admin@'%'",
					"ALTER USER 'app'@'%' ACCOUNT LOCK", "SET GLOBAL read_only = OFF")
				sb.Config.Cutover.AppUsers = []string{"app"}
				cfg = copyConfig(sb)
				cfg.Target.User, cfg.Target.Password = "admin", secret.New("aurora-pw")
			}
			stopWatch := watchPrimaries(t, sb)
			ctx := context.Background()
			if _, err := newRunbook(t, sb, cfg, nil).Run(ctx); err != nil {
				t.Fatalf("run: %v", err)
			}
			onTarget(t, sb)
			report, err := newRunbook(t, sb, cfg, nil).Rollback(ctx)
			if err != nil {
				t.Fatalf("rollback: %v", err)
			}
			stopWatch()
			onSource(t, sb)
			if u := report.Users; u == nil || u.Requests == 0 || u.Failed != 0 {
				t.Errorf("users through the rollback: %+v; want requests, none failed", u)
			}
			noneLost(t, sb, sb.Source)
		})
	}
}
