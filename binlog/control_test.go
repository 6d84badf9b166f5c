package binlog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The runbook's commands: quiet stops the heartbeat but not the applier,
// pause stops the applier at a transaction boundary, run resumes it, stop
// ends the replicator.
func TestControlCommands(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	ctx := context.Background()
	command := func(c string) {
		t.Helper()
		if err := binlog.SetCommand(ctx, r.dstDB, "_switcharoo", c); err != nil {
			t.Fatal(err)
		}
		if err := binlog.WaitForCommand(ctx, r.dstDB, "_switcharoo", c, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	heartbeat := func() int64 {
		var ts int64
		if err := r.srcDB.QueryRow("SELECT ts FROM _switcharoo.heartbeat").Scan(&ts); err != nil {
			t.Fatal(err)
		}
		return ts
	}
	count := func() int { return targetCount(t, r, "SELECT COUNT(*) FROM app.t") }

	command(binlog.CommandQuiet)
	before := heartbeat()
	time.Sleep(3 * r.cfg.Replication.Heartbeat)
	if after := heartbeat(); after != before {
		t.Errorf("heartbeat written while quiet")
	}
	r.source("INSERT INTO app.t VALUES (1)")
	r.waitCaughtUp(run)

	command(binlog.CommandPause)
	r.source("INSERT INTO app.t VALUES (2)")
	time.Sleep(500 * time.Millisecond)
	if n := count(); n != 1 {
		t.Errorf("applied while paused: %d rows", n)
	}
	st, _ := binlog.ReadStatus(ctx, r.dstDB, "_switcharoo")
	if st.State != binlog.StateStopped || st.Command != binlog.CommandPause {
		t.Errorf("status while paused: %+v", st)
	}

	command(binlog.CommandRun)
	r.waitCaughtUp(run)
	if n := count(); n != 2 {
		t.Errorf("%d rows after resuming, want 2", n)
	}
	if err := binlog.SetCommand(ctx, r.dstDB, "_switcharoo", binlog.CommandStop); err != nil {
		t.Fatal(err)
	}
	select {
	case <-run.done:
		if run.err != nil {
			t.Errorf("stop: %v", run.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the replicator did not stop")
	}
}

// Reverse replication, seeded at the switchover, carries what is written
// on the new side back to the old one, and nothing from before the seed.
func TestReverseReplication(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.DatabaseMap = []config.Rename{{Source: "app", Target: "app_new"}}
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO app.t VALUES (1, 'old')")
	run := r.run(binlog.RunOptions{UntilCaughtUp: true})
	<-run.done
	if run.err != nil {
		t.Fatal(run.err)
	}
	if err := binlog.MarkSwitched(context.Background(), r.dstDB, "_switcharoo"); err != nil {
		t.Fatal(err)
	}
	rev := binlog.ReverseConfig(r.cfg)
	if _, err := binlog.Seed(context.Background(), rev, zerolog.Nop()); err != nil {
		t.Fatalf("seed: %v", err)
	}
	sandboxtest.Exec(t, r.dstDB, "INSERT INTO app_new.t VALUES (2, 'new')", "UPDATE app_new.t SET v = 'changed' WHERE id = 1")

	// Not while forward replication streams: each would send the other's
	// writes back.
	if err := binlog.UnmarkSwitched(context.Background(), r.dstDB, "_switcharoo"); err != nil {
		t.Fatal(err)
	}
	forward := r.run(binlog.RunOptions{})
	r.waitFor(forward, "forward replication streaming", func() bool {
		st, err := binlog.ReadStatus(context.Background(), r.dstDB, "_switcharoo")
		return err == nil && st.State == binlog.StateStreaming
	})
	err := runOnce(t, rev, binlog.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "replication in the other direction (checkpoint schema _switcharoo on the source) is streaming") {
		t.Errorf("reverse replication while forward streams: %v", err)
	}
	if err := forward.stop(); err != nil {
		t.Fatal(err)
	}
	if err := binlog.MarkSwitched(context.Background(), r.dstDB, "_switcharoo"); err != nil {
		t.Fatal(err)
	}

	back, err := binlog.New(rev, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := back.Run(ctx, binlog.RunOptions{UntilCaughtUp: true}); err != nil {
		t.Fatalf("reverse: %v", err)
	}
	back.Close()
	r.assertSameDB("app", "app_new")

	// Forward replication refuses to start again after the switchover.
	err = runOnce(t, r.cfg, binlog.RunOptions{})
	if err == nil || !strings.Contains(err.Error(), "the switchover to the target happened") {
		t.Errorf("forward replication after the switch: %v", err)
	}
}
