package cutover

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// Two operators cannot run at once: the second is refused, naming the
// holder, until the first lets go; letting go leaves no file behind.
func TestSingleRunLock(t *testing.T) {
	dir := t.TempDir()
	files := openFiles(t)
	first, err := takeLock(dir, "switcharoo run")
	if err != nil {
		t.Fatal(err)
	}
	held := openFiles(t)
	_, err = takeLock(dir, "switcharoo rollback")
	if open := openFiles(t); open != held {
		t.Errorf("a refused lock left %d files open", open-held)
	}
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
	if open := openFiles(t); open != files {
		t.Errorf("the released locks left %d files open", open-files)
	}
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

// The journal and the lock as files: state_dir is made when missing; each
// event carries its time; opening a whole journal changes none of its
// bytes; an event larger than a scanner's default line is read back; a
// read leaves no file open; an unreadable journal is an error that names
// it; a lock file left by a killed holder is rewritten, not appended to.
func TestJournalFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "dir")
	j, err := openJournal(dir)
	if err != nil {
		t.Fatalf("journal in a state_dir not made yet: %v", err)
	}
	big := strings.Repeat("x", 100<<10)
	for _, e := range []Event{{Run: "r", Kind: evStart}, {Run: "r", Step: "verify", Kind: evFailed, Error: big}} {
		if err := j.append(e); err != nil {
			t.Fatal(err)
		}
	}
	j.close()
	path := filepath.Join(dir, journalFile)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if j, err = openJournal(dir); err != nil {
		t.Fatal(err)
	}
	j.close()
	if again, _ := os.ReadFile(path); string(again) != string(whole) {
		t.Errorf("opening a whole journal changed it: %q", strings.TrimPrefix(string(again), string(whole)))
	}

	if _, err := LastRun(dir); err != nil { // the runtime's own descriptors settle
		t.Fatal(err)
	}
	before := openFiles(t)
	st, err := LastRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if after := openFiles(t); after != before {
		t.Errorf("reading the journal left %d files open", after-before)
	}
	if st.Error != big || st.LastEvent != evFailed {
		t.Errorf("the 100 KiB event was not read back: last event %q, error of %d bytes", st.LastEvent, len(st.Error))
	}
	if st.Started.IsZero() || st.Updated.Before(st.Started) || time.Since(st.Started) > time.Minute {
		t.Errorf("events' times: started %v, updated %v", st.Started, st.Updated)
	}

	loop := t.TempDir()
	if err := os.Symlink(journalFile, filepath.Join(loop, journalFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LastRun(loop); err == nil || !strings.Contains(err.Error(), "read the journal") {
		t.Errorf("an unreadable journal: %v, want an error naming the journal", err)
	}

	lockDir := t.TempDir()
	stale := strings.Repeat("switcharoo run by a process long gone ", 20)
	if err := os.WriteFile(filepath.Join(lockDir, lockFile), []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := takeLock(lockDir, "switcharoo resume")
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	if holder, _ := os.ReadFile(filepath.Join(lockDir, lockFile)); strings.Contains(string(holder), "long gone") ||
		!strings.HasPrefix(string(holder), "switcharoo resume by pid") {
		t.Errorf("the lock should name its holder alone: %q", holder)
	}
	// A run.lock that cannot be opened is that error, not a refusal
	// blaming another run.
	odd := t.TempDir()
	if err := os.Mkdir(filepath.Join(odd, lockFile), 0o700); err != nil {
		t.Fatal(err)
	}
	var refused *RefusedError
	if _, err := takeLock(odd, "switcharoo run"); err == nil || errors.As(err, &refused) || !strings.Contains(err.Error(), "open the run lock") {
		t.Errorf("run.lock a directory: %v, want the error opening it", err)
	}
	fresh, err := takeLock(filepath.Join(t.TempDir(), "missing"), "switcharoo run")
	if err != nil {
		t.Fatalf("lock in a state_dir not made yet: %v", err)
	}
	fresh.release()
}

// openFiles counts the process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}
