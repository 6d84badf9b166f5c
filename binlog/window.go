package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"math/big"
	"slices"
)

// A copy interrupted by a restart is resumed under a new consistent
// snapshot: ranges copied before the restart hold the source as of the
// first snapshot, the rest as of the later one. The stream starts at the
// earliest snapshot, and until it passes the latest, the copyWindow tells
// for each row change whether the target's copy of that row already holds
// it: a change in a transaction that starts at or after the snapshot its
// row's range was copied under is applied; an earlier one is not. That
// keeps the exactly-once guarantee across resumed copies without replaying
// anything twice.
type copyWindow struct {
	until  Position // the latest snapshot
	ranges map[catalog.TableName][]copiedRange
}

// copiedRange is a key range [lo, hi) of a table (nil bounds are open)
// and the snapshot position it was copied under.
type copiedRange struct {
	catalog.Range
	at Position
}

// applies reports whether a change in a transaction starting at trxStart
// to a row of t must be applied.
func (w *copyWindow) applies(t *catalog.Table, row []any, trxStart Position) (bool, error) {
	ranges := w.ranges[t.Name]
	switch {
	case len(ranges) == 0:
		return true, nil // not part of the copy (created later)
	case len(ranges) == 1:
		return trxStart.Compare(ranges[0].at) >= 0, nil
	}
	k, err := catalog.IntKey(&t.Columns[t.Key[0]], row[t.Key[0]])
	if err != nil {
		return false, err
	}
	// The last range whose lower bound is at or below k.
	i, _ := slices.BinarySearchFunc(ranges, k, func(r copiedRange, k *big.Int) int {
		if r.Lo == nil {
			return -1
		}
		return r.Lo.Cmp(k)
	})
	if i < len(ranges) && ranges[i].Lo != nil && ranges[i].Lo.Cmp(k) == 0 {
		return trxStart.Compare(ranges[i].at) >= 0, nil
	}
	if i == 0 {
		return false, fmt.Errorf("table %s: key %s below every copied range", t.Name, k)
	}
	return trxStart.Compare(ranges[i-1].at) >= 0, nil
}

// loadWindow builds the window for a stream starting at from; nil when
// every range was copied under a snapshot at or before from.
func loadWindow(ctx context.Context, target *sql.DB, schema string, from Position) (*copyWindow, error) {
	w := &copyWindow{ranges: map[catalog.TableName][]copiedRange{}}
	q := catalog.QuoteIdent(schema)
	err := catalog.ScanRows(ctx, target, `SELECT c.db, c.tbl, c.lo, c.hi, s.binlog_file, s.binlog_pos
		FROM `+q+`.chunk c JOIN `+q+`.snapshot s ON s.id = c.snapshot_id ORDER BY c.db, c.tbl, c.seq`, nil,
		func(rows *sql.Rows) error {
			var t catalog.TableName
			var lo, hi sql.NullString
			var r copiedRange
			if err := rows.Scan(&t.DB, &t.Table, &lo, &hi, &r.at.File, &r.at.Pos); err != nil {
				return err
			}
			var err error
			if r.Lo, err = parseBound(lo); err != nil {
				return err
			}
			if r.Hi, err = parseBound(hi); err != nil {
				return err
			}
			w.ranges[t] = append(w.ranges[t], r)
			if r.at.Compare(w.until) > 0 {
				w.until = r.at
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read copy ranges: %w", err)
	}
	if w.until.Compare(from) <= 0 {
		return nil, nil
	}
	return w, nil
}

func parseBound(s sql.NullString) (*big.Int, error) {
	if !s.Valid {
		return nil, nil
	}
	n, ok := new(big.Int).SetString(s.String, 10)
	if !ok {
		return nil, fmt.Errorf("bad range bound %q", s.String)
	}
	return n, nil
}
