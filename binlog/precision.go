package binlog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

// Precision. Strict mode makes a value the target's column cannot hold an
// error (sqlmode.go), but not every narrowing: a DECIMAL with fewer
// decimals, a DATETIME with fewer fractional digits, a FLOAT where the
// source has a DOUBLE, a DATE where it has a DATETIME store another value
// with a Note at most, and ENUM and SET values, written by index and
// bitmap, take other labels' meaning when the labels differ. Nothing in the
// row events would tell, so the target's tables are compared with the
// schema the applier writes by: before the copy writes into a table that
// existed, and in every stream session at a table's first TABLE_MAP (again
// after each schema change), when the schema map is the one its rows are
// written by — after a pending schema change was settled or one applied by
// hand was read. A column narrowed while a session runs is found when the
// next one starts; docs/replication.md says not to. A table the target
// does not have is left to the statements that write it.

// checkPrecision compares t with the target's table once per session and
// schema change, stopping at at when a column would round.
func (a *applier) checkPrecision(ctx context.Context, t *catalog.Table, at Position) error {
	s := a.sqlFor(t)
	if s.precise {
		return nil
	}
	if err := a.r.checkTargetPrecision(ctx, catalog.Schema{t.Name: t}); err != nil {
		if stop, ok := errors.AsType[*StopError](err); ok {
			stop.Position = at
		}
		return err
	}
	s.precise = true
	return nil
}

// checkTargetPrecision stops replication when a column of one of schema's
// tables (by source name) keeps less precision on the target than in
// schema.
func (r *Replicator) checkTargetPrecision(ctx context.Context, schema catalog.Schema) error {
	var sources, targets []catalog.TableName
	for _, t := range slices.SortedFunc(maps.Keys(schema), func(a, b catalog.TableName) int { return strings.Compare(a.String(), b.String()) }) {
		dst := r.filter.Target(t)
		var n int
		if err := r.target.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", dst.DB, dst.Table).Scan(&n); err != nil {
			return fmt.Errorf("target: is there a table %s: %w", dst, err)
		}
		if n > 0 {
			sources, targets = append(sources, t), append(targets, dst)
		}
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
			return &StopError{Reason: fmt.Sprintf("column %s of %s is %s on the target but %s on the source: the target would round or otherwise change some of the source's values without an error, even in strict mode",
				c.Name, targets[i], dst.Columns[j].Type, c.Type), Fix: valueFix}
		}
	}
	return nil
}

// rounds reports whether the target's column d may store some value of
// the source's column c as another value, with no error in strict mode: a
// change of type other than a widening, fewer decimals or fractional
// digits, BINARY padded to another length, ENUM or SET labels (written by
// index and bitmap) other than the source's followed by new ones.
func rounds(c, d catalog.Column) bool {
	if d.DataType != c.DataType {
		return !slices.Contains(widenings[c.DataType], d.DataType)
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
	case "binary":
		return d.Type != c.Type
	case "enum", "set":
		return d.Type != c.Type && !strings.HasPrefix(d.Type, strings.TrimSuffix(c.Type, ")")+",")
	}
	return false
}

// widenings are, for a type, the other types that store each of its
// values unchanged, or refuse it in strict mode (a DECIMAL too narrow, a
// text too long): FLOAT's 24-bit mantissa holds a MEDIUMINT, DOUBLE's 53
// bits an INT; CHAR's trailing spaces are not in the binlog's image, nor
// BINARY's trailing zeros, which the applier pads back.
var widenings = map[string][]string{
	"tinyint":    {"smallint", "mediumint", "int", "bigint", "decimal", "float", "double"},
	"smallint":   {"mediumint", "int", "bigint", "decimal", "float", "double"},
	"mediumint":  {"int", "bigint", "decimal", "float", "double"},
	"int":        {"bigint", "decimal", "double"},
	"bigint":     {"decimal"},
	"float":      {"double"},
	"char":       {"varchar", "tinytext", "text", "mediumtext", "longtext"},
	"varchar":    {"tinytext", "text", "mediumtext", "longtext"},
	"tinytext":   {"varchar", "text", "mediumtext", "longtext"},
	"text":       {"mediumtext", "longtext"},
	"mediumtext": {"longtext"},
	"binary":     {"varbinary", "tinyblob", "blob", "mediumblob", "longblob"},
	"varbinary":  {"tinyblob", "blob", "mediumblob", "longblob"},
	"tinyblob":   {"varbinary", "blob", "mediumblob", "longblob"},
	"blob":       {"mediumblob", "longblob"},
	"mediumblob": {"longblob"},
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
