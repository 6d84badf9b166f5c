package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
)

// ReverseSuffix is appended to replication.checkpoint_schema for the
// reverse replicator's own schema.
const ReverseSuffix = "_reverse"

// ReverseConfig is the configuration of reverse replication: from the new
// primary (the forward target) back to the old one, so that a rollback
// after the switch loses nothing written on the new side. Databases are
// named as on the new side, renames inverted; the replicator's server_id
// is replication.server_id + 1 and its schema checkpoint_schema + "_reverse".
func ReverseConfig(cfg *config.Config) *config.Config {
	r := *cfg
	r.Source, r.Target = cfg.Target, cfg.Source
	rep := cfg.Replication
	f := catalog.NewFilter(rep)
	toTarget := func(pattern string) string {
		if !strings.ContainsAny(pattern, "*?[") {
			return f.TargetDB(pattern)
		}
		return pattern
	}
	mapQualified := func(patterns []string) []string {
		out := make([]string, len(patterns))
		for i, p := range patterns {
			db, table, _ := strings.Cut(p, ".")
			out[i] = toTarget(db) + "." + table
		}
		return out
	}
	r.Replication.ServerID = rep.ServerID + 1
	r.Replication.CheckpointSchema = rep.CheckpointSchema + ReverseSuffix
	r.Replication.Databases = make([]string, len(rep.Databases))
	for i, d := range rep.Databases {
		r.Replication.Databases[i] = toTarget(d)
	}
	r.Replication.Tables = mapQualified(rep.Tables)
	r.Replication.ExcludeTables = mapQualified(rep.ExcludeTables)
	r.Replication.AllowNoKey = mapQualified(rep.AllowNoKey)
	r.Replication.DatabaseMap = make([]config.Rename, len(rep.DatabaseMap))
	for i, m := range rep.DatabaseMap {
		r.Replication.DatabaseMap[i] = config.Rename{Source: m.Target, Target: m.Source}
	}
	return &r
}

// Seed makes cfg's target ready to stream cfg's source from the source's
// current position, without a copy: for reverse replication, at the
// switchover, while both sides hold the same data and nothing writes.
// The replicator started afterwards (replicate with the same config)
// applies everything written on the source from that position on.
func Seed(ctx context.Context, cfg *config.Config, log zerolog.Logger) (Position, error) {
	r, err := New(cfg, log)
	if err != nil {
		return Position{}, err
	}
	defer r.Close()
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if r.identify(ctx, "source", cfg.Source, &r.source, add) && r.identify(ctx, "target", cfg.Target, &r.target, add) {
		r.checkSourceBinlog(ctx, add)
	}
	if len(problems) > 0 {
		return Position{}, &PreflightError{Problems: problems}
	}
	id, err := r.readSourceID(ctx)
	if err != nil {
		return Position{}, fmt.Errorf("source: %w", err)
	}
	tables, _, err := catalog.ListTables(ctx, r.source.db, r.filter)
	if err != nil {
		return Position{}, fmt.Errorf("source: %w", err)
	}
	schema, err := catalog.LoadTables(ctx, r.source.db, tables)
	if err != nil {
		return Position{}, fmt.Errorf("source: %w", err)
	}
	for _, stmt := range stateTables(cfg.Replication.CheckpointSchema) {
		if _, err := r.target.db.ExecContext(ctx, stmt); err != nil {
			return Position{}, fmt.Errorf("target: create the checkpoint schema: %w", err)
		}
	}
	pos, gtid, err := masterStatus(ctx, r.source.db, r.source.flavor)
	if err != nil {
		return Position{}, fmt.Errorf("source: %w", err)
	}
	cp := &Checkpoint{Source: id, Phase: phaseStreaming, Position: pos, GTID: gtid, Schema: schema}
	if err := writeCheckpoint(ctx, r.target.db, cfg.Replication.CheckpointSchema, cp); err != nil {
		return Position{}, fmt.Errorf("target: %w", err)
	}
	q := catalog.QuoteIdent(cfg.Replication.CheckpointSchema)
	// A new beginning: what an earlier run found diverging was settled
	// (by a verify) before this seed.
	if _, err := r.target.db.ExecContext(ctx, "DELETE FROM "+q+".chunk; DELETE FROM "+q+".snapshot; DELETE FROM "+q+".divergence"); err != nil {
		return Position{}, fmt.Errorf("target: %w", err)
	}
	// The write guard watches the target's binlog from here: where both
	// sides hold the same data.
	if at, err := CurrentPosition(ctx, r.target.db); err == nil {
		if err := saveGuardPosition(ctx, r.target.db, cfg.Replication.CheckpointSchema, at); err != nil {
			return Position{}, fmt.Errorf("target: %w", err)
		}
	}
	log.Info().Stringer("position", pos).Int("tables", len(schema)).Msg("replication seeded: it starts at the source's current position")
	return pos, nil
}

// MarkSwitched records on the target that replication stopped for the
// switchover: this replicator must never apply anything after its
// checkpoint again (a restarted replicate refuses), unless UnmarkSwitched.
func MarkSwitched(ctx context.Context, target *sql.DB, schema string) error {
	return setPhase(ctx, target, schema, phaseStreaming, phaseSwitched)
}

// Switched reports whether the checkpoint is marked switched.
func (c *Checkpoint) Switched() bool { return c.Phase == phaseSwitched }

// UnmarkSwitched undoes MarkSwitched, for a switchover undone before the
// new side took a write: replication may go on from its checkpoint.
func UnmarkSwitched(ctx context.Context, target *sql.DB, schema string) error {
	return setPhase(ctx, target, schema, phaseSwitched, phaseStreaming)
}

func setPhase(ctx context.Context, target *sql.DB, schema, from, to string) error {
	_, err := target.ExecContext(ctx, "UPDATE "+catalog.QuoteIdent(schema)+".checkpoint SET phase = ? WHERE id = 1 AND phase = ?", to, from)
	if err != nil {
		return fmt.Errorf("mark the checkpoint %s: %w", to, err)
	}
	return nil
}
