package privileges

import (
	"slices"
	"strings"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
)

// NightOf is the night cfg configures, between source and target (their
// Name, Addr and Flavor set; their users are the configured ones). The
// replicated databases are GRANT patterns of replication.databases;
// reverseSchema is reverse replication's checkpoint schema, used when
// cutover.reverse_replication is on.
func NightOf(cfg *config.Config, reverseSchema string, source, target Side) Night {
	source.User, target.User = cfg.Source.User, cfg.Target.User
	n := Night{
		Source: source, Target: target,
		Schema:    cfg.Replication.CheckpointSchema,
		AppUsers:  len(cfg.Cutover.AppUsers) > 0,
		Heartbeat: cfg.Replication.Heartbeat > 0,
		DDL:       cfg.Replication.DDL == config.DDLApply,
		Probe:     cfg.Checks.SQLProbe.User,
	}
	if cfg.Cutover.ReverseReplication {
		n.ReverseSchema = reverseSchema
	}
	f := catalog.NewFilter(cfg.Replication)
	for _, glob := range cfg.Replication.Databases {
		n.SourceDBs = append(n.SourceDBs, DatabasePattern(GrantPattern(glob)))
		n.TargetDBs = append(n.TargetDBs, DatabasePattern(GrantPattern(f.TargetDB(glob))))
	}
	return n
}

// GrantPattern turns a glob of replication.databases (app_*, shop?) into
// the GRANT database pattern that covers the same names (app\_%, shop_):
// * is %, ? and a character class are _, a literal _ or % is escaped.
func GrantPattern(glob string) string {
	var b strings.Builder
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '[':
			if end := strings.IndexByte(glob[i:], ']'); end > 0 {
				i += end
			}
			b.WriteByte('_')
		case '_', '%', '\\':
			b.WriteString(EscapeDB(string(c)))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Databases names the databases of tables as on each side: the source's
// and, through replication.database_map, the target's.
func Databases(tables []catalog.TableName, f catalog.Filter) (source, target []Object) {
	for _, t := range tables {
		if db := Database(t.DB); !slices.Contains(source, db) {
			source = append(source, db)
			target = append(target, Database(f.TargetDB(t.DB)))
		}
	}
	return source, target
}
