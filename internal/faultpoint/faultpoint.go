package faultpoint

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

// Env is the environment variable that arms points.
const Env = "SWITCHAROO_TEST_FAULTPOINTS"

// Names of the points.
const (
	// BeforeDDL: a schema change is recorded as pending in the checkpoint,
	// and about to run on the target.
	BeforeDDL = "before-ddl"
	// AfterDDLBeforeCheckpoint: a schema change has run on the target; the
	// checkpoint does not record it yet.
	AfterDDLBeforeCheckpoint = "after-ddl-before-checkpoint"
	// BeforeBatchCommit: a batch's commit packet is about to be sent.
	BeforeBatchCommit = "before-batch-commit"
	// AfterBatchCommit: a batch has committed; the applier has not yet
	// taken its next transaction.
	AfterBatchCommit = "after-batch-commit"
	// AfterChunkCopy: a range of the copy has committed with its mark;
	// the copier has not started the next.
	AfterChunkCopy = "after-chunk-copy"
	// FenceAfterReadOnly: the source is read_only; its client connections
	// are not killed yet and no global read lock is held.
	FenceAfterReadOnly = "fence-after-read-only"
	// FenceAfterKill: the source's client connections are killed; the
	// global read lock is not taken yet.
	FenceAfterKill = "fence-after-kill"
	// UndoBeforeUnfenceSource: an undo is about to lift the source's fence.
	UndoBeforeUnfenceSource = "undo-before-unfence-source"
)

var (
	mu sync.RWMutex
	// armed maps a point to its action: "kill", "pause", or a hook's
	// marker; hooks holds the in-process hooks.
	armed = parse(os.Getenv(Env))
	hooks = map[string]func(){}
)

func parse(spec string) map[string]string {
	points := map[string]string{}
	for item := range strings.SplitSeq(spec, ",") {
		if name, action, ok := strings.Cut(strings.TrimSpace(item), ":"); ok {
			points[name] = action
		}
	}
	return points
}

// Hit acts on the point name if it is armed: kill sends the process
// SIGKILL; pause sends it SIGSTOP (every thread stops where it is, its
// connections stay open, and the test that armed it sends SIGCONT when
// its race is in place); a hook armed by Arm runs in the caller's
// goroutine.
func Hit(name string) {
	mu.RLock()
	action, hook := armed[name], hooks[name]
	mu.RUnlock()
	switch {
	case hook != nil:
		hook()
	case action == "kill":
		fmt.Fprintf(os.Stderr, "faultpoint %s: SIGKILL\n", name)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	case action == "pause":
		fmt.Fprintf(os.Stderr, "faultpoint %s: SIGSTOP\n", name)
		_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	}
}

// Arm runs hook at every Hit of name in this process until the returned
// function disarms it. It is for tests that run the engine or the runbook
// in process: the hook can inject a race (a writer, a dropped connection)
// or block until the test lets it go.
func Arm(name string, hook func()) (disarm func()) {
	mu.Lock()
	hooks[name] = hook
	mu.Unlock()
	return func() {
		mu.Lock()
		delete(hooks, name)
		mu.Unlock()
	}
}
