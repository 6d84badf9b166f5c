package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// targetWatch notices, within about stall_timeout, a target that stopped
// answering — rather than after the statement timeout, which a large batch
// on a slow target may legitimately need, or never, for the session's own
// reads. Every stall_timeout/2 it pings the target on a connection of its
// own and, when the applier's statements have been in flight for
// stall_timeout, asks the server what the applier's connection is doing: a
// server that is not executing them never got them, or its answer was
// lost. Either way the session ends with errTargetStalled, a transient
// error; the checkpoint, committed with the rows, says where to start again.
type targetWatch struct {
	// statements is the context the applier's statements run under: it
	// outlives the session's own (a stop lets them finish), and ends when
	// the target stops answering or the session is over.
	statements context.Context
	busySince  atomic.Int64 // when the statements in flight were sent (unix ns); 0: none
	connID     atomic.Int64 // the applier's connection on the target; 0: not yet known
}

// watchTarget starts the watchdog of a session: the returned context ends,
// with errTargetStalled as its cause, when the target stops answering.
// stop ends the watch and the statements still in flight.
func (r *Replicator) watchTarget(ctx context.Context) (_ context.Context, _ *targetWatch, stop func()) {
	session, endSession := context.WithCancelCause(ctx)
	statements, endStatements := context.WithCancelCause(context.WithoutCancel(ctx))
	w := &targetWatch{statements: statements}
	done := make(chan struct{})
	go func() {
		defer close(done)
		stall := r.cfg.Replication.StallTimeout
		t := time.NewTicker(stall / 2)
		defer t.Stop()
		for {
			select {
			case <-session.Done():
				return
			case <-t.C:
			}
			if err := r.targetAnswers(session, w, stall); err != nil && session.Err() == nil {
				r.log.Warn().Err(err).Stringer("stall_timeout", stall).Msg("the target does not answer; abandoning the statements in flight")
				cause := fmt.Errorf("%w: %v", errTargetStalled, err)
				endStatements(cause)
				endSession(cause)
				return
			}
		}
	}()
	return session, w, func() {
		endSession(nil)
		<-done
		endStatements(nil)
	}
}

// targetAnswers pings the target and checks that statements in flight
// for stall are being executed.
func (r *Replicator) targetAnswers(ctx context.Context, w *targetWatch, stall time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, stall)
	defer cancel()
	if err := r.target.db.PingContext(ctx); err != nil {
		return fmt.Errorf("no answer to a ping within %s: %w", stall, err)
	}
	since, connID := w.busySince.Load(), w.connID.Load()
	if since == 0 || connID == 0 || time.Since(time.Unix(0, since)) < stall {
		return nil
	}
	var command string
	err := r.target.db.QueryRowContext(ctx, "SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = ?", connID).Scan(&command)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("the connection the statements were sent on (%d) is gone", connID)
	case err != nil:
		return fmt.Errorf("no answer within %s: %w", stall, err)
	case command == "Sleep" && w.busySince.Load() == since:
		return fmt.Errorf("statements sent %s ago are not running on the server: connection %d sleeps", time.Since(time.Unix(0, since)).Round(time.Second), connID)
	}
	return nil
}
