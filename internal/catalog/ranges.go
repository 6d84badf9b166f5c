package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strings"
)

// Range is a key range [Lo, Hi) of a table whose key is one integer
// column. A nil bound is open, so the first and last ranges of a table
// hold keys inserted below its minimum or above its maximum later; the
// zero Range is the whole table.
type Range struct {
	Lo, Hi *big.Int
}

// Whole reports whether the range is the whole table.
func (r Range) Whole() bool { return r.Lo == nil && r.Hi == nil }

// maxRanges caps the ranges of one table.
const maxRanges = 100_000

// IntRanges splits a table into ranges of about rowsPerRange rows, by the
// span of its key and its estimated row count, as read through q (inside a
// snapshot, for a copy). A table whose key is not one integer column, or
// which is empty, is one whole range.
func IntRanges(ctx context.Context, q Queryer, t *Table, estimate int64, rowsPerRange int) ([]Range, error) {
	whole := []Range{{}}
	if len(t.Key) != 1 || t.Columns[t.Key[0]].Kind() != KindInt {
		return whole, nil
	}
	col := QuoteIdent(t.Columns[t.Key[0]].Name)
	var lo, hi sql.NullString
	if err := q.QueryRowContext(ctx, "SELECT MIN("+col+"), MAX("+col+") FROM "+QuoteName(t.Name)).Scan(&lo, &hi); err != nil {
		return nil, fmt.Errorf("key span of %s: %w", t.Name, err)
	}
	if !lo.Valid {
		return whole, nil
	}
	first, ok1 := new(big.Int).SetString(lo.String, 10)
	last, ok2 := new(big.Int).SetString(hi.String, 10)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("key span of %s: %q..%q are not integers", t.Name, lo.String, hi.String)
	}
	span := new(big.Int).Sub(last, first)
	span.Add(span, big.NewInt(1))
	if estimate <= 0 || (span.IsInt64() && span.Int64() < estimate) {
		estimate = maxRanges * int64(rowsPerRange)
		if span.IsInt64() {
			estimate = span.Int64()
		}
	}
	n := min(max(estimate/int64(rowsPerRange), 1), maxRanges)
	step := new(big.Int).Div(span, big.NewInt(n))
	if step.Sign() == 0 {
		step.SetInt64(1)
	}
	var ranges []Range
	var from *big.Int
	for next := new(big.Int).Add(first, step); next.Cmp(last) <= 0; next = new(big.Int).Add(next, step) {
		ranges = append(ranges, Range{from, next})
		from = next
	}
	return append(ranges, Range{Lo: from}), nil
}

// Predicate is the range as a WHERE condition on t's key, with its
// arguments; "" for the whole table.
func (r Range) Predicate(t *Table) (string, []any) {
	if r.Whole() {
		return "", nil
	}
	key := QuoteIdent(t.Columns[t.Key[0]].Name)
	var conds []string
	var args []any
	if r.Lo != nil {
		conds = append(conds, key+" >= ?")
		args = append(args, intArg(r.Lo))
	}
	if r.Hi != nil {
		conds = append(conds, key+" < ?")
		args = append(args, intArg(r.Hi))
	}
	return strings.Join(conds, " AND "), args
}

// Contains reports whether k lies in the range.
func (r Range) Contains(k *big.Int) bool {
	return (r.Lo == nil || r.Lo.Cmp(k) <= 0) && (r.Hi == nil || k.Cmp(r.Hi) < 0)
}

// intArg passes a bound as an integer argument: compared with a string,
// MySQL would convert both sides to DOUBLE and lose precision.
func intArg(b *big.Int) any {
	if b.IsInt64() {
		return b.Int64()
	}
	return b.Uint64()
}

// IntKey reads an integer key value as the binlog or a SELECT delivers it.
func IntKey(c *Column, v any) (*big.Int, error) {
	b, err := AppendLiteral(nil, c, v)
	if err != nil {
		return nil, err
	}
	n, ok := new(big.Int).SetString(string(b), 10)
	if !ok {
		return nil, fmt.Errorf("column %s: %q is not an integer key", c.Name, b)
	}
	return n, nil
}
