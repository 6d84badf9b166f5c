package binlog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

// Precision. Strict mode makes a value the target's column cannot hold an
// error (sqlmode.go), but not every narrowing: a DECIMAL with fewer
// decimals, a DATETIME with fewer fractional digits, a FLOAT where the
// source has a DOUBLE, a DATE where it has a DATETIME round the value
// with a Note at most. Nothing in the row events would tell, so the
// target's tables are compared with the schema the applier writes by:
// before the copy writes into a table that existed, and at the start of
// every stream session (a column narrowed on the target by hand while
// replicate was stopped). A column narrowed while a session runs is found
// when the next one starts; docs/replication.md says not to.

// checkTargetPrecision stops replication when a column of one of schema's
// tables (by source name) keeps less precision on the target than in
// schema.
func (r *Replicator) checkTargetPrecision(ctx context.Context, schema catalog.Schema) error {
	sources := slices.SortedFunc(maps.Keys(schema), func(a, b catalog.TableName) int { return strings.Compare(a.String(), b.String()) })
	targets := make([]catalog.TableName, len(sources))
	for i, t := range sources {
		targets[i] = r.filter.Target(t)
	}
	loaded, err := catalog.LoadTables(ctx, r.target.db, targets)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	for i, t := range sources {
		src, dst := schema[t], loaded[targets[i]]
		if src == nil || dst == nil {
			continue
		}
		for _, c := range src.Columns {
			j := slices.IndexFunc(dst.Columns, func(d catalog.Column) bool { return strings.EqualFold(d.Name, c.Name) })
			if j < 0 || c.Generated || !rounds(c, dst.Columns[j]) {
				continue
			}
			return &StopError{Reason: fmt.Sprintf("column %s of %s is %s on the target but %s on the source: the target would round the source's values without an error, even in strict mode",
				c.Name, targets[i], dst.Columns[j].Type, c.Type), Fix: valueFix}
		}
	}
	return nil
}

// rounds reports whether the target's column d stores some value of the
// source's column c rounded, with no error in strict mode.
func rounds(c, d catalog.Column) bool {
	if d.DataType != c.DataType {
		switch d.DataType {
		case "float": // 24 bits of mantissa
			return c.DataType != "tinyint" && c.DataType != "smallint"
		case "double": // 53 bits
			return c.DataType == "decimal" || c.DataType == "bigint"
		case "decimal": // a FLOAT's or DOUBLE's digits beyond its scale
			return c.DataType == "float" || c.DataType == "double"
		case "date": // a DATETIME's time of day
			return c.DataType == "datetime" || c.DataType == "timestamp"
		}
		return false // an error in strict mode, or wider
	}
	sa, da := typeArgs(c.Type), typeArgs(d.Type)
	switch c.DataType {
	case "decimal", "float", "double":
		// DECIMAL(M,D), and the deprecated FLOAT(M,D) and DOUBLE(M,D);
		// FLOAT and DOUBLE without them keep every digit they have.
		if len(da) == 0 {
			return false
		}
		if len(sa) == 0 {
			return c.DataType != "decimal" // unbounded on the source, bounded on the target
		}
		return scale(da) < scale(sa) || da[0]-scale(da) < sa[0]-scale(sa)
	case "datetime", "timestamp", "time":
		return fsp(da) < fsp(sa)
	}
	return false
}

// scale is D of a type's (M,D).
func scale(args []int) int {
	if len(args) == 2 {
		return args[1]
	}
	return 0
}

// fsp is a temporal type's fractional seconds precision.
func fsp(args []int) int {
	if len(args) == 1 {
		return args[0]
	}
	return 0
}
