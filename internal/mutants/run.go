package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"
)

// target says how to test the mutants of one file: the tests of its
// package most likely to catch them, and how long a mutant may take
// before it counts as caught by a timeout (compilation included).
type target struct {
	Run     string
	Timeout time.Duration
}

// targets are the safety-critical files of issue #23 and their tests.
// Each -run names the tests that exercise the file's code paths; the rest
// of the package's suite is not run for a mutant (it would take hours).
var targets = map[string]target{
	"binlog/apply.go":      {`^(TestCopyAndStreamUnderWrites|TestNetChanges|TestTypeFidelity|TestRowsEventFlags|TestDivergenceStops|TestRestartMidCopyAndMidStream)$`, 12 * time.Minute},
	"binlog/netchange.go":  {`^TestNetChanges$`, 3 * time.Minute},
	"binlog/window.go":     {`^(TestCopyWindowAcrossSnapshots|TestRestartMidCopyAndMidStream|TestCopyAndStreamUnderWrites|TestResumedCopyKeepsForeignKeyGroupsTogether)$`, 8 * time.Minute},
	"binlog/checkpoint.go": {`^(TestCheckpointRoundTrip|TestRestartMidCopyAndMidStream|TestCopyAndStreamUnderWrites|TestStartOnAFencedSource|TestControlCommands)$`, 8 * time.Minute},
	"binlog/ddlapply.go":   {`^(TestDDLApply|TestDDLSwaps|TestDDLStop|TestDDLIgnore|TestDDLUnderTheSourceSessionSettings|TestRenameChainSwapsTables)$`, 8 * time.Minute},
	"cutover/fence.go":     {`^(TestFencesHold|TestGlobalLockHeldAndChecked|TestKillClientsLikeAurora|TestLockedAccountSessionsCount)$`, 8 * time.Minute},
	"cutover/steps.go":     {`^(TestNight|TestFailures|TestCrashAndResume|TestUndoWithoutReverse|TestNightAccountLock)$`, 10 * time.Minute},
	"cutover/runbook.go":   {`^(TestNight|TestFailures|TestCrashAndResume|TestUndoWithoutReverse|TestNightAccountLock)$`, 10 * time.Minute},
	"cutover/journal.go":   {`^(TestSingleRunLock|TestLastRun|TestJournalFiles|FuzzJournal)$`, 30 * time.Second},
	"dnsswap/swap.go":      {`^(TestRoute53Flow|TestRFC2136Flow|TestRFC2136PrerequisiteMismatch|TestRoute53InvalidBatch|TestRoute53MissingZone)$`, 4 * time.Minute},
}

// Outcomes of a mutant.
const (
	caught    = "caught"    // a test failed
	timedOut  = "timeout"   // the tests ran out of time: counted as caught
	survived  = "survived"  // every test passed
	noCompile = "nocompile" // the mutant does not build: not counted
)

// runner runs a package's selected tests with one file replaced through
// `go test -overlay`: the work tree is never written.
type runner struct {
	root string // the module's root
	tmp  string // scratch directory for mutated files and overlays
}

// outcome is what one `go test` run said.
type outcome struct {
	Status  string
	Test    string // the first test that failed, when caught
	Seconds float64
	Output  string // the tail of go test's output, kept for baseline failures
}

var failedTest = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// test runs the tests of file's package with src in place of file.
func (r *runner) test(ctx context.Context, file string, src []byte, t target) (outcome, error) {
	abs := filepath.Join(r.root, file)
	mutated := filepath.Join(r.tmp, filepath.Base(file))
	if err := os.WriteFile(mutated, src, 0o600); err != nil {
		return outcome{}, fmt.Errorf("write the mutant: %w", err)
	}
	ov, err := json.Marshal(map[string]map[string]string{"Replace": {abs: mutated}})
	if err != nil {
		return outcome{}, err
	}
	overlay := filepath.Join(r.tmp, "overlay.json")
	if err := os.WriteFile(overlay, ov, 0o600); err != nil {
		return outcome{}, fmt.Errorf("write the overlay: %w", err)
	}
	// go test's own -timeout panics the test binary (reported as a
	// timeout); the context is a backstop 30 s later for a build or
	// a test binary that hangs past it.
	ctx, cancel := context.WithTimeout(ctx, t.Timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-overlay", overlay, "-count=1", "-failfast", "-vet=off",
		"-run", t.Run, "-timeout", t.Timeout.String(), "./"+filepath.Dir(file))
	cmd.Dir = r.root
	// CI=true: a test whose servers are missing fails instead of skipping,
	// so a skipped test can never pass for a survivor.
	cmd.Env = append(os.Environ(), "CI=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	o := outcome{Seconds: time.Since(start).Seconds(), Output: tail(out.String(), 4000)}
	var exit *exec.ExitError
	switch {
	case runErr == nil:
		o.Status = survived
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		o.Status = timedOut
	case !errors.As(runErr, &exit):
		return o, fmt.Errorf("go test %s: %w", file, runErr)
	case bytes.Contains(out.Bytes(), []byte("[build failed]")) || bytes.Contains(out.Bytes(), []byte("[setup failed]")):
		o.Status = noCompile
	case bytes.Contains(out.Bytes(), []byte("panic: test timed out")):
		o.Status = timedOut
	default:
		o.Status = caught
		if m := failedTest.FindSubmatch(out.Bytes()); m != nil {
			o.Test = string(m[1])
		}
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return o, fmt.Errorf("go test %s: %w", file, err)
	}
	return o, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
