package cutover

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The source's global read lock sits on an idle connection for most of
// the night. A 5.6 master's short wait_timeout must not end it; a lock
// lost anyway (its connection killed) is taken again when the source's
// binlog has not moved, and stops the night when it has: the old master
// then accepted writes after the fence (#17.2).
func TestGlobalLockHeldAndChecked(t *testing.T) {
	for _, c := range []struct {
		name         string
		kill, write  bool
		wantFinished bool
	}{
		{name: "idle past wait_timeout", wantFinished: true},
		{name: "killed, nothing written", kill: true, wantFinished: true},
		{name: "killed then a SUPER write", kill: true, write: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := startSandbox(t)
			src := rootDB(t, sb.Source)
			// A short wait_timeout for new sessions, the lock's included.
			sandboxtest.Exec(t, src, "SET GLOBAL wait_timeout = 2")
			t.Cleanup(func() { _, _ = src.Exec("SET GLOBAL wait_timeout = 28800") })
			var rb *Runbook
			var lockID, nextID int64 // the lock after the fence, and at the next step
			hook := func(step string, at hookPoint) bool {
				if lockID != 0 && nextID == 0 && at == afterStep && rb.lock != nil {
					nextID = rb.lock.id
				}
				if step != "fence-source" || at != afterStep {
					return false
				}
				lockID = rb.lock.id
				if c.kill {
					sandboxtest.Exec(t, src, fmt.Sprintf("KILL %d", lockID))
				}
				if c.write { // root has SUPER: read_only does not stop it on 5.6 or MariaDB
					sandboxtest.Exec(t, src, "CREATE DATABASE IF NOT EXISTS late", "CREATE TABLE IF NOT EXISTS late.w (id INT)", "INSERT INTO late.w VALUES (1)")
				}
				// Idle longer than the global wait_timeout.
				deadline := time.Now().Add(3 * time.Second)
				for time.Now().Before(deadline) {
					time.Sleep(100 * time.Millisecond)
				}
				return false
			}
			rb = newRunbook(t, sb, sb.Config, hook)
			defer rb.Close()
			report, err := rb.Run(context.Background())
			if !c.wantFinished {
				if err == nil || !strings.Contains(err.Error(), "global read lock was lost") || !strings.Contains(err.Error(), "moved from the fenced position") {
					t.Fatalf("want the night stopped on a broken fence, got %v", err)
				}
				return
			}
			if err != nil || report.Outcome != "finished" {
				t.Fatalf("night: %v", err)
			}
			if lockID == 0 || nextID == 0 {
				t.Fatalf("the hook saw the lock as %d after the fence and %d after the next step", lockID, nextID)
			}
			if retaken := nextID != lockID; retaken != c.kill {
				t.Errorf("lock connection %d after the fence, %d after the next step: want it taken again only when killed", lockID, nextID)
			}
			noneLost(t, sb, sb.Target)
		})
	}
}

// Without reverse replication the global read lock stays until the night
// ends; a runbook that died after stop-replication takes it again when it
// resumes: a SUPER write on the source is refused before unfence-target
// either way.
func TestGlobalLockRestoredAfterStopReplication(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash after stop-replication: %v", crash), func(t *testing.T) {
			sb := startSandbox(t)
			sb.Config.Cutover.ReverseReplication = false
			src := rootDB(t, sb.Source)
			sandboxtest.Exec(t, src, "CREATE DATABASE late", "CREATE TABLE late.w (id INT)")
			var written error = errors.New("no write tried")
			hook := func(step string, at hookPoint) bool {
				if crash && step == "stop-replication" && at == afterStep {
					crash = false
					return true
				}
				if step == "unfence-target" && at == beforeApply {
					conn, err := src.Conn(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
					_, written = conn.ExecContext(context.Background(), "SET SESSION lock_wait_timeout = 1; INSERT INTO late.w VALUES (1)")
				}
				return false
			}
			rb := newRunbook(t, sb, sb.Config, hook)
			_, err := rb.Run(context.Background())
			rb.Close()
			if errors.Is(err, errCrash) {
				rb = newRunbook(t, sb, sb.Config, hook)
				_, err = rb.Resume(context.Background())
				rb.Close()
			}
			if err != nil {
				t.Fatalf("night: %v", err)
			}
			if written == nil || !strings.Contains(written.Error(), "1205") {
				t.Errorf("a SUPER write on the source before unfence-target: %v, want it refused by the global read lock (1205)", written)
			}
		})
	}
}
