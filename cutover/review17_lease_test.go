package cutover

import (
	"context"
	"testing"
)

// review17: the lease's named lock (GET_LOCK on a connection of the
// runbook's own, on the source) is one of the two things that keep a
// second operator out (runbook.md, "One operator"). fence-source kills
// every client connection on the source but the one running the KILLs
// (killClients(ctx, nil)) — the lease's connection included, which frees
// the named lock for the rest of the night. From the fence on, one
// operator rests on the target's heartbeat row alone: a second runbook
// that cannot reach the target, or that finds the row stale (the holder's
// target connection hung for 30 s), takes the night; and checkLease, which
// run consults before its preflight, says nothing.
func TestReview17FenceKillsTheLeaseLock(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	src := rootDB(t, sb.Source)
	name := leaseLockName(sb.Config.Replication.CheckpointSchema)
	var before, after string
	rb := newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool {
		switch {
		case step == "fence-source" && at == beforeApply:
			before = query(t, src, "SELECT IS_USED_LOCK(?)", name)
		case step == "catch-up" && at == beforeApply:
			after = query(t, src, "SELECT IS_USED_LOCK(?)", name)
		}
		return false
	})
	if _, err := rb.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if before == "" {
		t.Fatalf("the named lock %s was not held before the fence", name)
	}
	if after != before {
		t.Errorf("the lease's named lock %s: held by connection %s before the fence, by %q after it (the fence killed the lease's connection): "+
			"a second operator is no longer kept out by it", name, before, after)
	}
	stopWatch()
}
