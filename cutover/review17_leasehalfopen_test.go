package cutover

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// review17: runbook.md promises that a holder gone without letting go is
// recognised "by being from the same host and state_dir (whose flock
// proves it dead): `resume` right after a crash goes on". That holds for
// the heartbeat row, not for the named lock on the source: a runbook
// whose host or network died leaves its lease connection half-open, and
// the server keeps the named lock until that connection's wait_timeout
// (30 s). Resume right after is refused (exit 2), naming the dead process
// itself as "another switcharoo runbook" that "holds the night", without
// saying that the holder is this state_dir's own, gone, and that the lock
// frees within 30 s. (When the crashed process is the same host and
// state_dir, resume could end the named lock's connection — its id is
// IS_USED_LOCK's answer — or at least say to wait.)
func TestReview17ResumeAfterHalfOpenLease(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	srcHole := startBlackhole(t, sb.Config.Source.Host, sb.Config.Source.Port)
	dstHole := startBlackhole(t, sb.Config.Target.Host, sb.Config.Target.Port)
	viaHoles := copyConfig(sb)
	viaHoles.Source.Host, viaHoles.Source.Port = "127.0.0.1", srcHole.port
	viaHoles.Target.Host, viaHoles.Target.Port = "127.0.0.1", dstHole.port
	rb := newRunbook(t, sb, viaHoles, func(step string, at hookPoint) bool {
		if step == "stop-app" && at == afterStep {
			// The runbook's host loses its network, and then its process.
			srcHole.stalled.Store(true)
			dstHole.stalled.Store(true)
			return true
		}
		return false
	})
	if _, err := rb.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the simulated crash", err)
	}
	rb.Close()
	// The operator resumes from the same host and state_dir, its network
	// back (here: the servers reached directly).
	start := time.Now()
	_, err := newRunbook(t, sb, sb.Config, nil).Resume(ctx)
	if err != nil {
		t.Errorf("resume right after the crash, from the crashed runbook's own host and state_dir, %s later: %v (exit %d); "+
			"runbook.md says it goes on (the flock proves the holder dead), or the refusal should say the holder is gone and when to try again",
			time.Since(start).Round(time.Second), err, exitcode.Of(err))
	}
}
