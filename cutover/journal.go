package cutover

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The journal is an append-only file of events, one JSON object per line,
// in state_dir. Every event is synced to disk before the runbook goes on:
// the intent of a step before it acts, its result after. After a crash it
// says which steps are done, which one was under way, and what they
// recorded (the fenced position, the reverse replication seed).
const journalFile = "journal.jsonl"

// Event kinds.
const (
	evStart      = "start"       // a run began
	evIntent     = "intent"      // a step is about to act
	evDone       = "done"        // it acted and verified
	evFailed     = "failed"      // it failed
	evUndoIntent = "undo-intent" // its undo is about to act
	evUndone     = "undone"      // its undo finished
	evUndoFailed = "undo-failed" // its undo failed
	evPaused     = "paused"      // the run stopped at a boundary, to be resumed
	evFinished   = "finished"    // the run completed
	evRolledBack = "rolled-back" // everything done was undone
	evFact       = "fact"        // a fact re-recorded on resume (a fence position that moved)
	evProbe      = "probe"       // a run of the probe's writes with one outcome, as far as seen
)

// Event is one journal line.
type Event struct {
	Run   string            `json:"run"`
	At    time.Time         `json:"at"`
	Step  string            `json:"step,omitempty"`
	Kind  string            `json:"event"`
	Data  map[string]string `json:"data,omitempty"`
	Error string            `json:"error,omitempty"`
}

// journal appends events to the journal file, from the runbook and from
// its probe.
type journal struct {
	path string
	mu   sync.Mutex
	f    *os.File
	// synced counts the events synced to disk: N5's test (docs/model.md)
	// reads it as a step begins.
	synced int
}

func openJournal(dir string) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	path := filepath.Join(dir, journalFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the journal: %w", err)
	}
	// A line torn by a crash is ended, so that the next event starts a
	// line of its own instead of being lost with it.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, fmt.Errorf("end the journal's torn last line: %w", err)
			}
		}
	}
	return &journal{path: path, f: f}, nil
}

// append writes an event and syncs it to disk.
func (j *journal) append(e Event) error {
	e.At = time.Now().UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write the journal: %w", err)
	}
	return j.sync()
}

// sync puts what was written on disk, and counts it.
func (j *journal) sync() error {
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync the journal: %w", err)
	}
	j.synced++
	return nil
}

// syncedEvents is how many events this journal has written and synced.
func (j *journal) syncedEvents() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.synced
}

func (j *journal) close() error { return j.f.Close() }

// readJournal reads every event of the journal in dir; a missing journal
// is empty. A torn last line (a crash in the middle of a write) is ignored.
func readJournal(dir string) ([]Event, error) {
	f, err := os.Open(filepath.Join(dir, journalFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the journal: %w", err)
	}
	defer f.Close()
	var events []Event
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 16<<20)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			continue // a torn write at the end; the next event rewrites what matters
		}
		events = append(events, e)
	}
	return events, s.Err()
}

// readLastRun reads the events of the most recent run in dir.
func readLastRun(dir string) ([]Event, error) {
	events, err := readJournal(dir)
	return lastRun(events), err
}

// lastRun returns the events of the most recent run.
func lastRun(events []Event) []Event {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == evStart {
			return events[i:]
		}
	}
	return nil
}

// lock is the single-run lock: an exclusive flock on a file in state_dir,
// released by the kernel when the process ends, however it ends. The
// holder removes the file when it lets go, so a refused command leaves
// state_dir as it was; a taker that locked a file removed meanwhile
// (it opened the path before the holder removed it) tries again.
type lock struct {
	f    *os.File
	path string
}

const lockFile = "run.lock"

func takeLock(dir, what string) (*lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	path := filepath.Join(dir, lockFile)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open the run lock: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			holder, _ := os.ReadFile(path)
			f.Close()
			return nil, &RefusedError{Reason: fmt.Sprintf("another switcharoo run, resume or rollback holds %s (%s); wait for it, or make sure it is gone",
				path, strings.TrimSpace(string(holder)))}
		}
		held, err1 := f.Stat()
		named, err2 := os.Stat(path)
		if err1 != nil || err2 != nil || !os.SameFile(held, named) {
			f.Close() // locked a file the last holder removed
			continue
		}
		host, _ := os.Hostname()
		_ = f.Truncate(0)
		_, _ = f.WriteAt([]byte(fmt.Sprintf("%s by pid %d on %s since %s\n", what, os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))), 0)
		return &lock{f: f, path: path}, nil
	}
}

func (l *lock) release() {
	_ = os.Remove(l.path) // while still held: no one can have it in between
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	_ = l.f.Close()
}

// RunStatus is what the journal says of the last run.
type RunStatus struct {
	Run   string `json:"run,omitempty"`
	State string `json:"state"` // none, in progress, finished, rolled back
	// Done: the steps completed and not undone, in order.
	Done []string `json:"steps_done,omitempty"`
	// Step: the step under way, failed, paused before or being undone when
	// the last event was written.
	Step string `json:"step,omitempty"`
	// LastEvent: that event's kind (intent, done, failed, undo-intent...).
	LastEvent string    `json:"last_event,omitempty"`
	Error     string    `json:"error,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Updated   time.Time `json:"updated,omitzero"`
}

// LastRun reads the status of the last run from the journal in stateDir.
func LastRun(stateDir string) (*RunStatus, error) {
	events, err := readLastRun(stateDir)
	if err != nil {
		return nil, err
	}
	st := &RunStatus{State: runState(events)}
	if len(events) == 0 {
		return st, nil
	}
	last := lastStep(events)
	st.Run, st.Started, st.Updated = events[0].Run, events[0].At, last.At
	st.Step, st.LastEvent, st.Error = last.Step, last.Kind, last.Error
	for _, e := range events {
		switch e.Kind {
		case evDone:
			st.Done = append(st.Done, e.Step)
		case evUndone:
			st.Done = slices.DeleteFunc(st.Done, func(s string) bool { return s == e.Step })
		}
	}
	return st, nil
}

// lastStep is the last event of a run that is not the probe's: the
// probe journals on its own, even after the run's last step.
func lastStep(events []Event) Event {
	for i := len(events) - 1; i > 0; i-- {
		if events[i].Kind != evProbe {
			return events[i]
		}
	}
	return events[0]
}
