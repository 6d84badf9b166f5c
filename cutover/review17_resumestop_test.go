package cutover

import (
	"context"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// review17: restoreFence takes the global read lock again on resume only
// while stop-replication has not *acted* (`acted["stop-replication"] &&
// reverse` returns at once). A runbook that dies inside stop-replication
// — forward replication already paused and marked switched, the lock
// not yet released (its WaitForCommand can take 30 s) — leaves the
// source fenced by read_only alone for as long as it is down. A SUPER
// write there meanwhile is not replicated (forward is paused), and the
// resumed stop-replication neither takes the lock back nor compares the
// source's position with fence_position before it seeds reverse
// replication — whose write guard starts at the source's position then,
// after the write. The night finishes; the write is on the old master
// only, recorded nowhere. runbook.md: resume "stops if the position moved
// once replication was stopped".
func TestReview17ResumeInsideStopReplicationLosesWrite(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)
	schema := sb.Config.Replication.CheckpointSchema
	type died struct{}
	rb := newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool {
		if step == "stop-replication" && at == beforeApply {
			// The step's first lines, as stopReplication runs them; then
			// the process dies, before the lock is released.
			if err := binlog.SetCommand(ctx, dst, schema, binlog.CommandPause); err != nil {
				t.Error(err)
			}
			if err := binlog.WaitForCommand(ctx, dst, schema, binlog.CommandPause, 30*time.Second); err != nil {
				t.Error(err)
			}
			if err := binlog.MarkSwitched(ctx, dst, schema); err != nil {
				t.Error(err)
			}
			panic(died{})
		}
		return false
	})
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(died); !ok {
					panic(r)
				}
			}
		}()
		_, err := rb.Run(ctx)
		t.Fatalf("run did not die: %v", err)
	}()
	rb.Close() // the dead process's connections, and its global lock, go
	// While the runbook is down, a SUPER account writes through read_only.
	exec1(t, src, "UPDATE app.customers SET name = 'while down' WHERE id = 7")
	if _, err := newRunbook(t, sb, sb.Config, nil).Resume(ctx); err != nil {
		t.Logf("resume: %v", err)
		return // stopped, naming the moved position: what runbook.md promises
	}
	reverse := schema + binlog.ReverseSuffix
	deadline := time.Now().Add(10 * time.Second)
	var onTarget string
	var found int64
	for time.Now().Before(deadline) {
		onTarget = query(t, dst, "SELECT COUNT(*) FROM app.customers WHERE name = 'while down'")
		if n, err := binlog.ReadDivergences(ctx, src, reverse); err == nil {
			found = n
		}
		if onTarget == "1" || found > 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if onTarget != "1" && found == 0 {
		t.Errorf("a write the old master took while the runbook was down inside stop-replication (forward replication paused) is on the old master only: "+
			"resume finished the night without taking the lock back or comparing the position (%s rows on the target, %d divergences recorded)", onTarget, found)
	}
	stopWatch()
}
