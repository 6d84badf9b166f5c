package cockpit

import (
	"bytes"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Bounds of what the board keeps.
const (
	lagWindow   = 15 * time.Minute
	maxLogLines = 200
	maxProbe    = 600 // the probe writes every 50 ms: the last 30 s of it
)

// Step states.
const (
	StepPending = "pending"
	StepRunning = "running"
	StepDone    = "done"
	StepFailed  = "failed"
	StepUndoing = "undoing"
	StepUndone  = "undone"
)

// State is what the page shows, as GET /api/state returns it.
type State struct {
	Command     string       `json:"command"`
	Started     time.Time    `json:"started"`
	Now         time.Time    `json:"now"`
	Outcome     string       `json:"outcome,omitempty"` // set when the command ended
	Steps       []Step       `json:"steps"`
	Replication *Replication `json:"replication,omitempty"`
	Lag         []LagPoint   `json:"lag"`
	Verify      *Progress    `json:"verify,omitempty"`
	Probe       []ProbeWrite `json:"probe"`
	Log         []string     `json:"log"`
}

// Step is one step of the runbook.
type Step struct {
	Name    string    `json:"name"`
	State   string    `json:"state"`
	Started time.Time `json:"started,omitzero"`
	Ended   time.Time `json:"ended,omitzero"`
	Error   string    `json:"error,omitempty"`
}

// Replication is replication's last reported status.
type Replication struct {
	State         string  `json:"state"`
	LagMillis     int64   `json:"lag_ms"`
	RowsPerSecond float64 `json:"rows_per_second"`
	Transactions  uint64  `json:"transactions"`
	RowChanges    uint64  `json:"row_changes"`
	// Divergences are the row changes recorded with on_divergence: log.
	Divergences int64  `json:"divergences"`
	Position    string `json:"position"`
	// BinlogBytesRead is known to replicate itself only (its own --http).
	BinlogBytesRead int64     `json:"binlog_bytes_read,omitempty"`
	Copy            *Progress `json:"copy,omitempty"` // while copying
}

// Progress is a count towards a total, with the time it began, from which
// the page estimates the time left.
type Progress struct {
	Done    int64     `json:"done"`
	Total   int64     `json:"total"`
	Started time.Time `json:"started"`
}

// LagPoint is one lag sample.
type LagPoint struct {
	At        time.Time `json:"at"`
	LagMillis int64     `json:"lag_ms"`
}

// ProbeWrite is one write of the runbook's probe: the server that took
// it, or 0 when it failed.
type ProbeWrite struct {
	At       time.Time `json:"at"`
	ServerID uint32    `json:"server_id"`
}

// Board holds the night's state and its metrics. Its methods may be
// called from any goroutine; a nil *Board ignores every call, so callers
// need not check whether the cockpit is on.
type Board struct {
	mu      sync.Mutex
	state   State
	partial []byte // a log line not yet ended
	m       metrics
}

// NewBoard returns the board of one command (replicate, run, rehearse or
// rollback).
func NewBoard(command string) *Board {
	now := time.Now()
	return &Board{state: State{Command: command, Started: now, Steps: []Step{}, Lag: []LagPoint{}, Probe: []ProbeWrite{}, Log: []string{}},
		m: newMetrics(command)}
}

// Registry is the board's Prometheus registry.
func (b *Board) Registry() *prometheus.Registry { return b.m.registry }

// Plan lists the runbook's steps, all pending.
func (b *Board) Plan(steps []string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.Steps = b.state.Steps[:0]
	for _, s := range steps {
		b.state.Steps = append(b.state.Steps, Step{Name: s, State: StepPending})
	}
}

// StepStarted marks a step (or its undo) under way.
func (b *Board) StepStarted(name string, undo bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.step(name)
	s.State, s.Started, s.Ended, s.Error = StepRunning, time.Now(), time.Time{}, ""
	if undo {
		s.State = StepUndoing
	}
	b.m.runbookStep(name, s.State)
}

// StepEnded records a step's (or its undo's) outcome.
func (b *Board) StepEnded(name string, undo bool, err error) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.step(name)
	s.Ended = time.Now()
	switch {
	case err != nil:
		s.State, s.Error = StepFailed, err.Error()
	case undo:
		s.State = StepUndone
	default:
		s.State = StepDone
	}
	b.m.stepEnded(name, s.State, s.Ended.Sub(s.Started))
}

// step returns the named step, appending it when the plan lacked it.
func (b *Board) step(name string) *Step {
	for i := range b.state.Steps {
		if b.state.Steps[i].Name == name {
			return &b.state.Steps[i]
		}
	}
	b.state.Steps = append(b.state.Steps, Step{Name: name, State: StepPending})
	return &b.state.Steps[len(b.state.Steps)-1]
}

// Ended records how the command ended.
func (b *Board) Ended(outcome string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.Outcome = outcome
	b.m.runbookState(outcome)
}

// Replicated records replication's status, and a lag sample.
func (b *Board) Replicated(r Replication) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if prev := b.state.Replication; r.Copy != nil && prev != nil && prev.Copy != nil {
		r.Copy.Started = prev.Copy.Started
	} else if r.Copy != nil {
		r.Copy.Started = now
	}
	b.state.Replication = &r
	b.state.Lag = append(b.state.Lag, LagPoint{At: now, LagMillis: r.LagMillis})
	cut := 0
	for cut < len(b.state.Lag) && now.Sub(b.state.Lag[cut].At) > lagWindow {
		cut++
	}
	b.state.Lag = b.state.Lag[cut:]
	b.m.replicated(r)
}

// Verified records the final verify's progress in rows.
func (b *Board) Verified(done, total int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state.Verify == nil || done < b.state.Verify.Done {
		b.state.Verify = &Progress{Started: time.Now()}
	}
	b.state.Verify.Done, b.state.Verify.Total = done, total
	b.m.verified(done, total)
}

// Probed records one write of the probe.
func (b *Board) Probed(at time.Time, serverID uint32) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.Probe = append(b.state.Probe, ProbeWrite{At: at, ServerID: serverID})
	if n := len(b.state.Probe); n > maxProbe {
		b.state.Probe = append(b.state.Probe[:0], b.state.Probe[n-maxProbe:]...)
	}
	b.m.probed(serverID)
}

// Write takes log output (an io.Writer for the logger) and keeps the last
// lines.
func (b *Board) Write(p []byte) (int, error) {
	if b == nil {
		return len(p), nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.partial = append(b.partial, p...)
	for {
		i := bytes.IndexByte(b.partial, '\n')
		if i < 0 {
			break
		}
		b.state.Log = append(b.state.Log, string(b.partial[:i]))
		b.partial = b.partial[i+1:]
	}
	if n := len(b.state.Log); n > maxLogLines {
		b.state.Log = append(b.state.Log[:0], b.state.Log[n-maxLogLines:]...)
	}
	return len(p), nil
}

// Snapshot is a copy of the state.
func (b *Board) Snapshot() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state
	s.Now = time.Now()
	s.Steps = append([]Step(nil), s.Steps...)
	s.Lag = append([]LagPoint(nil), s.Lag...)
	s.Probe = append([]ProbeWrite(nil), s.Probe...)
	s.Log = append([]string(nil), s.Log...)
	if s.Replication != nil {
		r := *s.Replication
		if r.Copy != nil {
			c := *r.Copy
			r.Copy = &c
		}
		s.Replication = &r
	}
	if s.Verify != nil {
		v := *s.Verify
		s.Verify = &v
	}
	return s
}
