package catalog

import (
	"path"

	"github.com/switcharoo/switcharoo/internal/config"
)

// TableName names a table.
type TableName struct {
	DB    string `json:"db"`
	Table string `json:"table"`
}

func (t TableName) String() string { return t.DB + "." + t.Table }

// Filter decides which source tables are replicated and where they land
// on the target: replication.databases, tables, exclude_tables,
// allow_no_key and database_map.
type Filter struct {
	databases  []string
	tables     []string
	exclude    []string
	allowNoKey []string
	rename     map[string]string
	checkpoint string // the replicator's own schema, never replicated
}

// NewFilter builds the filter of a validated replication config.
func NewFilter(c config.Replication) Filter {
	f := Filter{
		databases:  c.Databases,
		tables:     c.Tables,
		exclude:    c.ExcludeTables,
		allowNoKey: c.AllowNoKey,
		rename:     map[string]string{},
		checkpoint: c.CheckpointSchema,
	}
	for _, m := range c.DatabaseMap {
		f.rename[m.Source] = m.Target
	}
	return f
}

// IncludesDatabase reports whether some tables of db may be replicated.
func (f Filter) IncludesDatabase(db string) bool {
	return db != f.checkpoint && matchAny(f.databases, db)
}

// Includes reports whether the table is replicated.
func (f Filter) Includes(t TableName) bool {
	if !f.IncludesDatabase(t.DB) {
		return false
	}
	if len(f.tables) > 0 && !MatchQualified(f.tables, t) {
		return false
	}
	return !MatchQualified(f.exclude, t)
}

// AllowsNoKey reports whether the table may be replicated without a key.
func (f Filter) AllowsNoKey(t TableName) bool { return MatchQualified(f.allowNoKey, t) }

// TargetDB is the name of db on the target.
func (f Filter) TargetDB(db string) string {
	if to, ok := f.rename[db]; ok {
		return to
	}
	return db
}

// Target is the table's name on the target.
func (f Filter) Target(t TableName) TableName {
	return TableName{DB: f.TargetDB(t.DB), Table: t.Table}
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// MatchQualified matches "db.table" patterns; the database part is matched
// against the database, the rest against the table.
func MatchQualified(patterns []string, t TableName) bool {
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			if p[i] != '.' {
				continue
			}
			dbOK, _ := path.Match(p[:i], t.DB)
			tableOK, _ := path.Match(p[i+1:], t.Table)
			if dbOK && tableOK {
				return true
			}
		}
	}
	return false
}
