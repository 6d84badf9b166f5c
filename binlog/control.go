package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

// Commands a running replicator takes, through the control row in its
// checkpoint schema on the target, from the runbook (which may run on
// another machine). The status row says which command is in effect.
const (
	// CommandRun: apply changes, write heartbeats.
	CommandRun = "run"
	// CommandQuiet: apply changes, write no heartbeat — before a fence, so
	// that the replicator's own writes do not move the source's position.
	CommandQuiet = "quiet"
	// CommandPause: stop applying at a transaction boundary and wait.
	CommandPause = "pause"
	// CommandStop: stop applying and exit.
	CommandStop = "stop"
)

// controlPoll is how often a replicator reads its control row (one read
// by primary key on the target): the runbook's fence and stop wait for it
// while writes are unavailable.
const controlPoll = 50 * time.Millisecond

// control is the command in effect. beat is held while a heartbeat is
// written, so that once quiet is in effect no heartbeat is in flight.
type control struct {
	mu      sync.Mutex
	command string
	beat    sync.Mutex
}

func (c *control) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.command
}

// SetCommand asks the replicator whose checkpoint schema is schema on
// target to obey command.
func SetCommand(ctx context.Context, target *sql.DB, schema, command string) error {
	_, err := target.ExecContext(ctx, "REPLACE INTO "+catalog.QuoteIdent(schema)+".control VALUES (1, ?, UTC_TIMESTAMP(6))", command)
	if err != nil {
		return fmt.Errorf("set replicator command %s: %w", command, err)
	}
	return nil
}

// WaitForCommand waits until the replicator reports command in effect in
// a status refreshed after the request, or until timeout. A replicator
// that is not running (or never ran: no status) obeys pause and stop
// trivially.
func WaitForCommand(ctx context.Context, target *sql.DB, schema, command string, timeout time.Duration) error {
	since := time.Now().Add(-time.Second)
	deadline := time.Now().Add(timeout)
	stopping := command == CommandPause || command == CommandStop
	for {
		st, err := ReadStatus(ctx, target, schema)
		switch {
		case errors.Is(err, ErrNoCheckpoint) && stopping:
			return nil
		case errors.Is(err, ErrNoCheckpoint): // no status yet
		case err != nil:
			return err
		case st.State == StateStopped && st.Command != CommandPause && stopping:
			return nil // not running: nothing to pause
		case st.Command == command && st.UpdatedAt.After(since):
			return nil
		}
		if time.Now().After(deadline) {
			if st == nil {
				return fmt.Errorf("no replicator reports a status on this target (%s)", schema)
			}
			return fmt.Errorf("the replicator did not take the command %q within %s (it reports %q, state %s)", command, timeout, st.Command, st.State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(controlPoll / 2):
		}
	}
}

// watchControl reads the control row until ctx ends. Leaving run for quiet
// (or anything else) waits for a heartbeat in flight, then reports the new
// command at once.
func (r *Replicator) watchControl(ctx context.Context) {
	q := "SELECT command FROM " + catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema) + ".control WHERE id = 1"
	t := time.NewTicker(controlPoll)
	defer t.Stop()
	for {
		var cmd string
		err := r.target.db.QueryRowContext(ctx, q).Scan(&cmd)
		if err == nil && cmd != r.control.get() {
			if cmd != CommandRun {
				r.control.beat.Lock() // no heartbeat in flight past this point
			}
			r.control.mu.Lock()
			r.control.command = cmd
			r.control.mu.Unlock()
			if cmd != CommandRun {
				r.control.beat.Unlock()
			}
			r.log.Info().Str("command", cmd).Msg("replicator command")
			if cmd == CommandRun || cmd == CommandQuiet {
				r.progress.setCommand(cmd)
				_ = r.writeStatus(ctx, r.progress.snapshot(time.Now(), r.cfg.Replication.Heartbeat))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stopping reports whether the command in effect ends sessions.
func (r *Replicator) stopping() bool {
	cmd := r.control.get()
	return cmd == CommandPause || cmd == CommandStop
}

// cancelOnCommand cancels a session when pause or stop comes in.
func (r *Replicator) cancelOnCommand(ctx context.Context, cancel context.CancelFunc) {
	t := time.NewTicker(controlPoll / 2)
	defer t.Stop()
	for {
		if r.stopping() {
			cancel()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitWhilePaused reports the pause once the applier stopped, and waits
// for another command. It returns false when that is stop, or ctx ended.
func (r *Replicator) waitWhilePaused(ctx context.Context) bool {
	for {
		switch r.control.get() {
		case CommandStop:
			return false
		case CommandPause:
			if r.progress.command() != CommandPause {
				r.progress.setCommand(CommandPause)
				_ = r.writeStatus(ctx, r.progress.snapshot(time.Now(), r.cfg.Replication.Heartbeat))
				r.log.Info().Msg("paused at a transaction boundary")
			}
		default:
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(controlPoll / 2):
		}
	}
}
