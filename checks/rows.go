package checks

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"golang.org/x/text/encoding/charmap"
)

// keyed is one row of a chunk as the drill-down reads it: its key and the
// hash of all its columns.
type keyed struct {
	key  []any // raw key values
	hash string
}

// rowDifferences finds, in a chunk whose checksums differ, the rows missing
// on the target, extra on it, and different, up to DiffLimit. Only keys
// and row hashes cross the network; rows of tables with floating-point
// columns that hash differently are then read whole and compared value by
// value, exactly, since servers of different versions print floats
// differently.
func (v *verifier) rowDifferences(ctx context.Context, c *chunk) ([]Difference, error) {
	job := c.job
	src, err := v.hashes(ctx, v.src, c, job.src, job.srcHash)
	if err != nil {
		return nil, fmt.Errorf("source: rows of %s: %w", job.name, err)
	}
	dst, err := v.hashes(ctx, v.dst, c, job.dst, job.dstHash)
	if err != nil {
		return nil, fmt.Errorf("target: rows of %s: %w", job.name, err)
	}
	table := job.name.String()
	if len(job.src.Key) == 0 {
		return noKeyDifferences(table, src, dst), nil
	}
	index := map[string]keyed{}
	for _, r := range dst {
		index[keyString(r.key)] = r
	}
	var out []Difference
	limit := v.opts.DiffLimit
	add := func(d Difference) bool {
		if limit > 0 && len(out) == limit {
			out = append(out, Difference{Table: table, Kind: Different,
				Detail: fmt.Sprintf("more rows of chunk %s differ; checks.verify.diff_limit is %d", c.describe(), limit)})
			return false
		}
		out = append(out, d)
		return true
	}
	hasFloat := job.hasFloat()
	for _, s := range src {
		k := keyString(s.key)
		d, ok := index[k]
		delete(index, k)
		switch {
		case !ok:
			if !add(Difference{Table: table, Kind: Missing, Key: v.keyMap(job.src, s.key)}) {
				return out, nil
			}
		case s.hash != d.hash:
			if hasFloat {
				same, err := v.sameRow(ctx, job, s.key)
				if err != nil {
					return nil, err
				}
				if same {
					continue
				}
			}
			if !add(Difference{Table: table, Kind: Different, Key: v.keyMap(job.src, s.key)}) {
				return out, nil
			}
		}
	}
	for _, d := range dst {
		if _, extra := index[keyString(d.key)]; extra {
			if !add(Difference{Table: table, Kind: Extra, Key: v.keyMap(job.dst, d.key)}) {
				return out, nil
			}
		}
	}
	return out, nil
}

// hashes reads the chunk's keys and row hashes in key order.
func (v *verifier) hashes(ctx context.Context, db *sql.DB, c *chunk, t *catalog.Table, hash string) ([]keyed, error) {
	where, args, err := c.where(t)
	if err != nil {
		return nil, err
	}
	cols := make([]string, len(t.Key))
	for i, k := range t.Key {
		cols[i] = catalog.QuoteIdent(t.Columns[k].Name)
	}
	q := "SELECT " + strings.Join(append(cols, hash), ",") + " FROM " + catalog.QuoteName(t.Name)
	if where != "" {
		q += " WHERE " + where
	}
	if len(cols) > 0 {
		q += " ORDER BY " + strings.Join(cols, ",")
	}
	var out []keyed
	err = catalog.ScanRows(ctx, db, q, args, func(rows *sql.Rows) error {
		vals := make([]sql.RawBytes, len(t.Key)+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		r := keyed{hash: string(vals[len(t.Key)])}
		for _, v := range vals[:len(t.Key)] {
			r.key = append(r.key, bytes.Clone(v))
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// noKeyDifferences compares the rows of a table without a key as
// multisets of row hashes.
func noKeyDifferences(table string, src, dst []keyed) []Difference {
	counts := map[string]int{}
	for _, r := range src {
		counts[r.hash]++
	}
	for _, r := range dst {
		counts[r.hash]--
	}
	var out []Difference
	for h, n := range counts {
		kind := Missing
		if n < 0 {
			kind, n = Extra, -n
		}
		if n > 0 {
			out = append(out, Difference{Table: table, Kind: kind,
				Detail: fmt.Sprintf("%d rows with row hash %s (the table has no key)", n, h)})
		}
	}
	return out
}

// sameRow reads one row from both sides, floating-point columns in the
// binary protocol (exact), the others in their canonical form, and
// compares them value by value.
func (v *verifier) sameRow(ctx context.Context, job *tableJob, key []any) (bool, error) {
	a, err := readRow(ctx, v.src, job.src, job.columns, key)
	if err != nil {
		return false, fmt.Errorf("source: %w", err)
	}
	b, err := readRow(ctx, v.dst, job.dst, job.dst.Writable(), key)
	if err != nil {
		return false, fmt.Errorf("target: %w", err)
	}
	if a == nil || b == nil || len(a) != len(b) {
		return false, nil
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false, nil
		}
	}
	return true, nil
}

func readRow(ctx context.Context, db *sql.DB, t *catalog.Table, columns []int, key []any) ([]any, error) {
	exprs := make([]string, len(columns))
	for i, c := range columns {
		col := &t.Columns[c]
		if col.Kind() == catalog.KindFloat {
			exprs[i] = catalog.QuoteIdent(col.Name)
		} else {
			exprs[i] = canonical(col)
		}
	}
	var conds []string
	for i, k := range t.Key {
		lit, err := catalog.AppendLiteral(nil, &t.Columns[k], key[i])
		if err != nil {
			return nil, err
		}
		conds = append(conds, catalog.QuoteIdent(t.Columns[k].Name)+" = "+string(lit))
	}
	stmt, err := db.PrepareContext(ctx, "SELECT "+strings.Join(exprs, ",")+" FROM "+catalog.QuoteName(t.Name)+" WHERE "+strings.Join(conds, " AND "))
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	vals := make([]any, len(columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err = stmt.QueryRowContext(ctx).Scan(ptrs...)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return vals, err
}

// sameValue compares two values read by readRow: floating-point numbers
// bit for bit (so -0 and 0 differ, as their text does), bytes exactly.
func sameValue(a, b any) bool {
	fa, aFloat := asFloat64(a)
	fb, bFloat := asFloat64(b)
	if aFloat || bFloat {
		return aFloat && bFloat && math.Float64bits(fa) == math.Float64bits(fb)
	}
	x, xok := a.([]byte)
	y, yok := b.([]byte)
	if xok && yok {
		return bytes.Equal(x, y)
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func asFloat64(v any) (float64, bool) {
	switch f := v.(type) {
	case float32:
		return float64(f), true
	case float64:
		return f, true
	}
	return 0, false
}

func (job *tableJob) hasFloat() bool {
	for _, c := range job.columns {
		if job.src.Columns[c].Kind() == catalog.KindFloat {
			return true
		}
	}
	return false
}

// keyString is a map key for raw key values.
func keyString(key []any) string {
	var b strings.Builder
	for _, v := range key {
		raw, _ := v.([]byte)
		fmt.Fprintf(&b, "%d:%s|", len(raw), raw)
	}
	return b.String()
}

// keyMap names a row's key for the report: integers as numbers, text as
// text, bytes that are not UTF-8 in hex.
func (v *verifier) keyMap(t *catalog.Table, key []any) map[string]any {
	m := map[string]any{}
	for i, k := range t.Key {
		col := &t.Columns[k]
		raw, _ := key[i].([]byte)
		m[col.Name] = keyValue(col, raw)
	}
	return m
}

// describe names a chunk's range for messages.
func (c *chunk) describe() string {
	if c.job.intRanges {
		lo, hi := "-∞", "+∞"
		if c.rng.Lo != nil {
			lo = c.rng.Lo.String()
		}
		if c.rng.Hi != nil {
			hi = c.rng.Hi.String()
		}
		return fmt.Sprintf("[%s, %s)", lo, hi)
	}
	return fmt.Sprintf("#%d", c.seq+1)
}

// keyValue renders a raw key value for a report: integers as numbers, text
// as UTF-8 text, anything else (or text that does not decode) in hex.
func keyValue(col *catalog.Column, raw []byte) any {
	switch col.Kind() {
	case catalog.KindInt:
		return json.Number(raw)
	case catalog.KindDecimal, catalog.KindTemporal, catalog.KindYear:
		return string(raw)
	case catalog.KindText, catalog.KindEnum, catalog.KindSet:
		switch col.Charset {
		case "latin1": // MySQL's latin1 is Windows-1252
			if s, err := charmap.Windows1252.NewDecoder().Bytes(raw); err == nil {
				return string(s)
			}
		case "utf8mb4", "utf8mb3", "utf8", "ascii":
			if utf8.Valid(raw) {
				return string(raw)
			}
		}
	}
	return "0x" + hex.EncodeToString(raw)
}
