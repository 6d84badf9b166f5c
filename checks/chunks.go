package checks

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

// chunk is one key range of one table, compared on its own.
type chunk struct {
	job  *tableJob
	seq  int
	rng  catalog.Range // integer keys: a numeric range
	lo   []any         // other keys: inclusive lower bound (nil: open)
	hi   []any         // exclusive upper bound (nil: open)
	rows int64         // rows the source had in it, once checked
}

// where is the chunk's condition on a side's table, or "" for all rows.
func (c *chunk) where(t *catalog.Table) (string, []any, error) {
	if c.job.intRanges {
		cond, args := c.rng.Predicate(t)
		return cond, args, nil
	}
	var conds []string
	if c.lo != nil {
		cond, err := tupleCompare(t, c.lo, ">")
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, cond)
	}
	if c.hi != nil {
		cond, err := tupleCompare(t, c.hi, "<")
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, cond)
	}
	return strings.Join(conds, " AND "), nil, nil
}

// tupleCompare writes (key) >= (v) for ">" or (key) < (v) for "<" over a
// compound key, expanded into ORs of equalities: MySQL 5.6 uses an index
// range for that form but not for a row constructor. Literals carry the
// column's character set, so the comparison follows its collation, as the
// boundary scan's ORDER BY did.
func tupleCompare(t *catalog.Table, vals []any, op string) (string, error) {
	var ors []string
	for i := range t.Key {
		var ands []string
		for j := 0; j <= i; j++ {
			col := &t.Columns[t.Key[j]]
			lit, err := catalog.AppendLiteral(nil, col, vals[j])
			if err != nil {
				return "", err
			}
			cmp := "="
			switch {
			case j < i:
			case i == len(t.Key)-1 && op == ">":
				cmp = ">="
			default:
				cmp = op
			}
			ands = append(ands, catalog.QuoteIdent(col.Name)+" "+cmp+" "+string(lit))
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", nil
}

// keysetChunks walks the source's key index in order and sends chunks of
// chunkRows keys, until the table ends or ctx does. It is for tables whose
// key is not a single integer; tables without a key are one chunk.
func keysetChunks(ctx context.Context, src *sql.DB, job *tableJob, chunkRows int, out chan<- *chunk) error {
	t := job.src
	if len(t.Key) == 0 {
		return send(ctx, out, &chunk{job: job})
	}
	cols := make([]string, len(t.Key))
	for i, k := range t.Key {
		cols[i] = catalog.QuoteIdent(t.Columns[k].Name)
	}
	order := strings.Join(cols, ",")
	var lo []any
	for seq := 0; ; seq++ {
		q := "SELECT " + order + " FROM " + catalog.QuoteName(t.Name)
		if lo != nil {
			cond, err := tupleCompare(t, lo, ">")
			if err != nil {
				return err
			}
			q += " WHERE " + cond
		}
		q += fmt.Sprintf(" ORDER BY %s LIMIT 1 OFFSET %d", order, chunkRows)
		hi := make([]any, len(t.Key))
		ptrs := make([]any, len(hi))
		for i := range hi {
			ptrs[i] = &hi[i]
		}
		err := src.QueryRowContext(ctx, q).Scan(ptrs...)
		if err == sql.ErrNoRows {
			return send(ctx, out, &chunk{job: job, seq: seq, lo: lo})
		}
		if err != nil {
			return fmt.Errorf("source: chunk boundaries of %s: %w", t.Name, err)
		}
		if err := send(ctx, out, &chunk{job: job, seq: seq, lo: lo, hi: hi}); err != nil {
			return err
		}
		lo = hi
	}
}

func send(ctx context.Context, out chan<- *chunk, c *chunk) error {
	select {
	case out <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
