package privileges

import "strings"

// Object is what a privilege is granted on: *.* (DB ""), a database
// (Table ""), or one table or routine.
//
// DB is a database's name, unless Pattern says it is a GRANT database
// pattern (app\_%, as GrantPattern makes for `switcharoo grants`). The
// difference matters at the database level, where a GRANT reads _ and %
// as wildcards: the name _switcharoo is written `\_switcharoo`.*, or the
// grant would also reach xswitcharoo. Before a table or routine the
// database is taken as it is written.
type Object struct {
	DB, Table string
	Pattern   bool
}

// Global is *.*.
var Global = Object{}

// Database is the database named name.
func Database(name string) Object { return Object{DB: name} }

// DatabasePattern is the databases a GRANT database pattern (app\_%)
// matches.
func DatabasePattern(pattern string) Object { return Object{DB: pattern, Pattern: true} }

// String writes the object as GRANT names it: *.*, `db`.*, `db`.`t`, a
// database name's wildcards escaped (`\_switcharoo`.*).
func (o Object) String() string {
	switch {
	case o.DB == "":
		return "*.*"
	case o.Table == "":
		return quoteIdent(o.dbPattern()) + ".*"
	}
	return quoteIdent(o.DB) + "." + quoteIdent(o.Table)
}

// dbPattern is DB as a GRANT database pattern: a name with its _, % and
// \ escaped, a pattern as it is.
func (o Object) dbPattern() string {
	if o.Pattern {
		return o.DB
	}
	return EscapeDB(o.DB)
}

// EscapeDB writes a database name as the GRANT pattern that matches it
// alone: _, % and \ escaped with \.
func EscapeDB(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '_' || c == '%' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(name[i])
	}
	return b.String()
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// Grant is one privilege on one object, spelled as the flavor spells it.
type Grant struct {
	Priv string
	On   Object
}

// Side is one server as the derivation sees it.
type Side struct {
	// Name is how messages name it: "source" or "target" (the config's
	// sections).
	Name   string
	Addr   string // host:port
	User   string // the configured user
	Flavor Flavor
}

// Need is one privilege a user needs on a server.
type Need struct {
	Side Side
	User string
	// Any lists the grants any one of which is enough; Any[0] is the one
	// `switcharoo grants` prints.
	Any []Grant
	// For says which feature needs it, and for which statement.
	For string
	// Impossible, when set, says that no grant gives it on this flavor,
	// and what to configure instead.
	Impossible string
}

// Stream is one replicator: From's binlog applied to To.
type Stream struct {
	From, To Side
	// Schema is its checkpoint schema on To (and its heartbeat's on From).
	Schema string
	// FromDBs and ToDBs are the replicated databases as named on each
	// side: names (Database), or GRANT patterns (DatabasePattern, app\_%)
	// for `grants`.
	FromDBs, ToDBs []Object
	// Copy: it may copy the tables (a snapshot under FLUSH TABLES WITH
	// READ LOCK, tables created on To).
	Copy bool
	// Heartbeat: it writes a heartbeat row into Schema on From.
	Heartbeat bool
	// DDL: it applies schema changes (replication.ddl: apply).
	DDL bool
	// ThroughReadOnly: To is read_only while it writes.
	ThroughReadOnly bool
}

// Needs derives what the replicator needs on both sides.
func (s Stream) Needs() []Need {
	var out []Need
	add := func(side Side, why string, grants ...Grant) {
		out = append(out, Need{Side: side, User: side.User, Any: grants, For: why})
	}
	from, to := s.From, s.To
	add(from, "replication: read the binlog (binlog dump)", Grant{"REPLICATION SLAVE", Global})
	add(from, "replication: the binlog's position and files (SHOW MASTER STATUS, SHOW BINARY LOGS)", binlogMonitor(from.Flavor)...)
	add(from, "replication: whether replication.server_id is taken (SHOW SLAVE HOSTS)", replicaHosts(from.Flavor)...)
	for _, db := range s.FromDBs {
		add(from, "replication: read the replicated tables (copy, schema; verify)", Grant{"SELECT", db})
	}
	if s.Copy {
		add(from, "replication: the copy's consistent snapshot (FLUSH TABLES WITH READ LOCK)", Grant{"RELOAD", Global})
	}
	if s.Heartbeat {
		for _, p := range []string{"SELECT", "INSERT", "UPDATE", "CREATE"} {
			add(from, "replication: the heartbeat row (replication.heartbeat) and the probe table in "+s.Schema, Grant{p, Database(s.Schema)})
		}
	}
	for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX"} {
		add(to, "replication: its checkpoint, status and control rows in "+s.Schema, Grant{p, Database(s.Schema)})
	}
	rowPrivs := []string{"SELECT", "INSERT", "UPDATE", "DELETE"}
	for _, db := range s.ToDBs {
		for _, p := range rowPrivs {
			add(to, "replication: apply row changes", Grant{p, db})
		}
		if s.Copy {
			add(to, "replication: the copy creates the databases and tables", Grant{"CREATE", db})
		}
		if s.DDL {
			for _, p := range []string{"CREATE", "DROP", "ALTER", "INDEX"} {
				add(to, "replication: replay schema changes (replication.ddl: apply)", Grant{p, db})
			}
		}
	}
	if s.DDL && to.Flavor.mysql8() && !from.Flavor.mysql8() {
		add(to, "replication: replay a schema change (replication.ddl: apply) under the source session's explicit_defaults_for_timestamp, which MySQL 8.0 lets only these set",
			Grant{"SESSION_VARIABLES_ADMIN", Global}, Grant{"SYSTEM_VARIABLES_ADMIN", Global}, Grant{"SUPER", Global})
	}
	if s.ThroughReadOnly {
		n := Need{Side: to, User: to.User, For: "replication: write while the " + to.Name + " is read_only (closed to the application; if it is a reader endpoint, point " + to.Name + ".host at the writer instead)"}
		n.Any, n.Impossible = readOnlyBypass(to.Flavor)
		out = append(out, n)
	}
	return out
}

// Night is the switchover night as configured.
type Night struct {
	Source, Target Side
	// Schema is replication.checkpoint_schema; ReverseSchema its reverse
	// replication's, "" without reverse replication.
	Schema, ReverseSchema string
	// SourceDBs and TargetDBs are the replicated databases as named on
	// each side (names, or GRANT patterns for `grants`).
	SourceDBs, TargetDBs []Object
	// AppUsers: the target is fenced by locking cutover.app_users;
	// otherwise by read_only.
	AppUsers  bool
	Heartbeat bool
	DDL       bool
	// Probe is checks.sql_probe.user, "" without the probe.
	Probe string
}

// Needs derives what the night needs: the runbook's own statements, the
// forward replicator it drives (and seeds again on an undo), reverse
// replication, the write probe.
func (n Night) Needs() []Need {
	src, dst := n.Source, n.Target
	var out []Need
	add := func(side Side, why, impossible string, grants ...Grant) {
		out = append(out, Need{Side: side, User: side.User, Any: grants, For: why, Impossible: impossible})
	}
	ro, impossible := readOnlyAdmin(src.Flavor)
	add(src, "fence-source and its undo: SET GLOBAL read_only = ON / OFF", impossible, ro...)
	add(src, "preflight and fence-source: other sessions' statements and open transactions (information_schema.PROCESSLIST, INNODB_TRX)", "", Grant{"PROCESS", Global})
	add(src, "fence-source: kill the remaining client connections", "", killAny(src.Flavor)...)
	add(src, "fence-source: FLUSH TABLES WITH READ LOCK", "", Grant{"RELOAD", Global})
	add(src, "fence-source: the fenced binlog position (SHOW MASTER STATUS)", "", binlogMonitor(src.Flavor)...)
	sv, impossible := systemVariables(src.Flavor)
	add(src, "fence-source and its undo: SET GLOBAL event_scheduler = OFF / ON (an event with a SUPER definer writes through read_only)", impossible, sv...)
	add(src, "preflight: the accounts that pass read_only (information_schema.USER_PRIVILEGES shows other accounts only to a user who may read mysql.user)", "",
		Grant{"SELECT", Object{DB: "mysql", Table: "user"}}, Grant{"SELECT", Database("mysql")})
	if n.AppUsers {
		why := "unfence-target and its undo: ALTER USER … ACCOUNT UNLOCK / LOCK for cutover.app_users"
		switch {
		case dst.Flavor.MariaDB && !dst.Flavor.AtLeast(10, 4, 2):
			add(dst, why, "MariaDB before 10.4.2 cannot lock accounts; leave cutover.app_users empty to fence the target by read_only", Grant{"CREATE USER", Global})
		case !dst.Flavor.MariaDB && !dst.Flavor.AtLeast(5, 7, 6):
			add(dst, why, "MySQL before 5.7.6 cannot lock accounts; leave cutover.app_users empty to fence the target by read_only", Grant{"CREATE USER", Global})
		default:
			add(dst, why, "", Grant{"CREATE USER", Global})
		}
		add(dst, "preflight and the one-writable check: whether cutover.app_users exist and are locked (mysql.user, SHOW CREATE USER)", "", Grant{"SELECT", Database("mysql")})
	} else {
		ro, impossible := readOnlyAdmin(dst.Flavor)
		if impossible != "" {
			impossible += "; set cutover.app_users, so that the night fences the target by locking the application's accounts"
		}
		add(dst, "unfence-target and its undo: SET GLOBAL read_only = OFF / ON", impossible, ro...)
	}
	add(dst, "the target's fence: list the application's connections (information_schema.PROCESSLIST)", "", Grant{"PROCESS", Global})
	add(dst, "the target's fence: kill the application's connections", "", killAny(dst.Flavor)...)
	forward := Stream{From: src, To: dst, Schema: n.Schema, FromDBs: n.SourceDBs, ToDBs: n.TargetDBs,
		Copy: true, Heartbeat: n.Heartbeat, DDL: n.DDL, ThroughReadOnly: !n.AppUsers}
	out = append(out, forward.Needs()...)
	// Reverse replication or not, the undos read the target's binlog (when
	// it has one): where it was fenced again, and the writes replication
	// did not make since.
	add(dst, "the undo of unfence-target: where the target was fenced again (SHOW MASTER STATUS); the undo of fence-source: its binlog files (SHOW BINARY LOGS)", "", binlogMonitor(dst.Flavor)...)
	add(dst, "the undo of fence-source: the target's binlog read for writes replication did not make (SHOW BINLOG EVENTS)", "", binlogEvents(dst.Flavor)...)
	if n.ReverseSchema != "" {
		// The source stays read_only while reverse replication writes
		// into it; it never copies.
		reverse := Stream{From: dst, To: src, Schema: n.ReverseSchema, FromDBs: n.TargetDBs, ToDBs: n.SourceDBs,
			Heartbeat: n.Heartbeat, DDL: n.DDL, ThroughReadOnly: true}
		for _, need := range reverse.Needs() {
			need.For = "reverse replication: " + strings.TrimPrefix(need.For, "replication: ")
			out = append(out, need)
		}
	}
	if n.Probe != "" {
		for _, side := range []Side{src, dst} {
			side.User = n.Probe
			add(side, "checks.sql_probe: the write probe's row", "", Grant{"INSERT", Object{DB: n.Schema, Table: "probe"}})
		}
	}
	return out
}

// The privileges below differ by flavor. Each lists the grants any one of
// which is enough, the one to grant first.

// binlogMonitor: SHOW MASTER STATUS, SHOW BINARY LOGS.
func binlogMonitor(f Flavor) []Grant {
	switch {
	case f.superSplitOff():
		return []Grant{{"BINLOG MONITOR", Global}}
	case f.mariaSplit():
		return []Grant{{"BINLOG MONITOR", Global}, {"SUPER", Global}}
	}
	return []Grant{{"REPLICATION CLIENT", Global}, {"SUPER", Global}}
}

// binlogEvents: SHOW BINLOG EVENTS.
func binlogEvents(f Flavor) []Grant {
	if f.mariaSplit() {
		return []Grant{{"BINLOG MONITOR", Global}}
	}
	return []Grant{{"REPLICATION SLAVE", Global}}
}

// systemVariables: SET GLOBAL of a variable without a privilege of its
// own (event_scheduler). RDS and Aurora keep them in parameter groups.
func systemVariables(f Flavor) ([]Grant, string) {
	switch {
	case f.Aurora > 0:
		return []Grant{{"SUPER", Global}}, "Aurora MySQL lets no user set event_scheduler (its parameter group owns it)"
	case f.mysql8():
		return []Grant{{"SYSTEM_VARIABLES_ADMIN", Global}, {"SUPER", Global}}, ""
	}
	return []Grant{{"SUPER", Global}}, ""
}

// replicaHosts: SHOW SLAVE HOSTS. MariaDB 10.5.2+ asks REPLICATION MASTER
// ADMIN, which SUPER does not imply (10.11 refuses a SUPER user).
func replicaHosts(f Flavor) []Grant {
	if f.mariaSplit() {
		return []Grant{{"REPLICATION MASTER ADMIN", Global}}
	}
	return []Grant{{"REPLICATION SLAVE", Global}}
}

// killAny: KILL another user's connection, or mysql.rds_kill.
func killAny(f Flavor) []Grant {
	var g []Grant
	switch {
	case f.mysql8():
		g = []Grant{{"CONNECTION_ADMIN", Global}, {"SUPER", Global}}
	case f.superSplitOff():
		g = []Grant{{"CONNECTION ADMIN", Global}}
	case f.mariaSplit():
		g = []Grant{{"CONNECTION ADMIN", Global}, {"SUPER", Global}}
	case f.Aurora > 0:
		// Aurora MySQL 2 gives nobody SUPER.
	default:
		g = []Grant{{"SUPER", Global}}
	}
	if f.RDSKill {
		g = append(g, Grant{"EXECUTE", Object{DB: "mysql", Table: "rds_kill"}})
	}
	return g
}

// readOnlyAdmin: SET GLOBAL read_only. Aurora lets nobody: its cluster
// parameter group owns the setting.
func readOnlyAdmin(f Flavor) ([]Grant, string) {
	switch {
	case f.Aurora > 0:
		return []Grant{{"SUPER", Global}}, "Aurora MySQL lets no user set read_only (its parameter group owns it)"
	case f.mysql8():
		return []Grant{{"SYSTEM_VARIABLES_ADMIN", Global}, {"SUPER", Global}}, ""
	}
	return readOnlyBypass(f)
}

// readOnlyBypass: write while read_only is on. MariaDB 10.11 no longer
// lets SUPER do it (MDEV-29596).
func readOnlyBypass(f Flavor) ([]Grant, string) {
	switch {
	case f.mysql8():
		return []Grant{{"CONNECTION_ADMIN", Global}, {"SUPER", Global}}, ""
	case f.MariaDB && f.AtLeast(10, 11, 0):
		return []Grant{{"READ_ONLY ADMIN", Global}}, ""
	case f.mariaSplit():
		return []Grant{{"READ_ONLY ADMIN", Global}, {"SUPER", Global}}, ""
	case f.Aurora > 0:
		return []Grant{{"SUPER", Global}}, "Aurora MySQL 2 gives no user SUPER, so nobody writes while it is read_only; point the connection at the writer"
	}
	return []Grant{{"SUPER", Global}}, ""
}
