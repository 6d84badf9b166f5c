package binlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/faultpoint"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/switcharoo/switcharoo/internal/config"
)

// ddlPlan is what one recognised schema change means for the target.
type ddlPlan struct {
	statement string              // to run on the target
	useDB     string              // target database to USE first, or ""
	drop      []catalog.TableName // source tables that no longer exist after it
	reload    []catalog.TableName // source tables whose schema must be re-read after it
	dropDB    string              // source database dropped
	// swaps: run twice, the statement may undo itself and leave every
	// table's definition as it found it (RENAME TABLE a TO t, b TO a, t
	// TO b; ALTER TABLE CHANGE a b INT, CHANGE b a INT).
	swaps bool
}

// swaps reports whether a statement renames a name to one another of its
// renames frees (RENAME TABLE a TO t, b TO a, t TO b; ALTER TABLE CHANGE a
// b INT, CHANGE b a INT): run twice, it could leave every definition as
// it found it. A plain rename, whose old name goes and new name comes,
// always shows in the definitions.
func (st ddlStatement) swaps() bool {
	var from, to []string
	switch st.kind {
	case ddlRenameTable:
		for i := 0; i+1 < len(st.tables); i += 2 {
			from, to = append(from, st.tables[i].String()), append(to, st.tables[i+1].String())
		}
	case ddlAlterTable:
		toks := lex(st.text)
		for i := 0; i < len(toks); i++ {
			j := i + 1
			switch {
			case toks[i].is("CHANGE"):
				if j < len(toks) && toks[j].is("COLUMN") {
					j++
				}
				if j+1 < len(toks) && toks[j].isIdent() && toks[j+1].isIdent() {
					from, to = append(from, strings.ToLower(toks[j].text)), append(to, strings.ToLower(toks[j+1].text))
				}
			case toks[i].is("RENAME"):
				if j < len(toks) && (toks[j].is("COLUMN") || toks[j].is("INDEX") || toks[j].is("KEY")) {
					j++
				}
				if j+2 < len(toks) && toks[j].isIdent() && toks[j+1].is("TO") && toks[j+2].isIdent() {
					from, to = append(from, strings.ToLower(toks[j].text)), append(to, strings.ToLower(toks[j+2].text))
				}
			}
		}
	}
	for i, f := range from {
		for k, t := range to {
			if i != k && f == t {
				return true
			}
		}
	}
	return false
}

// ddl handles a statement that is a transaction of its own: a recognised
// schema change is applied, stopped at or ignored per replication.ddl;
// anything else is not replicated.
func (r *Replicator) ddl(ctx context.Context, a *applier, defaultDB, query string, vars sessionVars, next Position) error {
	// MariaDB's SET STATEMENT lock_wait_timeout=... FOR <schema change>:
	// the change, without the timeouts; other settings leave it unread.
	inner, onlyTimeouts := withoutTimeouts(query, r.lexMode(vars))
	defaultDB = r.sourceName(defaultDB)
	st, ok := parseDDLIn(defaultDB, inner, r.lexMode(vars))
	if !ok || !onlyTimeouts {
		return r.unreadDDL(ctx, a, defaultDB, query, vars)
	}
	st.foldNames(r.sourceName)
	plan, err := r.planDDL(st, a.trxStart)
	if err != nil || plan == nil {
		return err
	}
	log := r.log.With().Str("statement", truncate(query, 500)).Stringer("position", a.trxStart).Logger()
	if r.ddlApplied == a.trxStart {
		// The operator applied it by hand (replicate --ddl-applied).
		if err := a.updateSchema(ctx, plan); err != nil {
			return err
		}
		log.Info().Msg("schema change applied by hand; schema map re-read from the target")
		return nil
	}
	switch r.cfg.Replication.DDL {
	case config.DDLIgnore:
		log.Warn().Msg("schema change ignored (replication.ddl: ignore); the target's schema now differs from the source's")
		return nil
	case config.DDLStop:
		return &StopError{Position: a.trxStart, Reason: "schema change under replication.ddl: stop: " + truncate(query, 500),
			Fix: fmt.Sprintf("apply it to the target yourself and run `switcharoo replicate --ddl-applied %s`, or set replication.ddl: apply and restart", a.trxStart)}
	}
	return a.applyDDL(ctx, plan, query, vars, log.Info())
}

// sourceName is a database or table name as the source keeps it: in
// lower case under lower_case_table_names 1 or 2, as the statement wrote
// it otherwise.
func (r *Replicator) sourceName(name string) string {
	if r.source.foldsNames {
		return strings.ToLower(name)
	}
	return name
}

// lexMode is how the source lexed a statement its session wrote.
func (r *Replicator) lexMode(vars sessionVars) lexMode {
	m := vars.lexMode()
	m.mariaDB = r.source.flavor == "mariadb"
	return m
}

// unreadDDL handles a statement parseDDL could not read. One that is no
// schema change, or one of tables outside replication only, is not
// replicated. Any other could change a replicated table in a way the
// replicator would not follow: under replication.ddl apply and stop it
// stops replication, before the statement, naming it; under ignore it is
// skipped like any schema change (the TABLE_MAP check still stops at a
// row whose columns changed). After the operator applied it by hand
// (--ddl-applied), the schema map is read again from the target.
//
// A db.t it names is a table; any other word could be a keyword, a
// column or a table of the default database, and is taken for a table
// only where the schema map knows one by that name: a table replication
// does not know yet (created by the statement) stops replication at its
// first row (mapTable) instead.
func (r *Replicator) unreadDDL(ctx context.Context, a *applier, defaultDB, query string, vars sessionVars) error {
	names, ok := unreadSchemaChange(defaultDB, query, r.lexMode(vars))
	names.foldNames(r.sourceName)
	var touched []catalog.TableName
	for _, n := range names.qualified {
		if r.filter.Includes(n) {
			touched = append(touched, n)
		}
	}
	for _, n := range names.bare {
		if known := a.knownTable(n); known != nil && !slices.Contains(touched, *known) {
			touched = append(touched, *known)
		}
	}
	if !ok || len(touched) == 0 && !slices.ContainsFunc(names.dbs, r.filter.IncludesDatabase) {
		r.log.Debug().Str("statement", truncate(query, 200)).Stringer("position", a.trxStart).Msg("statement not replicated")
		return nil
	}
	log := r.log.With().Str("statement", truncate(query, 500)).Stringer("position", a.trxStart).Logger()
	switch {
	case r.ddlApplied == a.trxStart:
		plan, err := a.rereadPlan(ctx, touched)
		if err != nil {
			return err
		}
		if err := a.updateSchema(ctx, plan); err != nil {
			return err
		}
		log.Info().Msg("schema change applied by hand; the schema of the replicated tables it may name re-read from the target")
		return nil
	case r.cfg.Replication.DDL == config.DDLIgnore:
		log.Warn().Msg("schema change replication cannot read ignored (replication.ddl: ignore); the target's schema may now differ from the source's")
		return nil
	}
	return &StopError{Position: a.trxStart, Reason: "a schema change that may concern replicated tables, in a form replication cannot read: " + truncate(query, 500),
		Fix: fmt.Sprintf("make the target's tables (named per replication.database_map) what the source's are after it, by hand, then run `switcharoo replicate --ddl-applied %s`; the schema of the replicated tables it may name is then read again from the target", a.trxStart)}
}

// knownTable is the table of the schema map n names, matched without
// regard to case (as a server with lower_case_table_names would), or nil.
func (a *applier) knownTable(n catalog.TableName) *catalog.TableName {
	for t := range a.cp.Schema {
		if strings.EqualFold(t.DB, n.DB) && strings.EqualFold(t.Table, n.Table) {
			return &t
		}
	}
	return nil
}

// rereadPlan is the plan of a schema change replication could not read,
// applied by hand: every replicated table the statement may name (which
// unreadSchemaChange errs on the side of) is read again from the target,
// and every table of the schema map or named is dropped from the map
// where the target has no such base table. The other tables keep their
// schema: read again from the target, one the target holds differently
// (in another character set) would have the source's values written as
// the target's.
func (a *applier) rereadPlan(ctx context.Context, named []catalog.TableName) (*ddlPlan, error) {
	plan := &ddlPlan{}
	var seen []catalog.TableName
	for _, t := range slices.Concat(slices.Collect(maps.Keys(a.cp.Schema)), named) {
		if slices.Contains(seen, t) {
			continue
		}
		seen = append(seen, t)
		dst := a.r.filter.Target(t)
		var n int
		if err := a.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'", dst.DB, dst.Table).Scan(&n); err != nil {
			return nil, fmt.Errorf("target: is there a table %s: %w", dst, err)
		}
		switch {
		case n == 0:
			plan.drop = append(plan.drop, t)
		case slices.Contains(named, t):
			plan.drop = append(plan.drop, t)
			plan.reload = append(plan.reload, t)
		}
	}
	return plan, nil
}

// planDDL decides which part of a statement concerns replicated tables.
// It returns nil when none does.
func (r *Replicator) planDDL(st ddlStatement, at Position) (*ddlPlan, error) {
	f := r.filter
	plan := &ddlPlan{statement: st.rewrite(f.TargetDB), swaps: st.swaps()}
	if st.kind.isDatabase() {
		if !f.IncludesDatabase(st.database) {
			return nil, nil
		}
		if st.kind == ddlDropDatabase {
			plan.dropDB = st.database
		}
		return plan, nil
	}
	crossing := func(from, to catalog.TableName) error {
		return &StopError{Position: at, Reason: fmt.Sprintf("%s renames %s to %s, across replication's table filter", truncate(st.text, 200), from, to),
			Fix: "rename within the replicated tables only, or change replication.databases/tables and restart the copy"}
	}
	switch st.kind {
	case ddlDropTable:
		var kept []string
		for _, t := range st.tables {
			if f.Includes(t) {
				plan.drop = append(plan.drop, t)
				kept = append(kept, catalog.QuoteName(f.Target(t)))
			}
		}
		if len(kept) == 0 {
			return nil, nil
		}
		if len(kept) < len(st.tables) {
			plan.statement = "DROP TABLE IF EXISTS " + strings.Join(kept, ",")
		}
	case ddlRenameTable:
		// The net effect of a chain (a TO tmp, b TO a, tmp TO b): which
		// table each name holds after it. It may not move a table across
		// the filter, whatever names it passes through on the way (a
		// temporary name outside replication.tables is renamed on the
		// target too); the replicated names that hold a table after it are
		// re-read, the others dropped.
		holds := map[catalog.TableName]*catalog.TableName{}
		var names []catalog.TableName
		var pairs, replicatedPairs []string
		crosses := false // a pair between a replicated name and another
		for i := 0; i+1 < len(st.tables); i += 2 {
			from, to := st.tables[i], st.tables[i+1]
			crosses = crosses || f.Includes(from) != f.Includes(to)
			for _, n := range []catalog.TableName{from, to} {
				if !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
			table, ok := holds[from]
			if !ok {
				table = &from
			}
			holds[from], holds[to] = nil, table
			pair := catalog.QuoteName(f.Target(from)) + " TO " + catalog.QuoteName(f.Target(to))
			pairs = append(pairs, pair)
			if f.Includes(from) || f.Includes(to) {
				replicatedPairs = append(replicatedPairs, pair)
			}
		}
		for _, n := range names {
			if t := holds[n]; t != nil && f.Includes(*t) != f.Includes(n) {
				return nil, crossing(*t, n)
			}
			switch {
			case !f.Includes(n):
			case holds[n] != nil:
				plan.reload = append(plan.reload, n)
			default:
				plan.drop = append(plan.drop, n)
			}
		}
		switch {
		case len(replicatedPairs) == 0:
			return nil, nil
		case crosses: // through other names: the whole chain
			plan.statement = "RENAME TABLE " + strings.Join(pairs, ",")
		case len(replicatedPairs) < len(pairs):
			plan.statement = "RENAME TABLE " + strings.Join(replicatedPairs, ",")
		}
	case ddlAlterTable:
		t := st.tables[0]
		if len(st.tables) > 1 { // ALTER TABLE ... RENAME TO
			to := st.tables[1]
			if f.Includes(t) != f.Includes(to) {
				return nil, crossing(t, to)
			}
			plan.drop = append(plan.drop, t)
			t = to
		}
		if !f.Includes(t) {
			return nil, nil
		}
		plan.reload = append(plan.reload, t)
	default: // CREATE TABLE, TRUNCATE, CREATE/DROP INDEX
		if !f.Includes(st.tables[0]) {
			return nil, nil
		}
		plan.reload = append(plan.reload, st.tables[0])
	}
	// Unqualified names mean the statement's default database, which is
	// the first table's when that one is unqualified.
	plan.useDB = f.TargetDB(st.tables[0].DB)
	return plan, nil
}

// applyDDL runs a planned schema change on the target and updates the
// schema map. DDL is not transactional, so the statement is recorded as
// pending first: after a crash between the statement and the checkpoint,
// replaying it finds it already done and goes on.
func (a *applier) applyDDL(ctx context.Context, plan *ddlPlan, query string, vars sessionVars, log interface{ Msg(string) }) error {
	r := a.r
	cs := catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema)
	pending := parsePending(a.cp.PendingDDL)
	replay := pending.Query == query && a.trxStart == a.cp.Position
	if replay {
		if err := a.endPredecessorDDL(ctx, plan.statement); err != nil {
			return err
		}
	}
	tables := plan.targetTables(r.filter)
	before, err := a.definitions(ctx, tables)
	if err != nil {
		return err
	}
	if replay && pending.Before == nil && plan.swaps {
		// An older version recorded the statement alone: nothing tells.
		return undecidedDDL(query, a.trxStart)
	}
	if replay && pending.Before != nil {
		// A restart after the statement was recorded: did it run?
		switch {
		case !maps.Equal(pending.Before, before):
			r.log.Warn().Str("statement", truncate(query, 200)).Msg("schema change was applied before a restart (the target's tables show it); not run again")
			return a.updateSchema(ctx, plan)
		case plan.swaps:
			return undecidedDDL(query, a.trxStart)
		}
		// The tables are as they were: it did not run (or it is one whose
		// repetition fails with "already exists", below).
	}
	record, err := json.Marshal(pendingDDL{Query: query, Before: before})
	if err != nil {
		return err
	}
	if _, err := a.conn.ExecContext(ctx, "UPDATE "+cs+".checkpoint SET pending_ddl = ? WHERE id = 1", string(record)); err != nil {
		return fmt.Errorf("target: record pending DDL: %w", err)
	}
	faultpoint.Hit(faultpoint.BeforeDDL)
	// The statement runs with the settings of the session that wrote it
	// on the source; the applier's own come back after it.
	set, reset, err := a.sourceSession(ctx, vars)
	if err != nil {
		return err
	}
	stmt := "SET SESSION foreign_key_checks = 0;" + set
	if plan.useDB != "" {
		stmt += "USE " + catalog.QuoteIdent(plan.useDB) + ";"
	}
	stmt += plan.statement
	_, err = a.conn.ExecContext(ctx, stmt)
	faultpoint.Hit(faultpoint.AfterDDLBeforeCheckpoint)
	// Back to the defaults of the applier's session whatever happened.
	_, resetErr := a.conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 1"+reset)
	a.checks.foreignKeys = true
	a.bufChecks = a.checks // buf is empty: the DDL ran after it settled
	switch {
	case err != nil && replay && alreadyApplied(err):
		r.log.Warn().Err(err).Str("statement", truncate(query, 200)).Msg("schema change was applied before a restart; continuing")
	case err != nil && transient(err):
		return fmt.Errorf("target: %w", err)
	case err != nil:
		return &StopError{Position: a.trxStart, Reason: fmt.Sprintf("the target rejected the schema change %q: %v", truncate(plan.statement, 300), err),
			Fix: fmt.Sprintf("make the target's schema match the source's by hand, then run `switcharoo replicate --ddl-applied %s`", a.trxStart)}
	case resetErr != nil:
		return fmt.Errorf("target: %w", resetErr)
	}
	if err := a.updateSchema(ctx, plan); err != nil {
		return err
	}
	log.Msg("schema change applied")
	return nil
}

// sourceSession returns the statements that give the applier's session
// the settings the source session had when it wrote a schema change (set,
// ending in ';', which also saves the applier's own), and what restores
// them (reset, to append to a SET). explicit_defaults_for_timestamp (OFF
// on MySQL 5.6, ON on Aurora 3: `ts TIMESTAMP` means NOT NULL DEFAULT
// '0000-00-00 00:00:00' under one, NULL under the other) comes from the
// event where MySQL 5.7+ writes it, else from the source's global
// setting; it is set only where the target's differs (MySQL 8.0 restricts
// setting it).
func (a *applier) sourceSession(ctx context.Context, vars sessionVars) (set, reset string, err error) {
	if vars.explicitDefaultsTS < 0 {
		var v sql.NullInt64
		if err := a.r.source.db.QueryRowContext(ctx, "SELECT @@global.explicit_defaults_for_timestamp").Scan(&v); err == nil && v.Valid {
			vars.explicitDefaultsTS = int8(v.Int64)
		}
	}
	if vars.explicitDefaultsTS >= 0 {
		var target sql.NullInt64
		if err := a.conn.QueryRowContext(ctx, "SELECT @@session.explicit_defaults_for_timestamp").Scan(&target); err != nil {
			return "", "", fmt.Errorf("target: %w", err)
		}
		if target.Valid && target.Int64 == int64(vars.explicitDefaultsTS) {
			vars.explicitDefaultsTS = -1
		}
	}
	if vars.hasCharset {
		if vars.charsetNames, err = a.collationNames(ctx, vars.charsetClient, vars.collationConn, vars.collationServer); err != nil {
			return "", "", err
		}
	}
	if vars.timeZone == "SYSTEM" {
		// The source host's zone, not the target's (Aurora's is UTC): its
		// offset when the statement ran (a daylight-saving change may lie
		// between then and now). The source session's zone is UTC, so
		// FROM_UNIXTIME gives the instant in UTC.
		when := int64(vars.when)
		if when == 0 {
			when = time.Now().Unix()
		}
		var offset string
		if err := a.r.source.db.QueryRowContext(ctx, "SELECT TIME_FORMAT(TIMEDIFF(CONVERT_TZ(FROM_UNIXTIME(?), '+00:00', 'SYSTEM'), FROM_UNIXTIME(?)), '%H:%i')", when, when).Scan(&offset); err != nil {
			return "", "", fmt.Errorf("source: its system time zone: %w", err)
		}
		if !strings.HasPrefix(offset, "-") {
			offset = "+" + offset
		}
		vars.timeZone = offset
	}
	source := vars.setStatement()
	if source == "" {
		return "", "", nil
	}
	save := "SET @switcharoo_mode = @@session.sql_mode, @switcharoo_tz = @@session.time_zone, @switcharoo_cs = @@session.character_set_client, " +
		"@switcharoo_cc = @@session.collation_connection, @switcharoo_cserver = @@session.collation_server"
	reset = ", sql_mode = @switcharoo_mode, time_zone = @switcharoo_tz, character_set_client = @switcharoo_cs, " +
		"collation_connection = @switcharoo_cc, collation_server = @switcharoo_cserver"
	if vars.explicitDefaultsTS >= 0 {
		save += ", @switcharoo_edt = @@session.explicit_defaults_for_timestamp"
		reset += ", explicit_defaults_for_timestamp = @switcharoo_edt"
	}
	if vars.autoIncrement[0] > 0 {
		save += ", @switcharoo_aii = @@session.auto_increment_increment, @switcharoo_aio = @@session.auto_increment_offset"
		reset += ", auto_increment_increment = @switcharoo_aii, auto_increment_offset = @switcharoo_aio"
	}
	if vars.when > 0 {
		reset += ", timestamp = DEFAULT"
	}
	return save + ";" + source + ";", reset, nil
}

// endPredecessorDDL ends a schema change that a previous session of the
// replicator may still be running on the target: the process was killed,
// but the server goes on with the statement (a long ALTER) until it tries
// to answer. Read now, the tables would look as if it never ran, and it
// would run twice. It is stopped (KILL QUERY: an ALTER stopped part way
// leaves the table as it was) and waited for; whether it completed first
// is then plain from the tables.
func (a *applier) endPredecessorDDL(ctx context.Context, statement string) error {
	deadline := time.Now().Add(a.r.statementTimeout())
	for {
		var ids []int64
		err := catalog.ScanRows(ctx, a.r.target.db, "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> ? AND COMMAND = 'Query' AND LOCATE(?, INFO) > 0",
			[]any{a.watch.connID.Load(), statement}, func(rows *sql.Rows) error {
				var id int64
				if err := rows.Scan(&id); err != nil {
					return err
				}
				ids = append(ids, id)
				return nil
			})
		if err != nil {
			return fmt.Errorf("target: look for a schema change still running: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return &StopError{Position: a.trxStart, Reason: fmt.Sprintf("a previous replicator's session (connection %d) still runs the schema change %q on the target, and did not stop when killed", ids[0], truncate(statement, 200)),
				Fix: "wait for it to end (SHOW PROCESSLIST on the target), then restart replicate"}
		}
		for _, id := range ids {
			a.r.log.Warn().Int64("connection", id).Str("statement", truncate(statement, 200)).Msg("a previous session still runs this schema change on the target; stopping it before deciding whether it ran")
			_, _ = a.conn.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", id))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// collationNames turns the collation ids of a query event, which are the
// source server's, into what the target knows: the client's character
// set, and the connection's and server's collations by name, or their
// character set's default where the target lacks the collation (MariaDB's
// nopad and uca1400 collations on MySQL 8.0), said in the log.
func (a *applier) collationNames(ctx context.Context, client, conn, server uint16) ([3]string, error) {
	var names [3]string
	for i, id := range []uint16{client, conn, server} {
		var collation, charset string
		if err := a.r.source.db.QueryRowContext(ctx, "SELECT COLLATION_NAME, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID = ?", id).Scan(&collation, &charset); err != nil {
			return names, fmt.Errorf("source: collation %d of a schema change's session: %w", id, err)
		}
		var known int
		if err := a.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = ?", collation).Scan(&known); err != nil {
			return names, fmt.Errorf("target: %w", err)
		}
		switch {
		case i == 0:
			names[i] = charset
		case known > 0:
			names[i] = collation
		default:
			var fallback string
			if err := a.conn.QueryRowContext(ctx, "SELECT DEFAULT_COLLATE_NAME FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = ?", charset).Scan(&fallback); err != nil {
				return names, fmt.Errorf("target: the source's collation %s (character set %s) is unknown here: %w", collation, charset, err)
			}
			a.r.log.Warn().Str("collation", collation).Str("instead", fallback).Msg("the target has no such collation: the schema change runs under its character set's default")
			names[i] = fallback
		}
	}
	return names, nil
}

// undecidedDDL stops at a schema change, recorded as pending at at, that
// may or may not have run before a crash, and that the target's tables
// cannot tell apart: a swap, which run twice undoes itself.
func undecidedDDL(query string, at Position) error {
	return &StopError{Position: at, Reason: fmt.Sprintf("replicate stopped while the schema change %q ran, and the target cannot tell whether it did: it renames, and run twice it would leave the tables as they were", truncate(query, 300)),
		Fix: fmt.Sprintf("look at the target's tables: if the change is in place, run `switcharoo replicate --ddl-applied %s`; if not, apply it by hand, then run the same", at)}
}

// pendingDDL is what the checkpoint records of a schema change before it
// runs: the statement, and the target's definitions (SHOW CREATE TABLE)
// of the tables it touches, "" for an absent one. After a crash between
// the statement and the checkpoint, the target's definitions then tell
// whether it ran.
type pendingDDL struct {
	Query  string            `json:"query"`
	Before map[string]string `json:"before"`
}

// parsePending reads the checkpoint's pending_ddl: a pendingDDL, or the
// bare statement an older version recorded.
func parsePending(s string) pendingDDL {
	var p pendingDDL
	if err := json.Unmarshal([]byte(s), &p); err != nil || p.Query == "" {
		return pendingDDL{Query: s}
	}
	return p
}

// targetTables are the target's names of the tables a plan touches.
func (p *ddlPlan) targetTables(f catalog.Filter) []catalog.TableName {
	var names []catalog.TableName
	for _, t := range slices.Concat(p.drop, p.reload) {
		if n := f.Target(t); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// definitions reads SHOW CREATE TABLE of tables on the target.
func (a *applier) definitions(ctx context.Context, tables []catalog.TableName) (map[string]string, error) {
	defs := map[string]string{}
	for _, t := range tables {
		var name, def string
		err := a.conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+catalog.QuoteName(t)).Scan(&name, &def)
		switch {
		case isNoSuchTable(err):
		case err != nil:
			return nil, fmt.Errorf("target: SHOW CREATE TABLE %s: %w", t, err)
		}
		defs[t.String()] = autoIncrement.ReplaceAllString(def, "")
	}
	return defs, nil
}

// autoIncrement is the counter SHOW CREATE TABLE shows, which a server
// restart may recompute (before MySQL 8.0): not part of the definition.
var autoIncrement = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

// updateSchema re-reads the changed tables from the target, whose schema
// now matches the source's at this point of the stream.
func (a *applier) updateSchema(ctx context.Context, plan *ddlPlan) error {
	schema := a.cp.Schema
	for _, t := range plan.drop {
		delete(schema, t)
	}
	if plan.dropDB != "" {
		for t := range schema {
			if t.DB == plan.dropDB {
				delete(schema, t)
			}
		}
	}
	if len(plan.reload) > 0 {
		targets := make([]catalog.TableName, len(plan.reload))
		back := map[catalog.TableName]catalog.TableName{}
		for i, t := range plan.reload {
			targets[i] = a.r.filter.Target(t)
			back[targets[i]] = t
		}
		loaded, err := catalog.LoadTables(ctx, a.r.target.db, targets)
		if err != nil {
			return fmt.Errorf("target: re-read schema after DDL: %w", err)
		}
		for tn, t := range loaded {
			src := back[tn]
			t.Name = src
			schema[src] = t
		}
	}
	// Statements and net-change eligibility are derived again for every
	// table: a change to one table can change another's (a foreign key
	// that now references it).
	clear(a.sql)
	a.schemaChanged = true
	return nil
}

// alreadyApplied reports whether a DDL error says the change is in place.
func alreadyApplied(err error) bool {
	switch mysqlErrno(err) {
	case errTableExists, errBadTable, errNoSuchTable, errBadDB, errDBCreateExists, errDBDropExists,
		errDupFieldName, errDupKeyName, errCantDropField:
		return true
	}
	return false
}

// statementInTransaction handles a QUERY event inside a transaction.
func (r *Replicator) statementInTransaction(e *replication.QueryEvent, q string, at Position) error {
	upper := strings.ToUpper(q)
	if strings.HasPrefix(upper, "SAVEPOINT") || strings.HasPrefix(upper, "ROLLBACK TO") || strings.HasPrefix(upper, "RELEASE SAVEPOINT") {
		return nil
	}
	t, ok := dmlTable(string(e.Schema), q)
	if ok && !r.filter.Includes(t) {
		return nil
	}
	if !ok && !strings.HasPrefix(upper, "INSERT") && !strings.HasPrefix(upper, "UPDATE") &&
		!strings.HasPrefix(upper, "DELETE") && !strings.HasPrefix(upper, "REPLACE") && !strings.HasPrefix(upper, "LOAD") {
		r.log.Debug().Str("statement", truncate(q, 200)).Stringer("position", at).Msg("statement in a transaction not replicated")
		return nil
	}
	return &StopError{Position: at, Reason: "a change was logged as a statement, not as rows: " + truncate(q, 300),
		Fix: "a session on the source used binlog_format=STATEMENT or MIXED; set binlog_format=ROW globally, make sure no session overrides it, then restart the copy"}
}

func (a *applier) schemaJSON() (string, error) {
	b, err := json.Marshal(a.cp.Schema)
	return string(b), err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
