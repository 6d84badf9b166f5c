package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"os"
	"sync"
	"time"
)

// States of a replicator, as `switcharoo status` reports them.
const (
	StateCopying   = "copying"
	StateStreaming = "streaming"
	StateStopped   = "stopped"
)

// statusInterval is how often a running replicator refreshes its status
// row; a row older than staleAfter belongs to a replicator that is gone.
const (
	statusInterval = time.Second
	staleAfter     = 10 * time.Second
)

// progress is what the running replicator knows about itself, shared
// between the copy, the applier and the status reporter.
type progress struct {
	mu        sync.Mutex
	state     string
	cmd       string // the control command in effect
	position  Position
	eventTime time.Time
	caughtUp  bool

	rowsApplied   int64
	lastApplied   time.Time
	lag           time.Duration // end to end, measured by the last heartbeat applied
	heartbeatAt   time.Time     // when that heartbeat was written on the source
	copyDone      int64
	copyTotal     int64
	rateRows      int64 // rowsApplied+copyDone at the last rate sample
	rateAt        time.Time
	rowsPerSecond float64
}

func newProgress() *progress { return &progress{state: StateStopped, cmd: CommandRun} }

func (p *progress) setCommand(c string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = c
}

func (p *progress) command() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd
}

func (p *progress) setState(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = s
}

func (p *progress) setPosition(pos Position, eventTime time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.position, p.eventTime = pos, eventTime
}

func (p *progress) setCaughtUp(v bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.caughtUp = v
}

// applied records a committed batch; heartbeat is the µs timestamp of the
// last heartbeat row in it, 0 if none.
func (p *progress) applied(transactions, rows int, heartbeat int64, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rowsApplied += int64(rows)
	p.lastApplied = at
	if heartbeat > 0 {
		p.heartbeatAt = time.UnixMicro(heartbeat)
		p.lag = max(at.Sub(p.heartbeatAt), 0)
	}
}

func (p *progress) copied(rows int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.copyDone += rows
}

func (p *progress) copyStatus() (done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.copyDone, p.copyTotal
}

func (p *progress) setCopy(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.copyDone, p.copyTotal = done, total
}

// Status is a snapshot of a replicator's state.
type Status struct {
	State string `json:"state"`
	// Command is the control command in effect: run, quiet (no
	// heartbeat), pause or stop.
	Command       string       `json:"command"`
	LagMillis     int64        `json:"lag_ms"`
	Checkpoint    Checkpointed `json:"checkpoint"`
	RowsPerSecond float64      `json:"rows_per_second"`
	Copy          CopyStatus   `json:"copy"`
	// Divergences are the row changes that found the target in the wrong
	// state, recorded with replication.on_divergence: log.
	Divergences int64     `json:"divergences"`
	Host        string    `json:"host,omitempty"`
	PID         int       `json:"pid,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Checkpointed is the committed position as status reports it.
type Checkpointed struct {
	File      string    `json:"file"`
	Pos       uint32    `json:"pos"`
	GTID      string    `json:"gtid"`
	EventTime time.Time `json:"event_time,omitzero"`
}

// CopyStatus is the initial copy's progress.
type CopyStatus struct {
	RowsDone  int64 `json:"rows_done"`
	RowsTotal int64 `json:"rows_total"`
}

// snapshot computes the current status. Lag is the end-to-end delay of
// the last heartbeat applied; when heartbeats stop arriving (a stall, a
// backlog) it grows with the time since the last one was written. Without
// heartbeats it comes from the source's event timestamps.
func (p *progress) snapshot(now time.Time, heartbeat time.Duration) Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	done := p.rowsApplied + p.copyDone
	if !p.rateAt.IsZero() {
		if dt := now.Sub(p.rateAt).Seconds(); dt > 0 {
			p.rowsPerSecond = float64(done-p.rateRows) / dt
		}
	}
	p.rateRows, p.rateAt = done, now
	lag := p.lag
	switch {
	case p.state != StateStreaming:
	case heartbeat > 0 && !p.heartbeatAt.IsZero():
		if since := now.Sub(p.heartbeatAt); since > 2*heartbeat+p.lag {
			lag = since
		}
	case !p.caughtUp && !p.eventTime.IsZero():
		lag = max(now.Sub(p.eventTime), 0)
	default:
		lag = 0
	}
	return Status{
		State:         p.state,
		Command:       p.cmd,
		LagMillis:     lag.Milliseconds(),
		Checkpoint:    Checkpointed{File: p.position.File, Pos: p.position.Pos, EventTime: p.eventTime},
		RowsPerSecond: p.rowsPerSecond,
		Copy:          CopyStatus{RowsDone: p.copyDone, RowsTotal: p.copyTotal},
		UpdatedAt:     now,
	}
}

// reportStatus refreshes the status row until ctx ends.
func (r *Replicator) reportStatus(ctx context.Context) {
	t := time.NewTicker(statusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := r.progress.snapshot(time.Now(), r.cfg.Replication.Heartbeat)
		if err := r.writeStatus(ctx, s); err != nil && ctx.Err() == nil {
			r.log.Debug().Err(err).Msg("status not written")
		}
	}
}

// enter sets the state and reports it at once: readers of the status row
// see a transition when it happens, not at the next refresh.
func (r *Replicator) enter(ctx context.Context, state string) {
	r.progress.setState(state)
	if err := r.writeStatus(ctx, r.progress.snapshot(time.Now(), r.cfg.Replication.Heartbeat)); err != nil && ctx.Err() == nil {
		r.log.Debug().Err(err).Msg("status not written")
	}
}

// writeFinalStatus marks the replicator stopped.
func (r *Replicator) writeFinalStatus() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.progress.setState(StateStopped)
	_ = r.writeStatus(ctx, r.progress.snapshot(time.Now(), r.cfg.Replication.Heartbeat))
}

// writeStatus upserts the status row (not a REPLACE: the target's
// Com_replace then counts only the applier's, which tests compare). The
// VALUES() function, deprecated in MySQL 8.0.20 but still served, is
// what 5.6 and MariaDB understand.
func (r *Replicator) writeStatus(ctx context.Context, s Status) error {
	host, _ := os.Hostname()
	_, err := r.target.db.ExecContext(ctx, `INSERT INTO `+catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema)+`.status
		(id, state, host, pid, lag_ms, rows_per_second, copy_rows_done, copy_rows_total, command, updated_at)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))
		ON DUPLICATE KEY UPDATE state = VALUES(state), host = VALUES(host), pid = VALUES(pid), lag_ms = VALUES(lag_ms),
			rows_per_second = VALUES(rows_per_second), copy_rows_done = VALUES(copy_rows_done), copy_rows_total = VALUES(copy_rows_total),
			command = VALUES(command), updated_at = VALUES(updated_at)`,
		s.State, host, os.Getpid(), s.LagMillis, s.RowsPerSecond, s.Copy.RowsDone, s.Copy.RowsTotal, s.Command)
	return err
}

// ReadStatus reads a replicator's status from the target: the status row
// its last run left, with the committed checkpoint. A status row not
// refreshed for ten seconds belongs to a replicator that is no longer
// running, whatever state it last wrote.
func ReadStatus(ctx context.Context, target *sql.DB, schema string) (*Status, error) {
	var s Status
	var ageMillis int64
	var updated string
	err := target.QueryRowContext(ctx, `SELECT state, host, pid, lag_ms, rows_per_second, copy_rows_done, copy_rows_total,
		command, updated_at, TIMESTAMPDIFF(MICROSECOND, updated_at, UTC_TIMESTAMP(6)) DIV 1000
		FROM `+catalog.QuoteIdent(schema)+`.status WHERE id = 1`).
		Scan(&s.State, &s.Host, &s.PID, &s.LagMillis, &s.RowsPerSecond, &s.Copy.RowsDone, &s.Copy.RowsTotal, &s.Command, &updated, &ageMillis)
	switch {
	case errors.Is(err, sql.ErrNoRows) || isNoSuchTable(err):
		return nil, ErrNoCheckpoint
	case err != nil:
		return nil, fmt.Errorf("read status: %w", err)
	}
	s.UpdatedAt = parseDatetime(updated)
	if time.Duration(ageMillis)*time.Millisecond > staleAfter {
		s.State = StateStopped
	}
	if s.State == StateStopped {
		s.RowsPerSecond = 0
	}
	if s.Divergences, err = ReadDivergences(ctx, target, schema); err != nil {
		return nil, err
	}
	cp, err := ReadCheckpoint(ctx, target, schema)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
	case err != nil:
		return nil, err
	default:
		s.Checkpoint = Checkpointed{File: cp.Position.File, Pos: cp.Position.Pos, GTID: cp.GTID, EventTime: cp.EventTime}
	}
	return &s, nil
}
