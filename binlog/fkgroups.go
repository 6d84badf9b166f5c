package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

// A copy resumed under a second snapshot holds each key range as of the
// snapshot it was copied under, and the stream makes each range current.
// That breaks down across a foreign key: a parent deleted between the two
// snapshots cascades to its children on the source, the cascade is not in
// the binlog, and children copied under the first snapshot stay on the
// target, orphaned. So tables linked by foreign keys (parents, children,
// a table that references itself) are copied under one snapshot: when a
// resume finds such a group copied in part, or under several snapshots,
// the whole group is emptied on the target and copied again under the
// new one.

// resetSplitGroups empties, and marks to be copied again, every group of
// tables linked by foreign keys whose ranges were not all copied under
// one snapshot.
func (r *Replicator) resetSplitGroups(ctx context.Context, schema catalog.Schema) error {
	groups, err := r.foreignKeyGroups(ctx, schema)
	if err != nil {
		return err
	}
	cs := catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema)
	for _, group := range groups {
		var copied, pending int
		var snapshots []int64
		for _, t := range group {
			err := catalog.ScanRows(ctx, r.target.db, "SELECT snapshot_id FROM "+cs+".chunk WHERE db = ? AND tbl = ?", []any{t.DB, t.Table},
				func(rows *sql.Rows) error {
					var id sql.NullInt64
					if err := rows.Scan(&id); err != nil {
						return err
					}
					if !id.Valid {
						pending++
						return nil
					}
					copied++
					if !slices.Contains(snapshots, id.Int64) {
						snapshots = append(snapshots, id.Int64)
					}
					return nil
				})
			if err != nil {
				return fmt.Errorf("target: read copy ranges: %w", err)
			}
		}
		if copied == 0 || pending == 0 && len(snapshots) == 1 {
			continue
		}
		names := make([]string, len(group))
		for i, t := range group {
			names[i] = t.String()
		}
		r.log.Warn().Str("tables", strings.Join(names, ", ")).
			Msg("tables linked by foreign keys were copied in part: copied again, together, under the new snapshot (a parent deleted in between would leave orphans)")
		if err := r.emptyForCopy(ctx, group); err != nil {
			return err
		}
	}
	return nil
}

// emptyForCopy empties tables on the target, with foreign key checks off
// on a session of its own, and marks their ranges to be copied again.
func (r *Replicator) emptyForCopy(ctx context.Context, tables []catalog.TableName) error {
	conn, err := r.target.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer closeChecked(conn) // foreign_key_checks back on, whatever happened
	cs := catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema)
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for _, t := range tables {
		if _, err := conn.ExecContext(ctx, "DELETE FROM "+catalog.QuoteName(r.filter.Target(t))); err != nil {
			return fmt.Errorf("target: empty %s to copy it again: %w", r.filter.Target(t), err)
		}
		if _, err := conn.ExecContext(ctx, "UPDATE "+cs+".chunk SET snapshot_id = NULL, row_count = 0 WHERE db = ? AND tbl = ?", t.DB, t.Table); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	return nil
}

// foreignKeyGroups returns the replicated tables linked by foreign keys
// on the source, grouped: the connected parts of the graph of references,
// each with at least one reference.
func (r *Replicator) foreignKeyGroups(ctx context.Context, schema catalog.Schema) ([][]catalog.TableName, error) {
	group := map[catalog.TableName]int{} // table → group id
	members := map[int][]catalog.TableName{}
	next := 0
	join := func(a, b catalog.TableName) {
		ga, okA := group[a]
		gb, okB := group[b]
		switch {
		case !okA && !okB:
			group[a], group[b] = next, next
			members[next] = append(members[next], a)
			if b != a {
				members[next] = append(members[next], b)
			}
			next++
		case okA && !okB:
			group[b] = ga
			members[ga] = append(members[ga], b)
		case !okA && okB:
			group[a] = gb
			members[gb] = append(members[gb], a)
		case ga != gb:
			for _, t := range members[gb] {
				group[t] = ga
			}
			members[ga] = append(members[ga], members[gb]...)
			delete(members, gb)
		}
	}
	err := catalog.ScanRows(ctx, r.source.db, `SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME
		FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL`, nil, func(rows *sql.Rows) error {
		var child, parent catalog.TableName
		if err := rows.Scan(&child.DB, &child.Table, &parent.DB, &parent.Table); err != nil {
			return err
		}
		if schema[child] != nil && schema[parent] != nil {
			join(child, parent)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("source: read foreign keys: %w", err)
	}
	var groups [][]catalog.TableName
	for _, m := range members {
		groups = append(groups, m)
	}
	return groups, nil
}
