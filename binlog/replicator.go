package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"github.com/switcharoo/switcharoo/internal/privileges"
)

// Replicator keeps the target an exact copy of the source: it copies what
// is missing, then streams every change, until its context ends.
type Replicator struct {
	cfg      *config.Config
	log      zerolog.Logger
	filter   catalog.Filter
	source   server
	target   server
	progress *progress

	// ddlApplied is the position of a DDL the operator applied by hand
	// (replicate --ddl-applied); the stream records it without running it.
	ddlApplied Position
	// sourceIdentity names the source server in the checkpoint.
	sourceIdentity string
	// lock holds the target's named lock of this replicator.
	lock *sql.Conn
	// control is the command the runbook gave, through the target.
	control control
	// bytesRead counts the bytes read from the source's binlog stream.
	bytesRead atomic.Int64
	// carefulUntil: batches starting at or before it count the rows they
	// replace or delete before writing them (divergence.go).
	carefulUntil Position
}

// server is one side of replication.
type server struct {
	db     *sql.DB
	flavor string // "mysql" or "mariadb", as go-mysql names them
	kind   privileges.Flavor
	// foldsNames: lower_case_table_names is 1 or 2, the server keeps
	// database and table names in lower case, and a statement may name
	// them in any case.
	foldsNames bool
}

// RunOptions change what Run does.
type RunOptions struct {
	// UntilCaughtUp makes Run return once everything the source had
	// written when Run was called is applied.
	UntilCaughtUp bool
	// DDLApplied is the position, reported by a stop under
	// replication.ddl: stop, of a schema change the operator applied to
	// the target by hand.
	DDLApplied Position
	// GuardTarget watches the target's binlog for writes replication did
	// not make (guard.go): reverse replication's target, the old master,
	// is fenced by read_only alone, which SUPER users pass.
	GuardTarget bool
}

// New prepares a replicator for a validated configuration. It connects to
// nothing until Run.
func New(cfg *config.Config, log zerolog.Logger) (*Replicator, error) {
	src, err := mysqlconn.Open(cfg.Source, "", sourceSession())
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	dst, err := mysqlconn.Open(cfg.Target, "", targetSession(), mysqlconn.FoundRows)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("target: %w", err)
	}
	dst.SetMaxIdleConns(cfg.Replication.Workers + 4)
	src.SetMaxIdleConns(cfg.Replication.Workers + 4)
	return &Replicator{
		cfg:      cfg,
		log:      log,
		filter:   catalog.NewFilter(cfg.Replication),
		source:   server{db: src},
		target:   server{db: dst},
		progress: newProgress(),
	}, nil
}

// sourceSession are the source's session settings: those of every data
// session, and a long net_write_timeout, so a copy reading slowly (while
// the target writes) is not cut off.
func sourceSession() map[string]string {
	p := mysqlconn.DataSession()
	p["net_write_timeout"] = "600"
	return p
}

// Close releases the connection pools.
func (r *Replicator) Close() error {
	return errors.Join(r.source.db.Close(), r.target.db.Close())
}

// Run checks both servers, copies what has not been copied, then streams
// changes until ctx ends (nil: a clean stop at a transaction boundary) or
// a failure that retrying cannot cure.
func (r *Replicator) Run(ctx context.Context, opts RunOptions) error {
	r.ddlApplied = opts.DDLApplied
	plan, err := r.preflight(ctx, opts)
	if err != nil {
		return err
	}
	if err := r.ensureLock(ctx); err != nil {
		return err
	}
	defer r.releaseLock()

	var until *Position
	if opts.UntilCaughtUp {
		p, _, err := masterStatus(ctx, r.source.db, r.source.flavor)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		until = &p
		r.log.Info().Stringer("until", p).Msg("will stop once caught up with the source's current position")
	}

	for _, stmt := range stateTables(r.cfg.Replication.CheckpointSchema) {
		if _, err := r.target.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("target: create the checkpoint schema: %w", err)
		}
	}
	// Starting replicate means running it, whatever an earlier runbook
	// asked of an earlier replicator.
	if err := SetCommand(ctx, r.target.db, r.cfg.Replication.CheckpointSchema, CommandRun); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	r.control.command = CommandRun

	// The final status is written once the goroutines that refresh the
	// status row have stopped: none may overwrite it with a stale state.
	defer r.writeFinalStatus()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { r.reportStatus(ctx) })
	wg.Go(func() { r.watchControl(ctx) })
	if r.cfg.Replication.Heartbeat > 0 {
		if err := r.setupHeartbeat(ctx); err != nil {
			r.log.Warn().Err(err).Msg("no heartbeat on the source (lag comes from event timestamps, which have a one-second resolution and cannot tell a quiet source from a stalled one); grant CREATE, INSERT and UPDATE on the checkpoint schema to fix")
		} else {
			wg.Go(func() { r.heartbeat(ctx) })
		}
	}

	if plan.copyNeeded {
		r.enter(ctx, StateCopying)
		if err := r.copy(ctx, plan); err != nil {
			if ctx.Err() != nil {
				r.log.Info().Msg("copy interrupted; replicate resumes it")
				return nil
			}
			return err
		}
	}
	r.enter(ctx, StateStreaming)
	if opts.GuardTarget {
		wg.Go(func() { r.guardTarget(ctx) })
	}
	return r.stream(ctx, until)
}

// errCaughtUp ends a session that has reached the position it was asked to.
var errCaughtUp = errors.New("caught up")

// stream applies the binlog from the checkpoint, reconnecting with backoff
// after any transient failure of either side.
func (r *Replicator) stream(ctx context.Context, until *Position) error {
	const firstBackoff = 500 * time.Millisecond
	backoff := firstBackoff
	var outage time.Time
	recovered := func() {
		if !outage.IsZero() {
			r.log.Info().Stringer("outage", time.Since(outage).Round(time.Millisecond)).Msg("replication recovered")
			outage = time.Time{}
		}
		backoff = firstBackoff
	}
	for {
		if r.stopping() {
			r.enter(ctx, StateStopped)
			if !r.waitWhilePaused(ctx) {
				r.log.Info().Msg("stopped at a transaction boundary")
				return nil
			}
			r.enter(ctx, StateStreaming)
		}
		sctx, cancelSession := context.WithCancel(ctx)
		go r.cancelOnCommand(sctx, cancelSession)
		err := r.session(sctx, until, recovered)
		var recount *recountError
		byCommand := sctx.Err() != nil && ctx.Err() == nil
		cancelSession()
		switch {
		case errors.Is(err, errCaughtUp):
			r.log.Info().Msg("caught up")
			return nil
		case ctx.Err() != nil:
			r.log.Info().Msg("stopped at a transaction boundary")
			return nil
		case byCommand:
			continue // paused or stopped at a transaction boundary
		case errors.As(err, &recount):
			r.carefulUntil = recount.until
			r.log.Info().Stringer("until", recount.until).Msg("a batch replaced or deleted fewer rows than it expected (identical rows, or a divergence): applying it again, counting its rows first")
			continue
		case !transient(err):
			return err
		}
		if outage.IsZero() {
			outage = time.Now()
		}
		r.log.Warn().Err(err).Stringer("retry_in", backoff).Msg("replication interrupted; resuming from the checkpoint")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.cfg.Replication.MaxBackoff)
	}
}

// session streams from the committed checkpoint until an error. Whatever
// is not committed when it ends is rolled back; the next session starts
// from the checkpoint again. A watchdog ends it when the target stops
// answering.
func (r *Replicator) session(ctx context.Context, until *Position, onCommit func()) error {
	ctx, watch, stop := r.watchTarget(ctx)
	defer stop()
	err := r.streamSession(ctx, watch, until, onCommit)
	if cause := context.Cause(ctx); errors.Is(cause, errTargetStalled) {
		return fmt.Errorf("target: %w", cause)
	}
	return err
}

func (r *Replicator) streamSession(ctx context.Context, watch *targetWatch, until *Position, onCommit func()) error {
	if err := r.ensureLock(ctx); err != nil {
		return err
	}
	conn, err := r.target.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer closeChecked(conn)
	// Foreign keys are checked, and cascade, on the target as on the
	// source (the binlog holds no row a cascade changed), unless a rows
	// event says its source session had them off. Said explicitly,
	// whatever session state a pooled connection carries.
	// No check of an earlier session on this connection is taken for one
	// of this session's (divergence.go), and strict mode is on, however
	// the last batch on it ended (sqlmode.go).
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 1, unique_checks = 1, @switcharoo_check = NULL, sql_mode = '"+strictMode+"'"); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	cp, err := ReadCheckpoint(ctx, r.target.db, r.cfg.Replication.CheckpointSchema)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	r.progress.setPosition(cp.Position, cp.EventTime)
	if until != nil && cp.Position.Compare(*until) >= 0 {
		return errCaughtUp
	}
	// A trigger created on the target since preflight would fire for
	// every replicated row from now on.
	if triggers, err := r.targetTriggers(ctx, slices.Collect(maps.Keys(cp.Schema))); err != nil {
		return fmt.Errorf("target: list triggers: %w", err)
	} else if len(triggers) > 0 {
		return &StopError{Position: cp.Position, Reason: triggersProblem(triggers), Fix: "then restart replicate"}
	}
	window, err := loadWindow(ctx, r.target.db, r.cfg.Replication.CheckpointSchema, cp.Position)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	a, err := newApplier(r, conn, cp, window)
	if err != nil {
		return err
	}
	a.watch = watch
	var connID int64
	var maxPacket int
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID(), @@max_allowed_packet").Scan(&connID, &maxPacket); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	a.limits = limitsFor(maxPacket)
	watch.connID.Store(connID)
	s, err := r.openStream(ctx, cp.Position)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer s.close()
	r.log.Info().Stringer("from", cp.Position).Msg("streaming")

	for {
		// Caught up with nothing left to commit: a schema change commits
		// as it is applied, and may be the last event before until.
		if until != nil && !a.pending() && a.safe.Compare(*until) >= 0 {
			if err := a.settle(); err != nil {
				a.rollback()
				return err
			}
			return errCaughtUp
		}
		if a.dueForCommit(s.waiting()) {
			if err := a.commit(ctx); err != nil {
				a.rollback()
				return err
			}
			r.progress.setCaughtUp(!s.waiting())
			onCommit()
			if until != nil && a.safe.Compare(*until) >= 0 {
				if err := a.settle(); err != nil {
					a.rollback()
					return err
				}
				return errCaughtUp
			}
			continue
		}
		if !s.waiting() {
			// Nothing to build meanwhile: let the commit in flight finish,
			// so status and lag say where the target is.
			if err := a.settle(); err != nil {
				a.rollback()
				return err
			}
		}
		ev, err := s.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return r.stopSession(a)
			}
			a.rollback()
			return fmt.Errorf("source: %w", err)
		}
		if err := a.handle(ctx, ev); err != nil {
			a.rollback()
			return err
		}
	}
}

// stopSession ends a session on request: committed up to the last
// transaction boundary when the applier is at one, else rolled back.
func (r *Replicator) stopSession(a *applier) error {
	if a.inTrx {
		a.rollback()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := a.commit(ctx)
	if err == nil {
		err = a.settle()
	}
	if err != nil {
		a.rollback()
		r.log.Warn().Err(err).Msg("could not commit the last batch while stopping; it will be applied again from the checkpoint")
	}
	return nil
}

// BinlogBytesRead is how many bytes this replicator has read from the
// source's binlog stream since it was made: for replicate's metrics.
func (r *Replicator) BinlogBytesRead() int64 { return r.bytesRead.Load() }

// statementTimeout bounds one round trip of the applier: long enough for a
// full batch on a slow target, short enough that a stalled connection is
// noticed.
func (r *Replicator) statementTimeout() time.Duration {
	return max(4*r.cfg.Replication.StallTimeout, 30*time.Second)
}

// ensureLock holds a named lock on the target for as long as replicate
// runs, so that two replicators never apply the same changes. A lock lost
// with its connection (a target restart) is taken again before the next
// session applies anything.
func (r *Replicator) ensureLock(ctx context.Context) error {
	name := "switcharoo-replicate-" + r.cfg.Replication.CheckpointSchema
	if r.lock != nil {
		var mine sql.NullBool
		if err := r.lock.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", name).Scan(&mine); err == nil && mine.Bool {
			return nil
		}
		r.releaseLock()
	}
	conn, err := r.target.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", name).Scan(&got); err != nil {
		conn.Close()
		return fmt.Errorf("target: take the replicate lock: %w", err)
	}
	if got.Int64 != 1 {
		conn.Close()
		return &PreflightError{Problems: []string{fmt.Sprintf(
			"another switcharoo replicate is running against this target (it holds the lock %q); stop it first, or give this one another replication.checkpoint_schema", name)}}
	}
	r.lock = conn
	return nil
}

func (r *Replicator) releaseLock() {
	if r.lock != nil {
		r.lock.Close() // the server releases the lock with the connection
		r.lock = nil
	}
}
