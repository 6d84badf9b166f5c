package cutover

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// Two operators cannot run at once: the second is refused, naming the
// holder, until the first lets go; letting go leaves no file behind.
func TestSingleRunLock(t *testing.T) {
	dir := t.TempDir()
	first, err := takeLock(dir, "switcharoo run")
	if err != nil {
		t.Fatal(err)
	}
	_, err = takeLock(dir, "switcharoo rollback")
	var refused *RefusedError
	if !errors.As(err, &refused) || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "switcharoo run") {
		t.Fatalf("second lock: %v (exit %d), want a refusal naming the holder", err, exitcode.Of(err))
	}
	first.release()
	second, err := takeLock(dir, "switcharoo rollback")
	if err != nil {
		t.Fatalf("after the first let go: %v", err)
	}
	second.release()
	if _, err := os.Stat(filepath.Join(dir, lockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lock file outlives its release: %v", err)
	}
}

// The journal survives a torn last line (the next event is not lost with
// it), and the last run's status is read
// from it: the steps done and not undone, and where it stopped.
func TestLastRun(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{
		{Run: "old", Kind: evStart}, {Run: "old", Kind: evFinished},
		{Run: "r1", Kind: evStart},
		{Run: "r1", Step: "preflight", Kind: evIntent}, {Run: "r1", Step: "preflight", Kind: evDone},
		{Run: "r1", Step: "stop-app", Kind: evIntent}, {Run: "r1", Step: "stop-app", Kind: evDone},
		{Run: "r1", Step: "fence-source", Kind: evIntent}, {Run: "r1", Step: "fence-source", Kind: evFailed, Error: "boom"},
		{Run: "r1", Step: "stop-app", Kind: evUndoIntent}, {Run: "r1", Step: "stop-app", Kind: evUndone},
	} {
		if err := j.append(e); err != nil {
			t.Fatal(err)
		}
	}
	j.close()
	f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"run":"r1","step":"fence-sou`) // the process died mid-write
	f.Close()

	st, err := LastRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Run != "r1" || st.State != "in progress" || strings.Join(st.Done, ",") != "preflight" ||
		st.Step != "stop-app" || st.LastEvent != evUndone {
		t.Errorf("last run: %+v", st)
	}
	// The next process's first event is not lost with the torn line.
	if j, err = openJournal(dir); err != nil {
		t.Fatal(err)
	}
	if err := j.append(Event{Run: "r1", Step: "preflight", Kind: evUndoIntent}); err != nil {
		t.Fatal(err)
	}
	j.close()
	if st, err := LastRun(dir); err != nil || st.LastEvent != evUndoIntent || st.Step != "preflight" {
		t.Errorf("after a torn line, the next event: %+v, %v", st, err)
	}
	if st, err := LastRun(t.TempDir()); err != nil || st.State != "none" {
		t.Errorf("no journal: %+v, %v", st, err)
	}
}
