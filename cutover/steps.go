package cutover

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/checks"
	"github.com/switcharoo/switcharoo/deploy"
	"github.com/switcharoo/switcharoo/dnsswap"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/faultpoint"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
)

// The steps of the night, in the reference migration's order, or with the
// DNS swap before the deploy (cutover.dns_swap: before-deploy) when clients
// reach the database through the swapped name: their writes then resume at
// the swap, not after the rollout. With DNS the swap is the point of no
// return, wherever it stands; without, the deploy is. Facts the steps record in the journal: fence_position (the
// source's position under the fence), source_server_id and
// target_server_id, reverse_start.
func (rb *Runbook) buildSteps() []*step {
	c := rb.cfg.Cutover
	// The servers each step talks to (the probe's writes go through the
	// application's name, not these).
	dst, both := []*server{rb.target}, []*server{rb.source, rb.target}
	var health []*server // reverse replication's status, on the source
	if c.ReverseReplication {
		health = []*server{rb.source}
	}
	steps := []*step{
		{name: "preflight", plan: rb.planPreflight, apply: rb.preflight, interruptible: true, uses: both},
	}
	if rb.dns != nil {
		steps = append(steps, &step{name: "ttl", plan: rb.planTTL, apply: rb.waitTTL, interruptible: true})
	}
	steps = append(steps,
		&step{name: "stop-app", plan: rb.planApp(deploy.Stop), apply: rb.runApp(deploy.Stop), undo: rb.undoApp(deploy.Stop)},
		&step{name: "fence-source", plan: rb.planFence, apply: rb.fenceSource, undo: rb.unfenceSource, uses: both,
			timeout: c.FenceGrace + 2*time.Minute, approve: "The night will fence the source: application writes stop until the switch completes. Go ahead?"},
		&step{name: "catch-up", plan: rb.planCatchUp, apply: rb.catchUp, timeout: c.CatchUpTimeout, uses: dst},
		&step{name: "verify", plan: rb.planVerify, apply: rb.verify, uses: both},
		&step{name: "stop-replication", plan: rb.planStopReplication, apply: rb.stopReplication, undo: rb.resumeReplication, uses: both},
		&step{name: "unfence-target", plan: rb.planUnfenceTarget, apply: rb.target.unfenceTarget, undo: rb.refenceTarget, uses: dst},
	)
	redeploy := &step{name: "deploy", plan: rb.planApp(deploy.Deploy), apply: rb.runApp(deploy.Deploy), undo: rb.undoApp(deploy.Deploy), noReturn: rb.dns == nil}
	switch {
	case rb.dns == nil:
		steps = append(steps, redeploy)
	case c.DNSSwap == config.DNSSwapBeforeDeploy:
		steps = append(steps, rb.swapStep(), redeploy)
	default:
		steps = append(steps, redeploy, rb.swapStep())
	}
	return append(steps,
		&step{name: "start-app", plan: rb.planApp(deploy.Start), apply: rb.runApp(deploy.Start)},
		&step{name: "health", plan: rb.planHealth, apply: rb.health, timeout: c.HealthTimeout, uses: health},
		&step{name: "finish", plan: func(context.Context) (string, error) {
			return "stop forward replication (it must never resume after the switch); write the report", nil
		}, apply: rb.finish, uses: dst},
	)
}

// swapStep moves the DNS records: the point of no return.
func (rb *Runbook) swapStep() *step {
	return &step{name: "dns-swap", plan: rb.planSwap, apply: rb.swapDNS, undo: rb.swapDNSBack, noReturn: true,
		approve: "The night will swap DNS without asking again: the point of no return; after it, going back is `switcharoo rollback`. Go ahead?"}
}

// planTTL says when the swap is allowed.
func (rb *Runbook) planTTL(ctx context.Context) (string, error) {
	readings, err := rb.dns.CheckTTL(ctx, false)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, r := range readings {
		text := r.String()
		if r.Why != "" {
			text += " (it " + r.Why + ")"
		}
		parts = append(parts, text+", swap allowed from "+r.SwapAllowedAt.Format(time.RFC3339))
	}
	return "read every record's TTL (an alias's: its target's); refuse one above dns.cutover_ttl; wait until clients can no longer cache old values: " + strings.Join(parts, "; "), nil
}

// waitTTL waits until no client can cache a value older than each
// record's lowering (or than a raise or change seen since), reading the
// TTLs again after every wait: a TTL raised meanwhile is refused before
// anything changes.
func (rb *Runbook) waitTTL(ctx context.Context) error {
	for {
		readings, err := rb.dns.CheckTTL(ctx, true)
		if err != nil {
			return err
		}
		rb.facts["ttl_read"] = ttlText(readings)
		var until time.Time
		for _, r := range readings {
			if r.SwapAllowedAt.After(until) {
				until = r.SwapAllowedAt
			}
		}
		wait := time.Until(until)
		if wait <= 0 {
			return nil
		}
		rb.log.Info().Time("until", until).Msg("waiting for the old TTLs to expire")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// ttlText lists TTLs read, for the journal and the report.
func ttlText(readings []dnsswap.TTLReading) string {
	parts := make([]string, len(readings))
	for i, r := range readings {
		parts[i] = r.String()
	}
	return strings.Join(parts, "; ")
}

// keepTTLs journals, under prefix, the TTLs a swap read just before it
// changed the records (the report's DNS cache window: the longest).
func (rb *Runbook) keepTTLs(prefix string) func([]dnsswap.TTLReading) error {
	return func(readings []dnsswap.TTLReading) error {
		var longest uint32
		for _, r := range readings {
			longest = max(longest, r.TTL)
		}
		if err := rb.recordFact(prefix+"ttl_read", ttlText(readings)); err != nil {
			return err
		}
		return rb.recordFact(prefix+"cache_ttl", strconv.FormatUint(uint64(longest), 10))
	}
}

func (rb *Runbook) planApp(p deploy.Phase) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		actions := rb.app.Actions(p)
		if len(actions) == 0 {
			return fmt.Sprintf("nothing (app.%s is empty)", p), nil
		}
		var parts []string
		for _, a := range actions {
			text, err := a.Plan(ctx)
			if err != nil {
				return "", fmt.Errorf("%s: %w", a.Name(), err)
			}
			parts = append(parts, a.Name()+": "+text)
		}
		return strings.Join(parts, "; "), nil
	}
}

func (rb *Runbook) runApp(p deploy.Phase) func(context.Context) error {
	return func(ctx context.Context) error { return rb.app.Run(ctx, p) }
}

func (rb *Runbook) undoApp(p deploy.Phase) func(context.Context) error {
	return func(ctx context.Context) error { return rb.app.Undo(ctx, p) }
}

func (rb *Runbook) planFence(context.Context) (string, error) {
	return fmt.Sprintf("silence the replicator's heartbeat; SET GLOBAL event_scheduler = OFF (restored by the undo) and read_only = ON on the source %s; wait up to %s for open transactions to end; "+
		"kill the remaining client connections (not replication); FLUSH TABLES WITH READ LOCK on the runbook's own connection; "+
		"record the binlog position once it no longer moves", mysqlconn.Addr(rb.cfg.Source), rb.cfg.Cutover.FenceGrace), nil
}

// fenceSource stops every write on the source and records its position.
func (rb *Runbook) fenceSource(ctx context.Context) error {
	schema := rb.cfg.Replication.CheckpointSchema
	if err := binlog.SetCommand(ctx, rb.target.db, schema, binlog.CommandQuiet); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if err := binlog.WaitForCommand(ctx, rb.target.db, schema, binlog.CommandQuiet, 30*time.Second); err != nil {
		return err
	}
	if err := rb.stopEvents(ctx); err != nil {
		return err
	}
	if err := rb.source.setReadOnly(ctx, true); err != nil {
		return err
	}
	faultpoint.Hit(faultpoint.FenceAfterReadOnly)
	open, err := rb.source.waitForWriters(ctx, rb.cfg.Cutover.FenceGrace)
	if err != nil {
		return err
	}
	if open > 0 {
		rb.log.Warn().Int("transactions", open).Dur("fence_grace", rb.cfg.Cutover.FenceGrace).
			Msg("transactions with uncommitted changes still open after the grace: their connections are killed and they roll back")
	}
	killed, err := rb.source.killClients(ctx, nil, rb.lease.id()) // not the night's own lease
	if err != nil {
		return err
	}
	rb.log.Info().Int("connections", killed).Msg("client connections killed")
	faultpoint.Hit(faultpoint.FenceAfterKill)
	rb.lock.release()
	if rb.lock, err = rb.takeSourceLock(ctx); err != nil {
		return err
	}
	pos, err := rb.source.stablePosition(ctx, standStill)
	if err != nil {
		return err
	}
	rb.facts["fence_position"] = pos.String()
	rb.log.Info().Stringer("position", pos).Msg("source fenced")
	return nil
}

// unfenceSource lets the application write on the source again, once
// the target has stopped: from here on the source takes the writes, and
// one the target still took would be lost.
func (rb *Runbook) unfenceSource(ctx context.Context) error {
	faultpoint.Hit(faultpoint.UndoBeforeUnfenceSource)
	if err := rb.targetStandsStill(ctx); err != nil {
		return fmt.Errorf("the source stays fenced: %w", err)
	}
	rb.lock.release()
	rb.lock = nil
	if err := rb.endStaleLocks(ctx); err != nil {
		return err
	}
	if err := rb.source.setReadOnly(ctx, false); err != nil {
		return err
	}
	if rb.facts["source_event_scheduler"] == "ON" {
		if _, err := rb.source.db.ExecContext(ctx, "SET GLOBAL event_scheduler = ON"); err != nil {
			return fmt.Errorf("source: SET GLOBAL event_scheduler = ON: %w", err)
		}
	}
	if err := binlog.SetCommand(ctx, rb.target.db, rb.cfg.Replication.CheckpointSchema, binlog.CommandRun); err != nil {
		rb.log.Warn().Err(err).Msg("could not tell the replicator to run again; restart switcharoo replicate")
	}
	return nil
}

// stopEvents turns the source's event scheduler off for the night: an
// event whose definer has SUPER writes through read_only. What it was is
// journaled first, for the undo to restore.
func (rb *Runbook) stopEvents(ctx context.Context) error {
	var state string
	if err := rb.source.db.QueryRowContext(ctx, "SELECT @@global.event_scheduler").Scan(&state); err != nil {
		return fmt.Errorf("source: read event_scheduler: %w", err)
	}
	if state != "ON" {
		return nil // OFF stays OFF; DISABLED cannot be changed at run time
	}
	if err := rb.recordFact("source_event_scheduler", state); err != nil {
		return err
	}
	if _, err := rb.source.db.ExecContext(ctx, "SET GLOBAL event_scheduler = OFF"); err != nil {
		return fmt.Errorf("source: SET GLOBAL event_scheduler = OFF: %w", err)
	}
	return nil
}

// targetStandStill is how long the target must take no foreign write
// before the source is unfenced: long enough to see a writer that pauses
// between statements.
const targetStandStill = time.Second

// targetStandsStill checks, where the target was opened to the
// application this night, that its binlog shows no write to a replicated
// table but replication's since it was fenced again — or, with reverse
// replication, since the position reverse replication brought back — and
// none for targetStandStill more. A session the fence missed (an account
// not in cutover.app_users, a SUPER user) is found here, before its
// writes are lost.
func (rb *Runbook) targetStandsStill(ctx context.Context) error {
	from := rb.facts["reverse_drain_to"]
	if from == "" {
		from = rb.facts["target_fenced_at"]
	}
	if from == "" {
		return nil // never opened to the application, or without a binlog (refenceTarget said so)
	}
	at, err := binlog.ParsePosition(from)
	if err != nil {
		return err
	}
	own, replicated := rb.cfg.Replication.CheckpointSchema, binlog.TargetTables(rb.cfg)
	next, before, err := binlog.ForeignWrites(ctx, rb.target.db, at, own, replicated)
	if err != nil {
		return fmt.Errorf("target: read its binlog: %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(targetStandStill):
	}
	_, still, err := binlog.ForeignWrites(ctx, rb.target.db, next, own, replicated)
	if err != nil {
		return fmt.Errorf("target: read its binlog: %w", err)
	}
	const passes = "some session there passes the fence (an account not in cutover.app_users, a SUPER user)"
	if len(still) > 0 {
		return &HumanError{Reason: fmt.Sprintf("the target still takes application writes after it was fenced again (%s): %s. "+
			"Stop that writer (SHOW PROCESSLIST on the target), bring its rows to the source, then `switcharoo rollback` again", still[0], passes)}
	}
	if len(before) > 0 {
		// They stopped: if their rows are on the source too (the operator
		// brought them), going back loses nothing.
		if err := rb.sameData(ctx); err != nil {
			return &HumanError{Reason: fmt.Sprintf("the target took %d application transactions after it was fenced again (first: %s): %s; "+
				"their rows are not on the source. Bring them over, then `switcharoo rollback` again", len(before), before[0], passes), Err: err}
		}
		rb.log.Warn().Int("transactions", len(before)).Msg("the target took writes after it was fenced again; the source holds the same rows now")
	}
	return nil
}

// refenceTarget undoes unfence-target: the target fenced again, and the
// position from which it must take no more writes recorded.
func (rb *Runbook) refenceTarget(ctx context.Context) error {
	if err := rb.target.fenceTarget(ctx); err != nil {
		return err
	}
	logBin, err := binlog.LoggingOn(ctx, rb.target.db)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if !logBin {
		rb.log.Warn().Msg("the target has no binlog: that it takes no more writes cannot be checked before the source is unfenced")
		return nil
	}
	at, err := binlog.CurrentPosition(ctx, rb.target.db)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	return rb.recordFact("target_fenced_at", at.String())
}

// holdFence checks, around every step, that the source's global read
// lock is still held. A lost lock (its connection closed by a
// wait_timeout, a killer, a network fault) is a broken fence: it is taken
// again only if the source's binlog has not moved since the fence; if it
// has, the old master accepted writes the target does not have, and the
// night stops.
func (rb *Runbook) holdFence(ctx context.Context, when string) error {
	if rb.lock == nil || rb.lock.held(context.WithoutCancel(ctx)) {
		return nil
	}
	rb.lock.release()
	// The lock first, then the position under it: a write between the two
	// would otherwise go unseen.
	var err error
	if rb.lock, err = rb.takeSourceLock(ctx); err != nil {
		return fmt.Errorf("the source's global read lock was lost %s and cannot be taken again: %w", when, err)
	}
	pos, err := rb.source.stablePosition(ctx, standStill)
	if err != nil {
		return fmt.Errorf("the source's global read lock was lost %s, and its position cannot be read: %w", when, err)
	}
	if pos.String() != rb.facts["fence_position"] {
		return &HumanError{Reason: fmt.Sprintf("the source's global read lock was lost %s (its connection was closed: a wait_timeout, a killer such as pt-kill, a network fault), "+
			"and its binlog moved from the fenced position %s to %s: the old master accepted writes after the fence, which the target may not have. "+
			"Find them in the source's binlog from %s; run `switcharoo rollback` to go back to the source, which holds them", when, rb.facts["fence_position"], pos, rb.facts["fence_position"])}
	}
	rb.log.Warn().Str("when", when).Stringer("position", pos).Msg("the source's global read lock was lost and is taken again; the source's position had not moved")
	return nil
}

// restoreFence re-reads the fence after a crash: the global lock died with
// the process that held it. From the fence on it is taken again, until
// stop-replication releases it for reverse replication (without reverse
// replication it stays until the runbook ends); a position that moved
// meanwhile is recorded anew, and moved says catch-up and verify must run
// again — or, once replication is stopped, that the source took writes
// the target does not have, which stops the night.
func (rb *Runbook) restoreFence(ctx context.Context, acted, completed map[string]bool) (moved bool, err error) {
	if !completed["fence-source"] || completed["stop-replication"] && rb.cfg.Cutover.ReverseReplication {
		return false, nil
	}
	ro, err := rb.source.readOnly(ctx)
	if err != nil {
		return false, err
	}
	if !ro {
		return false, &HumanError{Reason: "the journal says the source is fenced, but it is not read_only: someone unfenced it; run `switcharoo rollback`, or fence it and resume"}
	}
	if rb.lock, err = rb.takeSourceLock(ctx); err != nil {
		return false, err
	}
	pos, err := rb.source.stablePosition(ctx, standStill)
	if err != nil {
		return false, err
	}
	if pos.String() == rb.facts["fence_position"] {
		return false, nil
	}
	if acted["stop-replication"] && rb.cfg.Cutover.ReverseReplication && rb.facts["reverse_start"] != "" {
		// Died inside stop-replication, reverse replication perhaps
		// started: its own writes move the source; any other is one the
		// target does not have.
		if err := rb.sourceTookNoWrites(ctx); err != nil {
			return false, err
		}
		return false, nil
	}
	if acted["stop-replication"] {
		return false, &HumanError{Reason: fmt.Sprintf("while the runbook was down after stop-replication, the source's binlog moved from the fenced position %s to %s: "+
			"the old master accepted writes that replication no longer brings to the target; find them in its binlog, then `switcharoo rollback` (the source holds them) or apply them to the target", rb.facts["fence_position"], pos)}
	}
	rb.log.Warn().Str("recorded", rb.facts["fence_position"]).Stringer("now", pos).Msg("the source's position moved while the runbook was down; catching up to the new one and verifying again")
	return true, rb.recordFact("fence_position", pos.String())
}

// sourceTookNoWrites reads the source's binlog from the fenced position:
// a transaction writing a replicated table that is not reverse
// replication's (it writes its checkpoint with its rows) is a write the
// target does not have, and stops the night.
func (rb *Runbook) sourceTookNoWrites(ctx context.Context) error {
	from, err := rb.fencedPosition()
	if err != nil {
		return err
	}
	forward, own := catalog.NewFilter(rb.cfg.Replication), rb.reverseDB()
	replicated := func(t catalog.TableName) bool {
		return t.DB != own && t.DB != rb.cfg.Replication.CheckpointSchema && forward.Includes(t)
	}
	_, writes, err := binlog.ForeignWrites(ctx, rb.source.db, from, own, replicated)
	if err != nil {
		return fmt.Errorf("source: read its binlog from the fenced position: %w", err)
	}
	if len(writes) > 0 {
		return &HumanError{Reason: fmt.Sprintf("while the runbook was down inside stop-replication, the old master took writes after the fenced position %s that are not reverse replication's (the first at %s): "+
			"the target does not have them; find them in the source's binlog, then `switcharoo rollback` (the source holds them) or apply them to the target", from, writes[0].At)}
	}
	return nil
}

// recordFact records a fact outside a step's result (which journals the
// facts it set): at once, so that a crash right after does not lose it.
// takeSourceLock takes the source's global read lock and journals its
// connection before it asks for the lock: a lock whose connection the
// server keeps after switcharoo lost it (its network dropped, its process
// died; a FLUSH still waiting then takes the lock later) is found and
// ended when the source is opened again (endStaleLocks).
func (rb *Runbook) takeSourceLock(ctx context.Context) (*globalLock, error) {
	return rb.source.takeGlobalLock(ctx, 30*time.Second, func(l lockSession) error {
		sessions := rb.facts[sourceLockSessions]
		if sessions != "" {
			sessions += ","
		}
		return rb.recordFact(sourceLockSessions, sessions+l.String())
	})
}

// sourceLockSessions is the fact listing the connections that took the
// source's global read lock (lockSession).
const sourceLockSessions = "source_lock_sessions"

// endStaleLocks ends, once the runbook's own lock is released, any other
// connection that took the source's global read lock during the night and
// that the server still keeps (same id, same user, same server start: ids
// begin again after a restart, which ended the lock anyway), whatever it
// does — idle holding the lock, or a FLUSH still waiting for it: it would
// go on blocking every write on the source (the application's, or
// reverse replication's) though the runbook says the source is open.
func (rb *Runbook) endStaleLocks(ctx context.Context) error {
	started, err := serverStarted(ctx, rb.source.db)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	for entry := range strings.SplitSeq(rb.facts[sourceLockSessions], ",") {
		l, ok := parseLockSession(entry)
		if !ok || l.started < started-2 || l.started > started+2 {
			continue
		}
		var alive int
		if err := rb.source.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.PROCESSLIST
			WHERE ID = ? AND ID <> CONNECTION_ID() AND USER = ?`, l.id, l.user).Scan(&alive); err != nil {
			return fmt.Errorf("source: look for an earlier global read lock's connection: %w", err)
		}
		if alive == 0 {
			continue
		}
		rb.log.Warn().Int64("connection", l.id).Str("user", l.user).Msg("an earlier connection that took the source's global read lock is still there; ending it")
		if err := rb.source.kill(ctx, l.id); err != nil {
			return fmt.Errorf("source: end the global read lock of connection %d: %w", l.id, err)
		}
	}
	return nil
}

func (rb *Runbook) recordFact(key, value string) error {
	rb.facts[key] = value
	return rb.j.append(Event{Run: rb.run, Kind: evFact, Data: map[string]string{key: value}})
}

func (rb *Runbook) planCatchUp(context.Context) (string, error) {
	return fmt.Sprintf("wait until the replicator's checkpoint on %s reaches the fenced position; undo and abort after %s",
		mysqlconn.Addr(rb.cfg.Target), rb.cfg.Cutover.CatchUpTimeout), nil
}

func (rb *Runbook) fencedPosition() (binlog.Position, error) {
	p, err := binlog.ParsePosition(rb.facts["fence_position"])
	if err != nil {
		return p, fmt.Errorf("no fenced position recorded: %w", err)
	}
	return p, nil
}

// catchUp waits until everything written before the fence is applied.
func (rb *Runbook) catchUp(ctx context.Context) error {
	want, err := rb.fencedPosition()
	if err != nil {
		return err
	}
	for {
		cp, err := binlog.ReadCheckpoint(ctx, rb.target.db, rb.cfg.Replication.CheckpointSchema)
		if err == nil && cp.Position.Compare(want) >= 0 {
			rb.log.Info().Stringer("checkpoint", cp.Position).Msg("caught up with the fence")
			return nil
		}
		select {
		case <-ctx.Done():
			at := "(none)"
			if cp != nil {
				at = cp.Position.String()
			}
			return fmt.Errorf("replication did not reach the fenced position %s in time (checkpoint at %s)", want, at)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (rb *Runbook) planVerify(context.Context) (string, error) {
	return fmt.Sprintf("compare every replicated table once, at the fenced position (%s); any difference undoes the night", rb.cfg.Cutover.Verify), nil
}

func (rb *Runbook) verify(ctx context.Context) error {
	opts := checks.OptionsFrom(rb.cfg)
	opts.Fenced, opts.Fast = true, rb.cfg.Cutover.Verify == "fast"
	opts.OnProgress = rb.opts.Board.Verified
	r, err := checks.Verify(ctx, rb.cfg, opts, rb.log)
	if err != nil {
		return err
	}
	rb.facts["verified_rows"] = strconv.FormatInt(r.Rows, 10)
	if r.Identical {
		return nil
	}
	var shown []string
	for i, d := range r.Differences {
		if i == 5 {
			shown = append(shown, fmt.Sprintf("and %d more", len(r.Differences)-5))
			break
		}
		shown = append(shown, fmt.Sprintf("%s %s %v %s", d.Kind, d.Table, d.Key, d.Detail))
	}
	return fmt.Errorf("the target differs from the fenced source (differences: %d): %s", len(r.Differences), strings.Join(shown, "; "))
}

func (rb *Runbook) planStopReplication(context.Context) (string, error) {
	text := "pause forward replication; release the global read lock (the source stays read_only)"
	if rb.cfg.Cutover.ReverseReplication {
		text += fmt.Sprintf("; seed reverse replication %s → %s at the target's current position and start it",
			mysqlconn.Addr(rb.cfg.Target), mysqlconn.Addr(rb.cfg.Source))
	}
	return text, nil
}

func (rb *Runbook) reverseDB() string { return reverseSchema(rb.cfg) }

// reverseSchema is reverse replication's checkpoint schema.
func reverseSchema(cfg *config.Config) string {
	return cfg.Replication.CheckpointSchema + binlog.ReverseSuffix
}

// stopReplication ends forward replication and starts reverse replication,
// seeded where nothing has been written on the target yet.
func (rb *Runbook) stopReplication(ctx context.Context) error {
	schema := rb.cfg.Replication.CheckpointSchema
	if err := binlog.SetCommand(ctx, rb.target.db, schema, binlog.CommandPause); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if err := binlog.WaitForCommand(ctx, rb.target.db, schema, binlog.CommandPause, 30*time.Second); err != nil {
		return err
	}
	// A forward replicator restarted from here on (by a service manager,
	// by hand) must not stream again: it would send back onto the target
	// what reverse replication writes into the source.
	if err := binlog.MarkSwitched(ctx, rb.target.db, schema); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if !rb.cfg.Cutover.ReverseReplication {
		return nil // the global lock stays until the runbook ends
	}
	// Reverse replication writes into the source: the global lock goes,
	// read_only (which the replication user passes) stays.
	rb.lock.release()
	rb.lock = nil
	if err := rb.endStaleLocks(ctx); err != nil {
		return err
	}
	// Started before a crash: it is not seeded again under its feet.
	if st, err := binlog.ReadStatus(ctx, rb.source.db, rb.reverseDB()); err == nil && st.State == binlog.StateStreaming {
		if _, ok := rb.facts["reverse_start"]; !ok {
			rb.facts["reverse_start"] = st.Checkpoint.File + ":" + strconv.FormatUint(uint64(st.Checkpoint.Pos), 10)
		}
		return nil
	}
	if _, ok := rb.facts["reverse_start"]; !ok {
		// A write that queued behind the lock after its waiters were
		// ended commits as it goes: before reverse replication writes
		// here, the source must still be at the fenced position.
		if pos, err := rb.source.stablePosition(ctx, standStill); err != nil {
			return err
		} else if pos.String() != rb.facts["fence_position"] {
			return &HumanError{Reason: fmt.Sprintf("the source's binlog moved from the fenced position %s to %s as its global read lock was released: "+
				"an account that passes read_only (SUPER) wrote there, which the target does not have. Find it in the source's binlog from %s; "+
				"run `switcharoo rollback` to go back to the source, which holds it", rb.facts["fence_position"], pos, rb.facts["fence_position"])}
		}
		pos, err := binlog.Seed(ctx, binlog.ReverseConfig(rb.cfg), rb.log)
		if err != nil {
			return fmt.Errorf("seed reverse replication: %w", err)
		}
		if err := rb.recordFact("reverse_start", pos.String()); err != nil {
			return err
		}
	}
	if rb.opts.StartReverse == nil {
		rb.log.Warn().Msg("start reverse replication now: switcharoo replicate --reverse")
	} else if err := rb.opts.StartReverse(ctx); err != nil {
		return err
	}
	// The target opens only once the way back runs.
	return rb.waitReverse(ctx, 30*time.Second)
}

// waitReverse waits until reverse replication reports streaming.
func (rb *Runbook) waitReverse(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := binlog.ReadStatus(ctx, rb.source.db, rb.reverseDB())
		if err == nil && st.State == binlog.StateStreaming {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("reverse replication did not start streaming within %s (%s): see its log (state_dir/reverse-replicate.log)", timeout, stateOf(st, err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// resumeReplication undoes stopReplication. Reverse replication, if it was
// seeded, brings back what was written on the target, and stops before
// forward replication is seeded again past what it wrote into the source.
// Where nothing brought the target's writes back (reverse replication off,
// or it could not finish), a fenced verify must find both sides equal, or
// the undo stops here: going back would lose them.
func (rb *Runbook) resumeReplication(ctx context.Context) error {
	schema := rb.cfg.Replication.CheckpointSchema
	_, seeded := rb.facts["reverse_start"]
	st, err := binlog.ReadStatus(ctx, rb.source.db, rb.reverseDB())
	if seeded || (err == nil && st.State == binlog.StateStreaming) {
		drained := rb.drainReverse(ctx)
		if err := binlog.SetCommand(ctx, rb.source.db, rb.reverseDB(), binlog.CommandStop); err != nil {
			return fmt.Errorf("source: %w", err)
		}
		// Stopped, and seen stopped, before forward replication starts
		// again: the two never run at once, or each would send the other's
		// writes back.
		if err := binlog.WaitForCommand(ctx, rb.source.db, rb.reverseDB(), binlog.CommandStop, 30*time.Second); err != nil {
			return fmt.Errorf("stop reverse replication: %w", err)
		}
		// Both sides fenced and nothing replicating: they must hold the
		// same rows before forward replication is seeded past anything.
		// A write the old master took after the fence (a SUPER user, an
		// event) would otherwise be left behind on it for good.
		if err := rb.sameData(ctx); err != nil {
			return errors.Join(drained, err)
		}
		// Seeding replaces the switched checkpoint: an undo that died after
		// it (forward replication may run again already) does not repeat it.
		cp, err := binlog.ReadCheckpoint(ctx, rb.target.db, schema)
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
		if cp.Switched() {
			if _, err := binlog.Seed(ctx, rb.cfg, rb.log); err != nil {
				return fmt.Errorf("seed forward replication again: %w", err)
			}
		}
	} else {
		if err := rb.sameData(ctx); err != nil {
			return err
		}
		if err := binlog.UnmarkSwitched(ctx, rb.target.db, schema); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	return binlog.SetCommand(ctx, rb.target.db, schema, binlog.CommandQuiet)
}

// drainReverse waits while reverse replication streams until it has
// applied the target's binlog up to its position when the undo began
// (journaled once: a re-run after a crash does not chase the target's own
// later status writes).
func (rb *Runbook) drainReverse(ctx context.Context) error {
	want, err := binlog.ParsePosition(rb.facts["reverse_drain_to"])
	if err != nil {
		if want, err = binlog.CurrentPosition(ctx, rb.target.db); err != nil {
			return fmt.Errorf("target: %w", err)
		}
		if err := rb.recordFact("reverse_drain_to", want.String()); err != nil {
			return err
		}
	}
	for {
		cp, err := binlog.ReadCheckpoint(ctx, rb.source.db, rb.reverseDB())
		if err == nil && cp.Position.Compare(want) >= 0 {
			return nil
		}
		st, serr := binlog.ReadStatus(ctx, rb.source.db, rb.reverseDB())
		if serr != nil || st.State != binlog.StateStreaming {
			return fmt.Errorf("reverse replication is not running (%s) and has not brought back the target's writes up to %s", stateOf(st, serr), want)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reverse replication did not bring back the target's writes up to %s in time", want)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sameData verifies, both sides fenced, that source and target hold the
// same rows: then going back to the source loses nothing.
func (rb *Runbook) sameData(ctx context.Context) error {
	opts := checks.OptionsFrom(rb.cfg)
	opts.Fenced, opts.Fast = true, true
	r, err := checks.Verify(ctx, rb.cfg, opts, rb.log)
	if err != nil {
		return fmt.Errorf("verify before going back: %w", err)
	}
	if !r.Identical {
		guard := ""
		if n, err := binlog.ReadDivergences(ctx, rb.source.db, rb.reverseDB()); err == nil && n > 0 {
			guard = fmt.Sprintf(" (reverse replication's write guard recorded %d writes on the source it did not make: see %s.divergence on the source)", n, rb.reverseDB())
		}
		d := r.Differences[0]
		return fmt.Errorf("source and target differ with both fenced (%d differences, the first: %s %s %v %s; switcharoo verify lists them): either the target holds writes no replication brought back, "+
			"which going back would lose, or the old master took writes after the fence that the target lacks — a SUPER user or an event through read_only%s — "+
			"which forward replication, seeded again from here, would never bring. The source stays fenced; reconcile the two, then run switcharoo rollback again", len(r.Differences), d.Table, d.Kind, d.Key, d.Detail, guard)
	}
	return nil
}

func (rb *Runbook) planUnfenceTarget(context.Context) (string, error) {
	if len(rb.cfg.Cutover.AppUsers) > 0 {
		return fmt.Sprintf("ALTER USER … ACCOUNT UNLOCK for %s on the target %s", strings.Join(rb.cfg.Cutover.AppUsers, ", "), mysqlconn.Addr(rb.cfg.Target)), nil
	}
	return "SET GLOBAL read_only = OFF on the target " + mysqlconn.Addr(rb.cfg.Target), nil
}

func (rb *Runbook) planSwap(ctx context.Context) (string, error) {
	plan, err := rb.dns.Plan(ctx, false)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, p := range plan {
		parts = append(parts, p.String())
	}
	return "one atomic change: " + strings.Join(parts, "; ") + "; then wait until every authoritative server answers it", nil
}

// The prefixes of the facts keepTTLs records for the swap and the swap
// back.
const (
	swapFacts     = "dns_"
	swapBackFacts = "dns_back_"
)

// swapDNS points the records at the target: the point of no return.
func (rb *Runbook) swapDNS(ctx context.Context) error {
	_, err := rb.dns.Swap(ctx, dnsswap.SwapOptions{Read: rb.keepTTLs(swapFacts)})
	var slow *dnsswap.PropagationError
	if errors.As(err, &slow) {
		rb.log.Warn().Msg("the swap is made but not every authoritative server answers it yet; health checks follow")
		rb.facts["dns_propagation"] = "incomplete"
		err = nil
	}
	return err
}

func (rb *Runbook) swapDNSBack(ctx context.Context) error {
	_, err := rb.dns.Swap(ctx, dnsswap.SwapOptions{Reverse: true, Read: rb.keepTTLs(swapBackFacts)})
	var slow *dnsswap.PropagationError
	if errors.As(err, &slow) {
		rb.log.Warn().Msg("the swap back is made but not every authoritative server answers it yet")
		return nil
	}
	return err
}

func (rb *Runbook) planHealth(context.Context) (string, error) {
	var parts []string
	if p := rb.cfg.Checks.SQLProbe; p.Host != "" {
		parts = append(parts, fmt.Sprintf("a write as %s through %s:%d lands on the target", p.User, p.Host, p.Port))
	}
	for _, h := range rb.cfg.Checks.HTTP {
		parts = append(parts, fmt.Sprintf("GET %s answers %d", h.URL, expectStatus(h.ExpectStatus)))
	}
	if rb.cfg.Cutover.ReverseReplication {
		parts = append(parts, "reverse replication streams")
	}
	if len(parts) == 0 {
		return "nothing configured (checks.sql_probe, checks.http)", nil
	}
	return strings.Join(parts, "; ") + fmt.Sprintf(", within %s", rb.cfg.Cutover.HealthTimeout), nil
}

func expectStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

// health waits until every configured check passes.
func (rb *Runbook) health(ctx context.Context) error {
	targetID := rb.facts["target_server_id"]
	for {
		var failing []string
		if rb.probe != nil {
			id, err := rb.probe.write(ctx, true)
			if err != nil || strconv.FormatUint(uint64(id), 10) != targetID {
				failing = append(failing, fmt.Sprintf("probe write through %s: server %d, %v", rb.cfg.Checks.SQLProbe.Host, id, err))
			}
		}
		for _, h := range rb.cfg.Checks.HTTP {
			if err := checkHTTP(ctx, h.URL, expectStatus(h.ExpectStatus)); err != nil {
				failing = append(failing, err.Error())
			}
		}
		if rb.cfg.Cutover.ReverseReplication {
			st, err := binlog.ReadStatus(ctx, rb.source.db, rb.reverseDB())
			if err != nil || st.State != binlog.StateStreaming {
				failing = append(failing, fmt.Sprintf("reverse replication not streaming (%v)", stateOf(st, err)))
			}
		}
		if len(failing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("health checks still failing: %s", strings.Join(failing, "; "))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func stateOf(st *binlog.Status, err error) string {
	if err != nil {
		return err.Error()
	}
	return st.State
}

func checkHTTP(ctx context.Context, url string, want int) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s answered %d, want %d", url, resp.StatusCode, want)
	}
	return nil
}

// finish stops forward replication for good.
func (rb *Runbook) finish(ctx context.Context) error {
	return binlog.SetCommand(ctx, rb.target.db, rb.cfg.Replication.CheckpointSchema, binlog.CommandStop)
}
