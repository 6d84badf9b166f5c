package binlog

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

// Net changes. Within one target transaction only the end state of each
// row matters: the checkpoint commits with it, so no one ever sees the
// states in between. For a table where that end state can be written in
// any order, the applier keeps, per key, the row's last image (or that it
// was deleted) instead of a statement per change, and writes the batch as
// one DELETE ... IN and one multi-row REPLACE per table. A backlog of
// small transactions that touch the same tables — the common case — then
// costs the target a few large statements instead of one per row.
//
// Writing end states in an arbitrary order is only safe where no other
// row's state is involved, so a table qualifies (netEligible) only when,
// on the target:
//
//   - its one unique index is the replicated key: REPLACE can then only
//     meet the row with the same key (a second unique index could make it
//     replace a different row whose own change is still to come);
//   - no foreign key references it or is declared on it: the order of
//     deletes and inserts across tables no longer follows the source's,
//     and a REPLACE that deletes a parent row would cascade;
//   - it has no triggers, which would see states the source never had.
//
// Other tables keep the statement-per-change path; because they share no
// constraint with eligible tables, the two paths' relative order does not
// matter. Eligibility is read once per table and session, and again after
// any DDL. Nets are written into the transaction whenever netRows keys are
// pending, which bounds memory: writing the net of a prefix of the batch,
// then of the rest, yields the same end state.
const netRows = 2000

// netChanges is the pending end state of the rows an open batch touched in
// eligible tables.
type netChanges struct {
	tables []*netTable // in the order first touched, for a stable output
	by     map[*catalog.Table]*netTable
	size   int
}

type netTable struct {
	t    *catalog.Table
	keys []string // in the order first touched
	rows map[string]netRow
}

// netRow is a row's end state: its last image, or deleted (row then holds
// the image it was deleted with, for its key); and what the target must
// hold before the batch, as the first change of the key in it says:
// whether the row existed, with which before-image, and where that change
// is in the binlog.
type netRow struct {
	row     []any
	deleted bool
	existed bool
	image   []any
	at      Position
}

func (n *netChanges) put(t *catalog.Table, key string, r netRow) {
	if n.by == nil {
		n.by = map[*catalog.Table]*netTable{}
	}
	nt := n.by[t]
	if nt == nil {
		nt = &netTable{t: t, rows: map[string]netRow{}}
		n.by[t] = nt
		n.tables = append(n.tables, nt)
	}
	if first, seen := nt.rows[key]; seen {
		r.existed, r.image, r.at = first.existed, first.image, first.at
	} else {
		nt.keys = append(nt.keys, key)
		n.size++
	}
	nt.rows[key] = r
}

func (n *netChanges) reset() { *n = netChanges{} }

// get returns the pending end state of t's row with key.
func (n *netChanges) get(t *catalog.Table, key string) (netRow, bool) {
	if nt := n.by[t]; nt != nil {
		r, ok := nt.rows[key]
		return r, ok
	}
	return netRow{}, false
}

// sameImage reports whether two images of a row of t hold the same values
// in the columns a before-image is compared by (appendImageMatch).
func sameImage(t *catalog.Table, x, y []any) bool {
	for _, c := range t.Writable() {
		if t.Columns[c].Kind() != catalog.KindJSON && !sameValue(x[c], y[c]) {
			return false
		}
	}
	return true
}

// netKey is the row's key as SQL literals, which identifies it in a batch.
func netKey(t *catalog.Table, row []any) (string, error) {
	var b []byte
	var err error
	for i, c := range t.Key {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = catalog.AppendLiteral(b, &t.Columns[c], row[c]); err != nil {
			return "", err
		}
	}
	return string(b), nil
}

// netPut records a change of an eligible table's row: its end state is
// now r; before is the row the change found (an update's before-image, a
// deleted row), nil when it created the row.
//
// With replication.compare_before_image, a change of a key the batch has
// changed already must find the row as the net left it (a row deleted in
// the batch cannot be found at all): only each key's first before-image
// is compared with the target. A before-image that differs from the end
// state (the source's row changed outside the binlog in between) has the
// net written first, so that the change is the first of its key again
// and its before-image is compared with what the target then holds.
func (a *applier) netPut(t *catalog.Table, r netRow, before []any) error {
	key, err := netKey(t, r.row)
	if err != nil {
		return err
	}
	if before != nil && a.r.cfg.Replication.CompareBeforeImage {
		if cur, seen := a.net.get(t, key); seen && (cur.deleted || !sameImage(t, cur.row, before)) {
			if err := a.writeNet(); err != nil {
				return err
			}
		}
	}
	r.existed, r.image, r.at = before != nil, before, a.trxStart
	a.net.put(t, key, r)
	return nil
}

// netUpdate records an update: when it changes the key, the old key's row
// is gone.
func (a *applier) netUpdate(t *catalog.Table, before, after []any) error {
	for _, c := range t.Key {
		if !sameValue(before[c], after[c]) {
			// The row moves to a key that must be free.
			if err := a.netPut(t, netRow{row: before, deleted: true}, before); err != nil {
				return err
			}
			return a.netPut(t, netRow{row: after}, nil)
		}
	}
	return a.netPut(t, netRow{row: after}, before)
}

// writeNet appends the pending end states to the statement buffer, each
// with what it expects of the target: per table, the deleted rows that
// existed (a DELETE of rows that must be there), the rows that existed (a
// REPLACE of rows that must be there), and the new ones (an INSERT of
// keys that must be free). A row that must be there is there as the first
// change of its key in the batch found it: its before-image. A key created and deleted within the batch is
// not written, nor checked: under a case-insensitive key it may be the
// same row as another key of the batch.
func (a *applier) writeNet() error {
	for _, nt := range a.net.tables {
		for _, key := range nt.keys {
			if r := nt.rows[key]; r.deleted && r.existed {
				if err := a.appendDelete(nt.t, keyedRow{row: r.row, at: r.at, image: r.image}); err != nil {
					return err
				}
			}
		}
		if err := a.closeStatement(); err != nil {
			return err
		}
		for _, existed := range []bool{true, false} {
			kind := byte('n')
			if existed {
				kind = 'r'
			}
			for _, key := range nt.keys {
				if r := nt.rows[key]; !r.deleted && r.existed == existed {
					if err := a.appendRow(nt.t, keyedRow{row: r.row, at: r.at, image: r.image}, kind); err != nil {
						return err
					}
				}
			}
			if err := a.closeStatement(); err != nil {
				return err
			}
		}
	}
	a.net.reset()
	return nil
}

// netEligible reads, once per session and DDL, whether t's changes may be
// applied as net changes.
func (a *applier) netEligible(ctx context.Context, t *catalog.Table) (bool, error) {
	s := a.sqlFor(t)
	if s.netKnown {
		return s.net, nil
	}
	ok, err := readNetEligible(ctx, a, t)
	if err != nil {
		return false, fmt.Errorf("target: read the keys, foreign keys and triggers of %s: %w", a.r.filter.Target(t.Name), err)
	}
	s.net, s.netKnown = ok, true
	return ok, nil
}

// readNetEligible reads t's keys, foreign keys and triggers on the target.
func readNetEligible(ctx context.Context, a *applier, t *catalog.Table) (bool, error) {
	if len(t.Key) == 0 {
		return false, nil
	}
	db, name := a.r.target.db, a.r.filter.Target(t.Name)
	var related int
	err := db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL
			AND ((TABLE_SCHEMA = ? AND TABLE_NAME = ?) OR (REFERENCED_TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?))) +
		(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?)`,
		name.DB, name.Table, name.DB, name.Table, name.DB, name.Table).Scan(&related)
	if err != nil || related > 0 {
		return false, err
	}
	rows, err := db.QueryContext(ctx, `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX`, name.DB, name.Table)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var index string
	var columns []string
	for rows.Next() {
		var idx, col string
		if err := rows.Scan(&idx, &col); err != nil {
			return false, err
		}
		if index != "" && idx != index {
			return false, rows.Err() // a second unique index
		}
		index = idx
		columns = append(columns, col)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	key := make([]string, len(t.Key))
	for i, c := range t.Key {
		key[i] = t.Columns[c].Name
	}
	return slices.EqualFunc(columns, key, strings.EqualFold), nil
}
