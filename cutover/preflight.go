package cutover

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/checks"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
)

func (rb *Runbook) planPreflight(context.Context) (string, error) {
	text := fmt.Sprintf("check both servers; every privilege the night needs, for every user on each server (switcharoo grants prints them); replication streaming with lag ≤ %s; a fast verify; nothing running longer than %s on the source; "+
		"the target closed to the application, its accounts there; ", rb.cfg.Cutover.MaxLag, rb.cfg.Cutover.LongQuery)
	if rb.dns != nil {
		text += "the DNS records on the source, their TTLs at most dns.cutover_ttl; "
	}
	text += "every app action resolvable"
	if rb.cfg.Cutover.ReverseReplication {
		text += "; reverse replication possible (binlog ROW/FULL on the target)"
	}
	return text, nil
}

// preflight checks, reading only, that the night can start. Every problem
// is reported at once (exit 2).
func (rb *Runbook) preflight(ctx context.Context) error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	up := true
	for _, s := range []*server{rb.source, rb.target} {
		var id uint32
		var version string
		if err := s.db.QueryRowContext(ctx, "SELECT @@server_id, VERSION()").Scan(&id, &version); err != nil {
			add("%s: cannot connect: %v; check %s.host, %s.port, %s.user and its password", s.name, err, s.name, s.name, s.name)
			up = false
			continue
		}
		rb.facts[s.name+"_server_id"] = strconv.FormatUint(uint64(id), 10)
		rb.facts[s.name+"_version"] = version
		if !supported(version) {
			add("%s: version %s is not one switcharoo supports (MySQL 5.5 to 8.x, MariaDB 10.x and later)", s.name, version)
		}
	}
	if !up {
		return &RefusedError{Reason: "preflight: " + strings.Join(problems, "; ")}
	}
	rb.checkPrivileges(ctx, add)
	rb.checkReplication(ctx, add)
	rb.checkLongRunning(ctx, add)
	rb.checkSourceIsPrimary(ctx, add)
	rb.checkSuperUsers(ctx, add)
	rb.checkAppUsers(ctx, add)
	if why, err := rb.target.appOpen(ctx); err != nil {
		add("target: %v", err)
	} else if why != "" {
		fence := "set read_only = ON on it (the replication user passes it)"
		if len(rb.cfg.Cutover.AppUsers) > 0 {
			fence = "lock the accounts of cutover.app_users on it (every host of a name given without one)"
		}
		add("target: it accepts application writes before the switch (%s); %s until the night, so that only one side ever does", why, fence)
	}
	if rb.dns != nil {
		st, err := rb.dns.Status(ctx)
		if err != nil {
			add("dns: %v", err)
		}
		for _, r := range st {
			if r.PointsAt != "source" {
				add("dns: %s points at %s (%s), not at the source value recorded by `switcharoo dns lower-ttl`", r.Current.Key, r.PointsAt, r.Current.ValueString())
			}
		}
		if _, err := rb.dns.CheckTTL(ctx, false); err != nil {
			add("dns: %v", err)
		}
	}
	if _, err := rb.app.Plan(ctx); err != nil {
		add("app: %v", err)
	}
	if rb.cfg.Cutover.ReverseReplication {
		rb.checkReverse(ctx, add)
	}
	if rb.probe != nil {
		id, err := rb.probe.write(ctx, false)
		switch {
		case err != nil:
			add("checks.sql_probe: a write as %s through %s failed: %v; the probe needs INSERT on %s.probe on both servers",
				rb.cfg.Checks.SQLProbe.User, rb.cfg.Checks.SQLProbe.Host, err, rb.cfg.Replication.CheckpointSchema)
		case strconv.FormatUint(uint64(id), 10) != rb.facts["source_server_id"]:
			add("checks.sql_probe: a write through %s landed on server_id %d, not on the source", rb.cfg.Checks.SQLProbe.Host, id)
		}
	}
	if len(problems) == 0 {
		opts := checks.OptionsFrom(rb.cfg)
		opts.Fast = true
		r, err := checks.Verify(ctx, rb.cfg, opts, rb.log)
		switch {
		case err != nil:
			add("verify: %v", err)
		case !r.Identical:
			add("verify: the target differs from the source (differences: %d; switcharoo verify lists them)", len(r.Differences))
		}
	}
	if len(problems) > 0 {
		return &RefusedError{Reason: "preflight found " + strconv.Itoa(len(problems)) + " problems:\n  - " + strings.Join(problems, "\n  - ")}
	}
	return nil
}

func supported(version string) bool {
	v := strings.ToLower(version)
	if strings.Contains(v, "mariadb") {
		return !strings.HasPrefix(v, "5.")
	}
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	m, _ := strconv.Atoi(major)
	n, _ := strconv.Atoi(minor)
	return m == 8 || m == 9 || (m == 5 && n >= 5)
}

func (rb *Runbook) checkReplication(ctx context.Context, add func(string, ...any)) {
	st, err := binlog.ReadStatus(ctx, rb.target.db, rb.cfg.Replication.CheckpointSchema)
	switch {
	case err != nil:
		add("replication: %v; start `switcharoo replicate` days before the night", err)
	case st.State != binlog.StateStreaming:
		add("replication is %s, not streaming: start `switcharoo replicate` and let it catch up", st.State)
	case st.LagMillis > rb.cfg.Cutover.MaxLag.Milliseconds():
		add("replication lags %d ms behind, more than cutover.max_lag (%s): wait until it catches up", st.LagMillis, rb.cfg.Cutover.MaxLag)
	}
}

// checkLongRunning refuses while a statement or transaction has run on the
// source longer than cutover.long_query: the global read lock would wait
// for it, with every write blocked meanwhile.
func (rb *Runbook) checkLongRunning(ctx context.Context, add func(string, ...any)) {
	secs := int(rb.cfg.Cutover.LongQuery.Seconds())
	rows, err := rb.source.db.QueryContext(ctx, `SELECT ID, USER, TIME, LEFT(IFNULL(INFO, ''), 80) FROM information_schema.PROCESSLIST
		WHERE COMMAND NOT IN ('Sleep', 'Binlog Dump', 'Binlog Dump GTID', 'Daemon') AND USER NOT IN ('system user', 'event_scheduler')
		AND ID <> CONNECTION_ID() AND TIME >= ?`, secs)
	if err != nil {
		add("source: list running statements: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, t int64
		var user, info string
		if err := rows.Scan(&id, &user, &t, &info); err != nil {
			return
		}
		add("source: connection %d (%s) has run for %ds: %q; the fence would wait for it — let it finish or kill it", id, user, t, info)
	}
	var trx sql.NullInt64
	if err := rb.source.db.QueryRowContext(ctx, `SELECT MAX(TIMESTAMPDIFF(SECOND, trx_started, NOW())) FROM information_schema.INNODB_TRX`).Scan(&trx); err == nil && trx.Int64 >= int64(secs) {
		add("source: a transaction has been open for %ds (information_schema.INNODB_TRX); the fence would wait for it", trx.Int64)
	}
	big, err := rb.source.db.QueryContext(ctx, `SELECT trx_mysql_thread_id, trx_rows_modified FROM information_schema.INNODB_TRX
		WHERE trx_rows_modified >= ? ORDER BY trx_rows_modified DESC`, rb.cfg.Cutover.LongTransactionRows)
	if err != nil {
		add("source: list open transactions: %v", err)
		return
	}
	defer big.Close()
	for big.Next() {
		var id, n int64
		if err := big.Scan(&id, &n); err != nil {
			return
		}
		add("source: the transaction of connection %d has modified %d rows (cutover.long_transaction_rows: %d); killed by the fence, it would roll back row by row while every write waits — let it commit first",
			id, n, rb.cfg.Cutover.LongTransactionRows)
	}
}

// checkSuperUsers refuses while an account other than switcharoo's own
// may write through read_only on the source and is not acknowledged in
// cutover.super_users: SUPER (MySQL 5.6 has no super_read_only),
// CONNECTION_ADMIN (MySQL 8), READ_ONLY ADMIN (MariaDB 10.11).
// checkSourceIsPrimary refuses a source that replicates from another
// server: the night fences the server it is given, while the application
// writes to that server's primary, which nothing would fence.
func (rb *Runbook) checkSourceIsPrimary(ctx context.Context, add func(string, ...any)) {
	rows, err := rb.source.db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		add("source: SHOW SLAVE STATUS (is it a replica, whose primary the night would leave open?): %v; grant REPLICATION CLIENT", err)
		return
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil || !rows.Next() {
		return
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		add("source: read SHOW SLAVE STATUS: %v", err)
		return
	}
	primary := "another server"
	for i, c := range cols {
		switch c {
		case "Master_Host":
			primary = string(vals[i])
		case "Master_Port":
			primary += ":" + string(vals[i])
		}
	}
	add("source: it is a replica of %s: the night would fence it while the application writes to its primary, which nothing fences; point source at the primary the application writes to (a night streaming from a replica and fencing its primary is not supported yet); or, if that replication is stale, RESET SLAVE ALL on it", primary)
}

func (rb *Runbook) checkSuperUsers(ctx context.Context, add func(string, ...any)) {
	// information_schema.USER_PRIVILEGES shows a user who may not read
	// the mysql schema its own rows only: seeing nothing proves nothing.
	var one int
	if err := rb.source.db.QueryRowContext(ctx, "SELECT 1 FROM mysql.user LIMIT 1").Scan(&one); err != nil {
		add("source: switcharoo's account cannot read mysql.user (%v), so it cannot list the accounts that write through read_only: GRANT SELECT ON mysql.user TO it", err)
		return
	}
	// Its own account only: another of the same name on another host
	// (root@localhost for a cron on the master's host) passes read_only too.
	var self string
	if err := rb.source.db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&self); err != nil {
		add("source: %v", err)
		return
	}
	users, err := rb.source.superUsers(ctx)
	if err != nil {
		add("source: %v", err)
		return
	}
	var unacknowledged []string
	for _, u := range users {
		if u != self && !systemAccount(u) && !slices.Contains(rb.cfg.Cutover.SuperUsers, u) {
			unacknowledged = append(unacknowledged, u)
		}
	}
	if len(unacknowledged) > 0 {
		add("source: the accounts %s may write through read_only (SUPER, CONNECTION_ADMIN or READ_ONLY ADMIN): during the night only the global read lock stops them, "+
			"and after it is released reverse replication's write guard only reports their writes. Revoke the privilege from accounts the application uses, "+
			"turn off what writes as them (crons, events), and acknowledge the rest in cutover.super_users", strings.Join(unacknowledged, ", "))
	}
}

// systemAccount reports the servers' own accounts, locked and unusable
// for login: MySQL 8's mysql.session, mysql.sys and mysql.infoschema,
// MariaDB's mariadb.sys.
func systemAccount(u string) bool {
	switch u {
	case "mysql.session@localhost", "mysql.sys@localhost", "mysql.infoschema@localhost", "mariadb.sys@localhost":
		return true
	}
	return false
}

// checkAppUsers checks that the application's accounts (cutover.app_users
// and the probe's user) exist on the target, which they must write on
// after the switch. Without the privilege to read mysql.user, the check
// is left out with a warning.
func (rb *Runbook) checkAppUsers(ctx context.Context, add func(string, ...any)) {
	users := slices.Clone(rb.cfg.Cutover.AppUsers)
	if u := rb.cfg.Checks.SQLProbe.User; u != "" && !containsUser(users, u) {
		users = append(users, u)
	}
	for _, u := range users {
		name, host, hasHost := strings.Cut(u, "@")
		q, args := "SELECT COUNT(*) FROM mysql.user WHERE User = ?", []any{name}
		if hasHost {
			q, args = q+" AND Host = ?", append(args, host)
		}
		var n int
		if err := rb.target.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			rb.log.Warn().Err(err).Msg("cannot read mysql.user on the target; the application's accounts there are not checked")
			return
		}
		if n == 0 {
			add("target: the application's account %s does not exist there; create it with the grants it has on the source before the night", u)
		}
	}
}

// checkReverse checks that the target can be replicated back from.
func (rb *Runbook) checkReverse(ctx context.Context, add func(string, ...any)) {
	vars := map[string]string{}
	rows, err := rb.target.db.QueryContext(ctx, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image')")
	if err != nil {
		add("target: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err == nil {
			vars[strings.ToLower(k)] = strings.ToUpper(v)
		}
	}
	if vars["log_bin"] != "ON" || vars["binlog_format"] != "ROW" || (vars["binlog_row_image"] != "" && vars["binlog_row_image"] != "FULL") {
		add("target %s: reverse replication needs its binlog on, ROW, FULL (log_bin=%s, binlog_format=%s, binlog_row_image=%s); for Aurora, set binlog_format=ROW in the cluster parameter group, or set cutover.reverse_replication: false",
			mysqlconn.Addr(rb.cfg.Target), vars["log_bin"], vars["binlog_format"], vars["binlog_row_image"])
	}
}
