package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Table is what switcharoo knows of one table: its columns in order (row
// events identify columns only by position) and the key that identifies a
// row.
type Table struct {
	Name    TableName `json:"name"`
	Columns []Column  `json:"columns"`
	// Key holds the indexes in Columns of the primary key, or of a unique
	// key over NOT NULL columns; empty when the table has neither (and is
	// replicated only because allow_no_key names it).
	Key []int `json:"key"`
	// Engine is the source table's storage engine.
	Engine string `json:"engine"`
}

// Column is one column of a table.
type Column struct {
	Name     string `json:"name"`
	DataType string `json:"data_type"` // information_schema DATA_TYPE, lower case
	Type     string `json:"type"`      // COLUMN_TYPE, e.g. "int(10) unsigned"
	Charset  string `json:"charset,omitempty"`
	Nullable bool   `json:"nullable,omitempty"`
	// Generated columns are computed by the server and never written.
	Generated bool `json:"generated,omitempty"`
	// OnUpdate columns (ON UPDATE CURRENT_TIMESTAMP) are always written on
	// update, so the target never stamps its own time.
	OnUpdate bool `json:"on_update,omitempty"`
}

// Unsigned reports whether a numeric column is unsigned.
func (c Column) Unsigned() bool { return strings.Contains(c.Type, "unsigned") }

// Writable returns the indexes of the columns a statement may write: all
// but the generated ones.
func (t *Table) Writable() []int {
	var idx []int
	for i, c := range t.Columns {
		if !c.Generated {
			idx = append(idx, i)
		}
	}
	return idx
}

// Schema maps the replicated tables to what is known of them.
type Schema map[TableName]*Table

// ListTables returns the base tables of the databases the filter includes
// that it also includes itself, with the storage engine and row estimate.
func ListTables(ctx context.Context, db *sql.DB, f Filter) ([]TableName, map[TableName]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT TABLE_SCHEMA, TABLE_NAME, IFNULL(TABLE_ROWS, 0)
		FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'
		AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
		ORDER BY TABLE_SCHEMA, TABLE_NAME`)
	if err != nil {
		return nil, nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var names []TableName
	estimates := map[TableName]int64{}
	for rows.Next() {
		var t TableName
		var n int64
		if err := rows.Scan(&t.DB, &t.Table, &n); err != nil {
			return nil, nil, fmt.Errorf("list tables: %w", err)
		}
		if f.Includes(t) {
			names = append(names, t)
			estimates[t] = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("list tables: %w", err)
	}
	return names, estimates, nil
}

// LoadTables reads the columns and keys of the named tables from
// information_schema.
func LoadTables(ctx context.Context, db *sql.DB, names []TableName) (Schema, error) {
	schema := Schema{}
	if len(names) == 0 {
		return schema, nil
	}
	var dbs []string
	for _, n := range names {
		schema[n] = &Table{Name: n}
		if !slices.Contains(dbs, n.DB) {
			dbs = append(dbs, n.DB)
		}
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(dbs)), ",") + ")"
	args := make([]any, len(dbs))
	for i, d := range dbs {
		args[i] = d
	}

	if err := ScanRows(ctx, db, `SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE FROM information_schema.TABLES
		WHERE TABLE_SCHEMA IN `+in, args, func(r *sql.Rows) error {
		var n TableName
		var engine sql.NullString
		if err := r.Scan(&n.DB, &n.Table, &engine); err != nil {
			return err
		}
		if t := schema[n]; t != nil {
			t.Engine = engine.String
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read table engines: %w", err)
	}

	if err := ScanRows(ctx, db, `SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE,
		IFNULL(CHARACTER_SET_NAME, ''), IS_NULLABLE, LOWER(EXTRA)
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN `+in+`
		ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION`, args, func(r *sql.Rows) error {
		var n TableName
		var c Column
		var nullable, extra string
		if err := r.Scan(&n.DB, &n.Table, &c.Name, &c.DataType, &c.Type, &c.Charset, &nullable, &extra); err != nil {
			return err
		}
		t := schema[n]
		if t == nil {
			return nil
		}
		c.Nullable = nullable == "YES"
		c.Generated = generatedExtra(extra)
		c.OnUpdate = strings.Contains(extra, "on update")
		t.Columns = append(t.Columns, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read columns: %w", err)
	}

	type index struct {
		name    string
		unique  bool
		columns []string
	}
	indexes := map[TableName][]*index{}
	if err := ScanRows(ctx, db, `SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN `+in+`
		ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`, args, func(r *sql.Rows) error {
		var n TableName
		var name, column string
		var nonUnique int
		if err := r.Scan(&n.DB, &n.Table, &name, &nonUnique, &column); err != nil {
			return err
		}
		list := indexes[n]
		if len(list) == 0 || list[len(list)-1].name != name {
			list = append(list, &index{name: name, unique: nonUnique == 0})
			indexes[n] = list
		}
		last := list[len(list)-1]
		last.columns = append(last.columns, column)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read indexes: %w", err)
	}

	for n, t := range schema {
		if len(t.Columns) == 0 {
			return nil, fmt.Errorf("table %s has no columns in information_schema (dropped meanwhile?)", n)
		}
		// The primary key, else the unique key over NOT NULL columns with
		// the fewest columns.
		var best *index
		for _, ix := range indexes[n] {
			if !ix.unique || !t.allNotNull(ix.columns) {
				continue
			}
			if ix.name == "PRIMARY" {
				best = ix
				break
			}
			if best == nil || len(ix.columns) < len(best.columns) {
				best = ix
			}
		}
		if best != nil {
			for _, c := range best.columns {
				t.Key = append(t.Key, t.ColumnIndex(c))
			}
		}
	}
	return schema, nil
}

// generatedExtra reports whether information_schema.COLUMNS.EXTRA (lower
// case) describes a generated column: "virtual generated" and "stored
// generated" (MySQL 5.7+, MariaDB 10.2+), "persistent" and "virtual"
// (older MariaDB). MySQL 8.0's "default_generated" (a column whose DEFAULT
// is an expression or CURRENT_TIMESTAMP, with or without "on update
// current_timestamp") is an ordinary column, written like any other.
func generatedExtra(extra string) bool {
	for _, word := range strings.Fields(extra) {
		switch word {
		case "virtual", "stored", "persistent":
			return true
		}
	}
	return false
}

// ColumnIndex returns the index of the named column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

func (t *Table) allNotNull(columns []string) bool {
	for _, name := range columns {
		i := t.ColumnIndex(name)
		if i < 0 || t.Columns[i].Nullable {
			return false
		}
	}
	return true
}

// Queryer is what *sql.DB, *sql.Conn and *sql.Tx share for reading.
type Queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ScanRows runs a query and calls each for every row.
func ScanRows(ctx context.Context, q Queryer, query string, args []any, each func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Equal compares schema maps by their tables' columns and keys.
func Equal(a, b Schema) bool {
	if len(a) != len(b) {
		return false
	}
	for name, t := range a {
		u := b[name]
		if u == nil || !slices.Equal(t.Columns, u.Columns) || !slices.Equal(t.Key, u.Key) {
			return false
		}
	}
	return true
}

// MarshalJSON writes the schema map as a list: JSON objects need string keys.
func (s Schema) MarshalJSON() ([]byte, error) {
	tables := make([]*Table, 0, len(s))
	for _, t := range s {
		tables = append(tables, t)
	}
	slices.SortFunc(tables, func(a, b *Table) int { return strings.Compare(a.Name.String(), b.Name.String()) })
	return json.Marshal(tables)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (s *Schema) UnmarshalJSON(b []byte) error {
	var tables []*Table
	if err := json.Unmarshal(b, &tables); err != nil {
		return err
	}
	*s = Schema{}
	for _, t := range tables {
		(*s)[t.Name] = t
	}
	return nil
}

// QuoteIdent quotes an identifier with backticks.
func QuoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// QuoteName quotes a qualified table name.
func QuoteName(t TableName) string { return QuoteIdent(t.DB) + "." + QuoteIdent(t.Table) }
