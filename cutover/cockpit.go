package cutover

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/cockpit"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
)

// FollowReplication calls fn, every second until stop, with the status
// that replication writes on cfg's target: for replicate's cockpit and
// progress bar, as the runbook follows it for its own cockpit.
func FollowReplication(ctx context.Context, cfg *config.Config, fn func(cockpit.Replication)) (stop func(), err error) {
	db, err := mysqlconn.Open(cfg.Target, "", nil)
	if err != nil {
		return nil, err
	}
	stopFollow := follow(ctx, db, cfg.Replication.CheckpointSchema, fn)
	return func() { stopFollow(); db.Close() }, nil
}

// followReplication feeds the runbook's cockpit, if any, until stop.
func (rb *Runbook) followReplication(ctx context.Context) (stop func()) {
	if rb.opts.Board == nil {
		return func() {}
	}
	return follow(ctx, rb.target.db, rb.cfg.Replication.CheckpointSchema, rb.opts.Board.Replicated)
}

func follow(ctx context.Context, db *sql.DB, schema string, fn func(cockpit.Replication)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if r, ok := readReplication(ctx, db, schema); ok {
				fn(r)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// readReplication reads replication's status row and checkpoint; false
// before a replicator has written them, or when the target cannot say.
func readReplication(ctx context.Context, db *sql.DB, schema string) (cockpit.Replication, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := binlog.ReadStatus(ctx, db, schema)
	if err != nil {
		return cockpit.Replication{}, false
	}
	r := cockpit.Replication{State: st.State, LagMillis: st.LagMillis, RowsPerSecond: st.RowsPerSecond, Divergences: st.Divergences,
		Position: st.Checkpoint.File + ":" + strconv.FormatUint(uint64(st.Checkpoint.Pos), 10)}
	if st.State == binlog.StateCopying {
		r.Copy = &cockpit.Progress{Done: st.Copy.RowsDone, Total: st.Copy.RowsTotal}
	}
	if cp, err := binlog.ReadCheckpoint(ctx, db, schema); err == nil {
		r.Transactions, r.RowChanges = cp.Transactions, cp.RowChanges
	} else if !errors.Is(err, binlog.ErrNoCheckpoint) {
		return cockpit.Replication{}, false
	}
	return r, true
}
