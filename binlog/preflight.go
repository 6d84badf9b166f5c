package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"github.com/switcharoo/switcharoo/internal/privileges"
)

// preflight checks both servers before anything is changed and decides
// whether a copy is needed. Every problem is collected and reported at
// once as a *PreflightError (exit code 2).
func (r *Replicator) preflight(ctx context.Context, opts RunOptions) (*copyPlan, error) {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	srcOK := r.identify(ctx, "source", r.cfg.Source, &r.source, add)
	dstOK := r.identify(ctx, "target", r.cfg.Target, &r.target, add)
	if dstOK && strings.HasSuffix(r.cfg.Replication.CheckpointSchema, ReverseSuffix) {
		// Reverse replication never copies: it streams from where the
		// runbook seeded it, or refuses alone, before the other checks
		// (which would speak of the wrong direction's tables).
		if _, err := ReadCheckpoint(ctx, r.target.db, r.cfg.Replication.CheckpointSchema); errors.Is(err, ErrNoCheckpoint) {
			return nil, &PreflightError{Problems: []string{"reverse replication has no starting point: the runbook seeds it at the switch " +
				"(step stop-replication, with cutover.reverse_replication: true); before a night there is nothing to replicate back"}}
		}
	}
	plan := &copyPlan{}
	if srcOK {
		r.checkSourceBinlog(ctx, add)
		var err error
		plan.tables, plan.estimates, err = catalog.ListTables(ctx, r.source.db, r.filter)
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		if plan.schema, err = catalog.LoadTables(ctx, r.source.db, plan.tables); err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		r.checkTables(ctx, plan, add)
	}
	if dstOK {
		r.checkTarget(ctx, plan, add)
	}
	if srcOK && dstOK {
		r.checkCheckpoint(ctx, plan, opts, add)
		r.checkPrivileges(ctx, plan, add)
		if triggers, err := r.targetTriggers(ctx, plan.tables); err != nil {
			add("target: cannot list its triggers: %v", err)
		} else if len(triggers) > 0 {
			add("%s", triggersProblem(triggers))
		}
	}
	if srcOK {
		r.checkOpposite(ctx, add)
	}
	if len(problems) > 0 {
		return nil, &PreflightError{Problems: problems}
	}
	return plan, nil
}

// checkOpposite refuses while replication in the other direction (whose
// status lives on this replicator's source) streams: the two would send
// each other's writes back. A status it may not read is no refusal.
func (r *Replicator) checkOpposite(ctx context.Context, add func(string, ...any)) {
	schema, reverse := strings.CutSuffix(r.cfg.Replication.CheckpointSchema, ReverseSuffix)
	if !reverse {
		schema += ReverseSuffix
	}
	if st, err := ReadStatus(ctx, r.source.db, schema); err == nil && st.State == StateStreaming {
		add("replication in the other direction (checkpoint schema %s on the source) is streaming, from %s (pid %d): running both would send each other's writes back; stop it first",
			schema, st.Host, st.PID)
	}
}

// identify connects to one side and reads its flavor and version.
func (r *Replicator) identify(ctx context.Context, side string, e config.Endpoint, s *server, add func(string, ...any)) bool {
	kind, err := privileges.Detect(ctx, s.db)
	if err != nil {
		add("%s", connectProblem(side, e, err))
		return false
	}
	s.kind = kind
	var lowerCase int
	if err := s.db.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&lowerCase); err != nil {
		add("%s: read lower_case_table_names: %v", side, err)
		return false
	}
	s.foldsNames = lowerCase != 0
	s.flavor = "mysql"
	if kind.MariaDB {
		s.flavor = "mariadb"
	}
	r.log.Info().Str("server", side).Str("address", mysqlconn.Addr(e)).Stringer("flavor", kind).Msg("connected")
	return true
}

func connectProblem(side string, e config.Endpoint, err error) string {
	secret := side + ".password_env"
	if e.PasswordFile != "" {
		secret = side + ".password_file"
	}
	switch mysqlErrno(err) {
	case 1045:
		return fmt.Sprintf("%s: access denied for user %q at %s; check %s.user and the password that %s names", side, e.User, mysqlconn.Addr(e), side, secret)
	case 1044, 1142, 1227:
		return fmt.Sprintf("%s: user %q may not read server variables at %s: %v", side, e.User, mysqlconn.Addr(e), err)
	}
	msg := fmt.Sprintf("%s: cannot connect to %s: %v; check %s.host, %s.port and that the server is reachable from here", side, mysqlconn.Addr(e), err, side, side)
	if strings.Contains(strings.ToLower(err.Error()), "tls") || strings.Contains(err.Error(), "x509") {
		msg += fmt.Sprintf(" (TLS: check %s.tls.mode and %s.tls.ca)", side, side)
	}
	return msg
}

// variables reads global variables; a missing one reads as "".
func variables(ctx context.Context, db *sql.DB, names ...string) (map[string]string, error) {
	out := map[string]string{}
	in := "'" + strings.Join(names, "','") + "'"
	err := catalog.ScanRows(ctx, db, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ("+in+")", nil, func(rows *sql.Rows) error {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		out[strings.ToLower(k)] = v
		return nil
	})
	return out, err
}

func (r *Replicator) checkSourceBinlog(ctx context.Context, add func(string, ...any)) {
	v, err := variables(ctx, r.source.db, "log_bin", "binlog_format", "binlog_row_image", "binlog_checksum",
		"server_id", "binlog_row_value_options", "gtid_mode")
	if err != nil {
		add("source: cannot read server variables: %v", err)
		return
	}
	if !strings.EqualFold(v["log_bin"], "ON") && v["log_bin"] != "1" {
		add("source: binary logging is off (log_bin=%s); enable it in the server's option file ([mysqld] log_bin=mysql-bin and a server_id) and restart the server", v["log_bin"])
		return
	}
	if f := v["binlog_format"]; !strings.EqualFold(f, "ROW") {
		add("source: binlog_format is %s; replicate needs ROW: SET GLOBAL binlog_format = ROW and put it in the option file; sessions already open keep their old format until they reconnect", f)
	}
	if img, ok := v["binlog_row_image"]; ok && !strings.EqualFold(img, "FULL") {
		add("source: binlog_row_image is %s; replicate needs FULL: SET GLOBAL binlog_row_image = FULL and put it in the option file", img)
	}
	if cs := strings.ToUpper(v["binlog_checksum"]); cs != "" && cs != "NONE" && cs != "CRC32" {
		add("source: binlog_checksum is %s; replicate reads NONE or CRC32", cs)
	}
	if opt := v["binlog_row_value_options"]; opt != "" {
		add("source: binlog_row_value_options is %s; replicate needs full JSON images: SET GLOBAL binlog_row_value_options = ''", opt)
	}
	id := fmt.Sprint(r.cfg.Replication.ServerID)
	if v["server_id"] == id {
		add("replication.server_id %s is the source's own server_id; choose another", id)
	}
	if host := r.replicaUsing(ctx, id); host != "" {
		add("replication.server_id %s is used by a replica connected to the source (host %q); choose another, or stop the other replicate", id, host)
	}
	e := r.log.Info().Str("binlog_format", v["binlog_format"]).Str("binlog_checksum", v["binlog_checksum"])
	if mode := v["gtid_mode"]; mode != "" { // MySQL; MariaDB always has GTIDs
		e = e.Str("gtid_mode", mode)
	}
	e.Msg("source binlog")
}

// replicaUsing returns the host of a replica registered on the source with
// server_id id, or "". A replicator that died (SIGKILL, a crash, a reboot)
// stays registered until the source next writes to its connection: at the
// latest one heartbeat period later, when the source sends a heartbeat. A
// registration that lasts longer than that belongs to a live replica.
func (r *Replicator) replicaUsing(ctx context.Context, id string) string {
	deadline := time.Now().Add(heartbeatPeriod(r.cfg.Replication.StallTimeout) + 2*time.Second)
	for {
		host := ""
		_ = catalog.ScanRows(ctx, r.source.db, "SHOW SLAVE HOSTS", nil, func(rows *sql.Rows) error {
			cols, _ := rows.Columns()
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			if vals[0].String == id {
				host = vals[1].String
			}
			return nil
		})
		if host == "" || time.Now().After(deadline) {
			return host
		}
		select {
		case <-ctx.Done():
			return host
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// checkPrivileges checks that the source's and the target's users hold
// every privilege this replicator needs (internal/privileges): to read
// the binlog, to copy if it must, to write the heartbeat, to apply rows
// and schema changes, through read_only where the target is closed.
func (r *Replicator) checkPrivileges(ctx context.Context, plan *copyPlan, add func(string, ...any)) {
	fromDBs, toDBs := privileges.Databases(plan.tables, r.filter)
	side := func(name string, e config.Endpoint, s *server) privileges.Side {
		return privileges.Side{Name: name, Addr: mysqlconn.Addr(e), User: e.User, Flavor: s.kind}
	}
	stream := privileges.Stream{
		From: side("source", r.cfg.Source, &r.source), To: side("target", r.cfg.Target, &r.target),
		Schema: r.cfg.Replication.CheckpointSchema, FromDBs: fromDBs, ToDBs: toDBs,
		Copy: plan.copyNeeded, Heartbeat: r.cfg.Replication.Heartbeat > 0, DDL: r.cfg.Replication.DDL == config.DDLApply,
		ThroughReadOnly: plan.targetReadOnly,
	}
	privileges.Audit(ctx, stream.Needs(), add, r.log,
		privileges.Session{Key: privileges.Key{Side: "source", User: r.cfg.Source.User}, DB: r.source.db, Flavor: r.source.kind},
		privileges.Session{Key: privileges.Key{Side: "target", User: r.cfg.Target.User}, DB: r.target.db, Flavor: r.target.kind})
}

// checkTables refuses tables that cannot be replicated safely, and tells
// when nothing matches.
func (r *Replicator) checkTables(ctx context.Context, plan *copyPlan, add func(string, ...any)) {
	if len(plan.tables) == 0 {
		var dbs []string
		_ = catalog.ScanRows(ctx, r.source.db, "SHOW DATABASES", nil, func(rows *sql.Rows) error {
			var d string
			if err := rows.Scan(&d); err != nil {
				return err
			}
			dbs = append(dbs, d)
			return nil
		})
		add("replication.databases %v (with replication.tables and exclude_tables) matches no table on the source; its databases are: %s",
			r.cfg.Replication.Databases, strings.Join(dbs, ", "))
		return
	}
	var noKey, noKeyJSON, unreadable []string
	for _, name := range plan.tables {
		t := plan.schema[name]
		if len(t.Key) == 0 && !r.filter.AllowsNoKey(name) {
			noKey = append(noKey, name.String())
		}
		if len(t.Key) == 0 && slices.ContainsFunc(t.Columns, func(c catalog.Column) bool { return c.Kind() == catalog.KindJSON }) {
			noKeyJSON = append(noKeyJSON, name.String())
		}
		if _, err := r.source.db.ExecContext(ctx, "SELECT 1 FROM "+catalog.QuoteName(name)+" LIMIT 0"); err != nil {
			unreadable = append(unreadable, name.String())
		}
	}
	if len(noKey) > 0 {
		add("tables without a primary key or a NOT NULL unique key: %s; add a key, or list them in replication.allow_no_key (their rows are then matched on every column, which is slow and ambiguous for duplicate rows)",
			strings.Join(noKey, ", "))
	}
	if crossing, err := r.cascadesAcrossFilter(ctx, plan.schema); err != nil {
		add("source: read foreign keys: %v", err)
	} else if len(crossing) > 0 {
		add("foreign keys whose ON DELETE/UPDATE actions change replicated tables from tables that are not replicated: %s; a cascade is not in the binlog, so the target would keep what the source deleted: replicate the parent tables too, or leave the children out",
			strings.Join(crossing, ", "))
	}
	if len(noKeyJSON) > 0 {
		add("tables without a key that have a JSON column: %s; their rows are matched on every column, and MySQL compares JSON by value, not by the bytes the binlog holds, so a row could not be found exactly; add a primary key",
			strings.Join(noKeyJSON, ", "))
	}
	if len(unreadable) > 0 {
		add("source: user %q may not SELECT from %s; GRANT SELECT on them", r.cfg.Source.User, strings.Join(unreadable, ", "))
	}
}

// checkTarget refuses a target that cannot be written, and notes whether
// it is read_only (closed to the application until the switch), which
// the replication user must then write through.
func (r *Replicator) checkTarget(ctx context.Context, plan *copyPlan, add func(string, ...any)) {
	v, err := variables(ctx, r.target.db, "read_only", "innodb_read_only")
	if err != nil {
		add("target: cannot read server variables: %v", err)
		return
	}
	if v["innodb_read_only"] == "ON" {
		add("target: InnoDB is read-only (innodb_read_only); point target.host at a writable server")
	}
	plan.targetReadOnly = v["read_only"] == "ON"
}

// checkCheckpoint decides between a fresh copy, a resumed copy and
// streaming on, and checks that the target and the source's binlogs allow it.
func (r *Replicator) checkCheckpoint(ctx context.Context, plan *copyPlan, opts RunOptions, add func(string, ...any)) {
	id, err := r.readSourceID(ctx)
	if err != nil {
		add("source: %v", err)
		return
	}
	r.sourceIdentity = id
	cp, err := ReadCheckpoint(ctx, r.target.db, r.cfg.Replication.CheckpointSchema)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		plan.copyNeeded = true
		r.checkTargetEmpty(ctx, plan, add)
		r.checkTargetDatabases(ctx, plan, add)
		if !opts.DDLApplied.IsZero() {
			add("--ddl-applied: there is no checkpoint on the target to continue from")
		}
		return
	case err != nil:
		add("target: %v", err)
		return
	}
	if cp.Source != id {
		add("target: its checkpoint (in %s) belongs to another source (%s), not %s; point target at the right database, or use another replication.checkpoint_schema for a new copy",
			r.cfg.Replication.CheckpointSchema, cp.Source, id)
		return
	}
	if cp.Phase == phaseSwitched {
		add("the switchover to the target happened at %s (checkpoint %s): the runbook stopped this replication; replicating from this source again would replay onto the new primary what reverse replication writes here. Use `switcharoo rollback` to go back", cp.UpdatedAt.Format(time.RFC3339), cp.Position)
		return
	}
	plan.copyNeeded = cp.Phase == phaseCopying
	plan.resume = plan.copyNeeded
	if !opts.DDLApplied.IsZero() && cp.Position != opts.DDLApplied {
		add("--ddl-applied %s: the checkpoint is at %s; give the position the stop reported", opts.DDLApplied, cp.Position)
	}
	if plan.resume && !catalog.Equal(cp.Schema, plan.schema) {
		add("the source's schema changed while the copy was interrupted; the copy cannot resume: drop the copied tables and the %s schema on the target, and start again",
			r.cfg.Replication.CheckpointSchema)
	}
	var files []string
	_ = catalog.ScanRows(ctx, r.source.db, "SHOW BINARY LOGS", nil, func(rows *sql.Rows) error {
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(cols); i++ {
			vals[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(vals...); err != nil {
			return err
		}
		files = append(files, name)
		return nil
	})
	if len(files) > 0 && !slices.Contains(files, cp.Position.File) {
		add("source: binlog %s, where replication resumes, was purged (the oldest is %s); the target cannot be brought up to date: drop the copied tables and the %s schema on the target and copy again, and keep binlogs longer (expire_logs_days / binlog_expire_logs_seconds)",
			cp.Position.File, files[0], r.cfg.Replication.CheckpointSchema)
	}
	r.log.Info().Str("phase", cp.Phase).Stringer("checkpoint", cp.Position).Msg("resuming")
}

// checkTargetEmpty refuses to copy into tables that hold rows, or that
// exist without a column of the source's.
func (r *Replicator) checkTargetEmpty(ctx context.Context, plan *copyPlan, add func(string, ...any)) {
	var full []string
	existing := map[catalog.TableName]catalog.TableName{} // target name → source name
	for _, t := range plan.tables {
		dst := r.filter.Target(t)
		var one int
		err := r.target.db.QueryRowContext(ctx, "SELECT 1 FROM "+catalog.QuoteName(dst)+" LIMIT 1").Scan(&one)
		switch {
		case err == nil:
			full = append(full, dst.String())
		case errors.Is(err, sql.ErrNoRows):
			existing[dst] = t
		case isNoSuchTable(err):
		default:
			add("target: cannot read %s: %v", dst, err)
		}
	}
	if len(full) > 0 {
		add("target tables already hold rows: %s; replicate copies into absent or empty tables only: empty or drop them, or point target at an empty server", strings.Join(full, ", "))
	}
	if len(existing) == 0 {
		return
	}
	names := slices.SortedFunc(maps.Keys(existing), func(a, b catalog.TableName) int { return strings.Compare(a.String(), b.String()) })
	have, err := catalog.LoadTables(ctx, r.target.db, names)
	if err != nil {
		add("target: cannot read the definitions of %v: %v", names, err)
		return
	}
	for _, dst := range names {
		src, tgt := plan.schema[existing[dst]], have[dst]
		if src == nil || tgt == nil {
			continue
		}
		for _, c := range src.Columns {
			if c.Generated {
				continue
			}
			i := slices.IndexFunc(tgt.Columns, func(h catalog.Column) bool { return strings.EqualFold(h.Name, c.Name) })
			switch {
			case i < 0:
				add("target table %s exists without the source's column %s; create the table as on the source (SHOW CREATE TABLE), or drop it and let replicate create it", dst, c.Name)
			case tgt.Columns[i].DataType != c.DataType:
				add("target table %s has column %s as %s where the source has %s; make it %s, or drop the table and let replicate create it",
					dst, c.Name, tgt.Columns[i].Type, c.Type, c.Type)
			}
		}
	}
}

// checkTargetDatabases refuses a replicated database that exists on the
// target with another default character set or collation than the
// source's: a table a schema change creates without its own takes its
// database's default, so the target's would differ from the source's
// (the copy creates missing databases as the source has them).
func (r *Replicator) checkTargetDatabases(ctx context.Context, plan *copyPlan, add func(string, ...any)) {
	var dbs []string
	for _, t := range plan.tables {
		if !slices.Contains(dbs, t.DB) {
			dbs = append(dbs, t.DB)
		}
	}
	for _, db := range dbs {
		src, err := databaseDefaults(ctx, r.source.db, db)
		if err != nil {
			add("source: read the defaults of database %s: %v", db, err)
			continue
		}
		dst, err := databaseDefaults(ctx, r.target.db, r.filter.TargetDB(db))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			add("target: read the defaults of database %s: %v", r.filter.TargetDB(db), err)
		case dst != src:
			add("target database %s exists with default %s where the source's %s has %s: a table a schema change creates would take the target's; "+
				"ALTER DATABASE %s CHARACTER SET %s COLLATE %s on the target, or drop it and let replicate create it",
				r.filter.TargetDB(db), dst, db, src, catalog.QuoteIdent(r.filter.TargetDB(db)), src.charset, src.collation)
		}
	}
}

// defaults are a database's default character set and collation, with
// utf8 spelt utf8mb3 (MySQL 5.6 and MariaDB before 10.6 print utf8).
type defaults struct{ charset, collation string }

func (d defaults) String() string { return d.charset + " (" + d.collation + ")" }

func databaseDefaults(ctx context.Context, db *sql.DB, name string) (defaults, error) {
	var d defaults
	err := db.QueryRowContext(ctx, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&d.charset, &d.collation)
	if d.charset == "utf8" {
		d.charset = "utf8mb3"
	}
	if rest, ok := strings.CutPrefix(d.collation, "utf8_"); ok {
		d.collation = "utf8mb3_" + rest
	}
	return d, err
}

// readSourceID names the source as the server itself sees it, so that a
// checkpoint is never continued against another server.
func (r *Replicator) readSourceID(ctx context.Context) (string, error) {
	var host string
	var port, id int64
	if err := r.source.db.QueryRowContext(ctx, "SELECT @@hostname, @@port, @@server_id").Scan(&host, &port, &id); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d server_id=%d", host, port, id), nil
}

// cascadesAcrossFilter lists the foreign keys from a replicated table to
// one that is not, whose parent's changes act on the child (CASCADE, SET
// NULL, SET DEFAULT).
func (r *Replicator) cascadesAcrossFilter(ctx context.Context, schema catalog.Schema) ([]string, error) {
	var out []string
	err := catalog.ScanRows(ctx, r.source.db, `SELECT DISTINCT k.TABLE_SCHEMA, k.TABLE_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, c.DELETE_RULE, c.UPDATE_RULE
		FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS c
		ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND c.TABLE_NAME = k.TABLE_NAME
		WHERE k.REFERENCED_TABLE_NAME IS NOT NULL`, nil, func(rows *sql.Rows) error {
		var child, parent catalog.TableName
		var onDelete, onUpdate string
		if err := rows.Scan(&child.DB, &child.Table, &parent.DB, &parent.Table, &onDelete, &onUpdate); err != nil {
			return err
		}
		acts := func(rule string) bool { return rule == "CASCADE" || rule == "SET NULL" || rule == "SET DEFAULT" }
		if schema[child] != nil && schema[parent] == nil && (acts(onDelete) || acts(onUpdate)) {
			out = append(out, fmt.Sprintf("%s → %s (ON DELETE %s ON UPDATE %s)", child, parent, onDelete, onUpdate))
		}
		return nil
	})
	return out, err
}

// targetTriggers lists the triggers on the target copies of tables, as
// "db.trigger ON db.table". Replicated rows must not fire them: the
// source's own triggers' changes are already in its row binlog, so the
// target would get them twice.
func (r *Replicator) targetTriggers(ctx context.Context, tables []catalog.TableName) ([]string, error) {
	replicated := map[catalog.TableName]bool{}
	var dbs []any
	for _, t := range tables {
		dst := r.filter.Target(t)
		replicated[dst] = true
		if !slices.Contains(dbs, any(dst.DB)) {
			dbs = append(dbs, dst.DB)
		}
	}
	if len(dbs) == 0 {
		return nil, nil
	}
	var found []string
	err := catalog.ScanRows(ctx, r.target.db, `SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE
		FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA IN (`+strings.TrimSuffix(strings.Repeat("?,", len(dbs)), ",")+`)
		ORDER BY 1, 2`, dbs, func(rows *sql.Rows) error {
		var db, name string
		var on catalog.TableName
		if err := rows.Scan(&db, &name, &on.DB, &on.Table); err != nil {
			return err
		}
		if replicated[on] {
			found = append(found, catalog.TableName{DB: db, Table: name}.String()+" ON "+on.String())
		}
		return nil
	})
	return found, err
}

func triggersProblem(triggers []string) string {
	return fmt.Sprintf("target: triggers on replicated tables would fire for replicated rows, whose trigger changes the source's binlog already holds: %s; "+
		"drop them on the target and create them at the switch (docs/replication.md, \"Triggers\")", strings.Join(triggers, ", "))
}
