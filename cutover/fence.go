package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/privileges"
)

// Fencing stops application writes on one server.
//
// The source (MySQL 5.6 in the reference case) has no super_read_only:
// read_only stops ordinary users but not SUPER ones, so the fence is
// read_only, a grace period in which transactions with uncommitted changes
// may end (only SUPER ones can still commit; the others fail at COMMIT),
// the remaining client connections killed (never replication threads),
// then FLUSH TABLES WITH READ LOCK held by the runbook's own connection,
// and a check that the binlog position no longer moves. The grace ends as
// soon as no such transaction is open: writes are unavailable for as
// little as the clients need.
//
// A target (Aurora MySQL, where nobody has SUPER) is fenced by locking the
// application's accounts (cutover.app_users) and killing their
// connections, or by read_only when no accounts are configured.

// server is one side, as the runbook sees it.
type server struct {
	name     string // "source" or "target"
	addr     string // host:port, for messages
	db       *sql.DB
	appUsers []string
	// answer is how long it may answer nothing before the runbook takes
	// it as unreachable (reach.go); 0: defaultAnswerWithin.
	answer time.Duration

	mu          sync.Mutex
	seesClients bool // switcharoo's account was found to hold PROCESS
}

// killClients kills the connections of everyone but the runbook's own
// session, replication threads and the server's own threads; with users,
// only theirs. A KILL the server refuses (Aurora's admin user has neither
// SUPER nor CONNECTION_ADMIN) is done through mysql.rds_kill, Aurora's
// procedure for it; and the sessions are listed again, new ones killed
// too, until none is left: one that survives is an open door, and fails
// the fence.
//
// The connections ended are those open when the first list is read, the
// fence in place: a connection still logging in then may have passed its
// account's lock check before the fence locked the account, and is
// killed and waited for as well. One that began after that list (a
// higher connection id) meets the fence: read_only, or a refused login —
// an application retrying through the fence opens them all along.
func (s *server) killClients(ctx context.Context, users []string, keep ...int64) (int, error) {
	list, err := s.listSessions(ctx)
	if err != nil {
		return 0, err
	}
	upTo := list.maxID
	killed := 0
	var refused []string
	tried := map[int64]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := list.clients(users, upTo, keep)
		if len(left) == 0 {
			return killed, nil
		}
		for _, id := range left {
			if tried[id] {
				continue
			}
			tried[id] = true
			if err := s.kill(ctx, id); err != nil {
				refused = append(refused, fmt.Sprintf("%d: %v", id, err))
				continue
			}
			killed++
		}
		if time.Now().After(deadline) {
			return killed, fmt.Errorf("%s: %d client sessions survive the fence (connections %v; refused: %s): grant the runbook's user CONNECTION_ADMIN (MySQL 8.0) or SUPER, or on Aurora make sure it may CALL mysql.rds_kill",
				s.name, len(left), left, strings.Join(refused, "; "))
		}
		select {
		case <-ctx.Done():
			return killed, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if list, err = s.listSessions(ctx); err != nil {
			return killed, err
		}
	}
}

// kill ends a connection: KILL, or mysql.rds_kill where KILL is refused
// (error 1095). One already gone (1094) counts as ended.
func (s *server) kill(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id))
	var me *mysql.MySQLError
	switch {
	case err == nil, errors.As(err, &me) && me.Number == 1094:
		return nil
	case errors.As(err, &me) && me.Number == 1095:
		if _, rdsErr := s.db.ExecContext(ctx, "CALL mysql.rds_kill(?)", id); rdsErr != nil && !(errors.As(rdsErr, &me) && me.Number == 1094) {
			return fmt.Errorf("%w; mysql.rds_kill: %v", err, rdsErr)
		}
		return nil
	}
	return err
}

// clientSessions lists the application's live sessions (of users, or of
// every client without): those that could write. A connection still
// logging in is none: it has run nothing, and a locked account's is
// refused — an application retrying against the fenced target shows them
// by the dozen, each for an instant.
func (s *server) clientSessions(ctx context.Context, users []string) ([]int64, error) {
	list, err := s.listSessions(ctx)
	if err != nil {
		return nil, err
	}
	return list.clients(users, 0, nil), nil
}

// sessionList is the server's processlist, but for the reader's own
// connection.
type sessionList struct {
	sessions []session
	maxID    int64 // the highest connection id seen, the reader's included
}

type session struct {
	id                   int64
	user, command, state string
}

func (s *server) listSessions(ctx context.Context) (sessionList, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT ID, USER, COMMAND, IFNULL(STATE, ''), CONNECTION_ID() FROM information_schema.PROCESSLIST`)
	if err != nil {
		return sessionList{}, fmt.Errorf("%s: list client connections: %w", s.name, err)
	}
	defer rows.Close()
	var l sessionList
	for rows.Next() {
		var x session
		var own int64
		if err := rows.Scan(&x.id, &x.user, &x.command, &x.state, &own); err != nil {
			return sessionList{}, err
		}
		l.maxID = max(l.maxID, x.id)
		if x.id != own {
			l.sessions = append(l.sessions, x)
		}
	}
	return l, rows.Err()
}

// clients are the listed client connections of users (all without users)
// but keep: not replication threads nor the server's own. Without upTo,
// the live ones: not a connection logging in (COMMAND 'Connect', or STATE
// 'login': MariaDB shows a locked account's refused login as COMMAND
// 'Killed', STATE 'login'). With upTo, those whose id is at most upTo,
// logging in (its user known) or not.
func (l sessionList) clients(users []string, upTo int64, keep []int64) []int64 {
	var ids []int64
	for _, x := range l.sessions {
		switch {
		case x.command == "Binlog Dump" || x.command == "Binlog Dump GTID" || x.command == "Daemon",
			x.user == "system user" || x.user == "event_scheduler" || x.user == "unauthenticated user",
			upTo == 0 && (x.command == "Connect" || x.state == "login"),
			upTo > 0 && x.id > upTo,
			len(users) > 0 && !containsUser(users, x.user),
			slices.Contains(keep, x.id):
			continue
		}
		ids = append(ids, x.id)
	}
	return ids
}

func containsUser(users []string, user string) bool {
	for _, u := range users {
		name, _, _ := strings.Cut(u, "@")
		if name == user {
			return true
		}
	}
	return false
}

// accounts turns cutover.app_users into quoted 'name'@'host' accounts.
func accounts(users []string) []string {
	out := make([]string, len(users))
	for i, u := range users {
		name, host, ok := strings.Cut(u, "@")
		if !ok {
			host = "%"
		}
		out[i] = quoteString(name) + "@" + quoteString(host)
	}
	return out
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// superUsers lists the accounts ("name@host") that may write through
// read_only: SUPER on MySQL 5.6/5.7 and MariaDB before 10.11,
// CONNECTION_ADMIN on MySQL 8 (and SUPER, deprecated), READ_ONLY ADMIN on
// MariaDB 10.11. information_schema.USER_PRIVILEGES shows every account
// to a user who may read the mysql schema, else only its own.
func (s *server) superUsers(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT GRANTEE FROM information_schema.USER_PRIVILEGES
		WHERE PRIVILEGE_TYPE IN ('SUPER', 'CONNECTION_ADMIN', 'READ_ONLY ADMIN')`)
	if err != nil {
		return nil, fmt.Errorf("%s: list the accounts that pass read_only: %w", s.name, err)
	}
	defer rows.Close()
	var users []string
	for rows.Next() {
		var grantee string // 'name'@'host'
		if err := rows.Scan(&grantee); err != nil {
			return nil, err
		}
		name, host, _ := strings.Cut(grantee, "@")
		users = append(users, strings.Trim(name, "'")+"@"+strings.Trim(host, "'"))
	}
	return users, rows.Err()
}

// readOnly reports @@global.read_only.
func (s *server) readOnly(ctx context.Context) (bool, error) {
	var ro bool
	if err := s.db.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&ro); err != nil {
		return false, fmt.Errorf("%s: read read_only: %w", s.name, err)
	}
	return ro, nil
}

func (s *server) setReadOnly(ctx context.Context, on bool) error {
	v := "OFF"
	if on {
		v = "ON"
	}
	if _, err := s.db.ExecContext(ctx, "SET GLOBAL read_only = "+v); err != nil {
		return fmt.Errorf("%s: SET GLOBAL read_only = %s: %w", s.name, v, err)
	}
	return nil
}

// appWritable reports whether the application could write on the server:
// read_only off and, when app users are configured, one of them unlocked
// or still connected — a locked account keeps the sessions it had, and
// they go on writing.
func (s *server) appWritable(ctx context.Context) (bool, error) {
	why, err := s.appOpen(ctx)
	return why != "", err
}

// appOpen says why the application could write on the server ("" when it
// could not).
func (s *server) appOpen(ctx context.Context) (string, error) {
	ro, err := s.readOnly(ctx)
	if err != nil || ro {
		return "", err
	}
	if len(s.appUsers) == 0 {
		return "read_only is OFF", nil
	}
	accts, err := s.appAccounts(ctx)
	if err != nil {
		return "", err
	}
	for _, acct := range accts {
		var create string
		if err := s.db.QueryRowContext(ctx, "SHOW CREATE USER "+acct).Scan(&create); err != nil {
			return "", fmt.Errorf("%s: SHOW CREATE USER %s: %w", s.name, acct, err)
		}
		if !strings.Contains(strings.ToUpper(create), "ACCOUNT LOCK") {
			return "account " + acct + " is not locked", nil
		}
	}
	if err := s.checkSeesClients(ctx); err != nil {
		return "", err
	}
	live, err := s.clientSessions(ctx, s.appUsers)
	if err != nil || len(live) == 0 {
		return "", err
	}
	return fmt.Sprintf("%d sessions of the locked application accounts are still connected", len(live)), nil
}

// appAccounts are the accounts of cutover.app_users: one given with its
// host as it is, a bare name as every account of that name in mysql.user
// (the server matches a client to the most specific host: locking
// 'app'@'%' leaves 'app'@'10.0.%' open).
func (s *server) appAccounts(ctx context.Context) ([]string, error) {
	var out []string
	for _, u := range s.appUsers {
		if strings.Contains(u, "@") {
			out = append(out, accounts([]string{u})...)
			continue
		}
		rows, err := s.db.QueryContext(ctx, "SELECT Host FROM mysql.user WHERE User = ? ORDER BY Host", u)
		if err != nil {
			return nil, fmt.Errorf("%s: list the accounts named %q (cutover.app_users): %w; grant SELECT on mysql.user, or give each account with its host (name@host)", s.name, u, err)
		}
		n := len(out)
		for rows.Next() {
			var host string
			if err := rows.Scan(&host); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, accounts([]string{u + "@" + host})...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no account named %q (cutover.app_users)", s.name, u)
		}
	}
	return out, nil
}

// checkSeesClients fails unless switcharoo's account holds PROCESS:
// without it the processlist shows its own sessions only, and no live
// session seen would prove nothing. Its grants are read as its sessions
// hold them, roles included (which information_schema.USER_PRIVILEGES
// leaves out), as the privilege check reads them — once per server: the
// one-writable check runs after every step.
func (s *server) checkSeesClients(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seesClients {
		return nil
	}
	flavor, err := privileges.Detect(ctx, s.db)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	grants, err := privileges.Read(ctx, s.db, flavor)
	if err != nil {
		return fmt.Errorf("%s: read switcharoo's privileges: %w", s.name, err)
	}
	if !grants.Has(privileges.Grant{Priv: "PROCESS", On: privileges.Global}) {
		return fmt.Errorf("%s: switcharoo's account lacks PROCESS, so it cannot see whether the locked accounts of cutover.app_users still have sessions: GRANT PROCESS ON *.* TO it", s.name)
	}
	s.seesClients = true
	return nil
}

// fenceTarget stops application writes on a target: its accounts locked,
// or read_only; then their connections killed.
func (s *server) fenceTarget(ctx context.Context) error {
	if len(s.appUsers) == 0 {
		if err := s.setReadOnly(ctx, true); err != nil {
			return err
		}
		_, err := s.killClients(ctx, nil)
		return err
	}
	accts, err := s.appAccounts(ctx)
	if err != nil {
		return err
	}
	for _, acct := range accts {
		if _, err := s.db.ExecContext(ctx, "ALTER USER "+acct+" ACCOUNT LOCK"); err != nil {
			return fmt.Errorf("%s: lock %s: %w", s.name, acct, err)
		}
	}
	_, err = s.killClients(ctx, s.appUsers)
	return err
}

// unfenceTarget lets the application write on a target: its accounts
// unlocked (read_only left alone: on Aurora nobody may change it), or
// read_only off.
func (s *server) unfenceTarget(ctx context.Context) error {
	if len(s.appUsers) == 0 {
		return s.setReadOnly(ctx, false)
	}
	accts, err := s.appAccounts(ctx)
	if err != nil {
		return err
	}
	for _, acct := range accts {
		if _, err := s.db.ExecContext(ctx, "ALTER USER "+acct+" ACCOUNT UNLOCK"); err != nil {
			return fmt.Errorf("%s: unlock %s: %w", s.name, acct, err)
		}
	}
	return nil
}

// lockSession is a connection that takes (or took) the global read lock:
// its id, its user, and when the server started (ids start again after a
// restart), in the form the journal keeps: id:started:user.
type lockSession struct {
	id, started int64
	user        string
}

func (l lockSession) String() string { return fmt.Sprintf("%d:%d:%s", l.id, l.started, l.user) }

// readLockSession reads the lockSession of the connection q runs on.
func readLockSession(ctx context.Context, q querier) (lockSession, error) {
	var l lockSession
	if err := q.QueryRowContext(ctx, "SELECT CONNECTION_ID(), SUBSTRING_INDEX(USER(), '@', 1)").Scan(&l.id, &l.user); err != nil {
		return l, err
	}
	var err error
	l.started, err = serverStarted(ctx, q)
	return l, err
}

// serverStarted is when the server q reaches started, in Unix seconds by
// its own clock (within a second: Uptime counts whole seconds).
func serverStarted(ctx context.Context, q querier) (int64, error) {
	var now, uptime int64
	if err := q.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP()").Scan(&now); err != nil {
		return 0, err
	}
	if err := q.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Uptime'").Scan(new(string), &uptime); err != nil {
		return 0, err
	}
	return now - uptime, nil
}

// querier is what *sql.DB and *sql.Conn share for reading one row.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func parseLockSession(s string) (lockSession, bool) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return lockSession{}, false
	}
	id, err1 := strconv.ParseInt(parts[0], 10, 64)
	started, err2 := strconv.ParseInt(parts[1], 10, 64)
	return lockSession{id: id, started: started, user: parts[2]}, err1 == nil && err2 == nil
}

// globalLock is FLUSH TABLES WITH READ LOCK, held by its own connection.
// The connection is idle for most of the night: it gets a session
// wait_timeout of a year (5.6 masters often run with 60-300 s, which would
// end it, and the lock with it, during a deploy) and a ping every
// keepaliveEvery (an idle-time killer such as pt-kill --idle-time sees it
// busy). The runbook checks it before and after every step (holdFence).
type globalLock struct {
	conn *sql.Conn
	id   int64 // its connection id on the server
	stop context.CancelFunc
	done chan struct{}
}

// keepaliveEvery is how often the lock's connection is pinged.
const keepaliveEvery = 10 * time.Second

// takeGlobalLock takes the lock on a connection of its own; taking is
// told the connection before it asks for the lock (the FLUSH may wait,
// and take the lock later, on a connection the runbook has lost).
func (s *server) takeGlobalLock(ctx context.Context, wait time.Duration, taking func(lockSession) error) (*globalLock, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	l := &globalLock{conn: conn, done: make(chan struct{})}
	session, err := readLockSession(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	l.id = session.id
	if err := taking(session); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d, wait_timeout = 31536000", max(int(wait.Seconds()), 1))); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: FLUSH TABLES WITH READ LOCK: %w", s.name, err)
	}
	kctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	go func() {
		defer close(l.done)
		t := time.NewTicker(keepaliveEvery)
		defer t.Stop()
		for {
			select {
			case <-kctx.Done():
				return
			case <-t.C:
				_ = l.held(kctx)
			}
		}
	}()
	return l, nil
}

// held reports whether the lock's connection is still there: while it
// is, the server holds the lock for it.
func (l *globalLock) held(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return l.conn.PingContext(ctx) == nil
}

func (l *globalLock) release() {
	if l == nil || l.conn == nil {
		return
	}
	l.stop()
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.endWaiters(ctx)
	_, _ = l.conn.ExecContext(ctx, "UNLOCK TABLES")
	_ = l.conn.Close()
	l.conn = nil
}

// endWaiters ends the sessions waiting behind the lock: a write of an
// account that passes read_only (SUPER) queues there, and would commit the
// moment the lock goes, after the night took the source's position. Ended
// first, its client gets an error, not an acknowledgement. (One that
// queues between this and the unlock is found by the position check that
// follows the release where it matters: stop-replication.)
func (l *globalLock) endWaiters(ctx context.Context) {
	rows, err := l.conn.QueryContext(ctx, `SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()
		AND STATE IN ('Waiting for global read lock', 'Waiting for backup lock', 'Waiting for commit lock')`)
	if err != nil {
		return
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		_, _ = l.conn.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id))
	}
}

// standStill is how long the binlog position must not move under the
// global read lock for the fence to count as holding.
const standStill = 100 * time.Millisecond

// waitForWriters waits, up to grace, until no other session has a
// transaction with uncommitted changes, and says how many are left.
// InnoDB serves INNODB_TRX from a cache it refreshes only when the table
// was not read for 100 ms, so it is polled more slowly than that.
func (s *server) waitForWriters(ctx context.Context, grace time.Duration) (int, error) {
	deadline := time.Now().Add(grace)
	for {
		var open int
		err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.INNODB_TRX
			WHERE trx_mysql_thread_id <> CONNECTION_ID() AND trx_rows_modified > 0`).Scan(&open)
		if err != nil {
			return 0, fmt.Errorf("%s: list open transactions: %w", s.name, err)
		}
		if open == 0 || !time.Now().Before(deadline) {
			return open, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(min(150*time.Millisecond, time.Until(deadline))):
		}
	}
}

// stablePosition reads the binlog position twice, apart, and fails if it
// moved: something still writes (on a fenced source, a SUPER user through
// read_only; on a fenced target, a user the fence does not know).
func (s *server) stablePosition(ctx context.Context, apart time.Duration) (binlog.Position, error) {
	first, err := binlog.CurrentPosition(ctx, s.db)
	if err != nil {
		return first, fmt.Errorf("%s: %w", s.name, err)
	}
	select {
	case <-ctx.Done():
		return first, ctx.Err()
	case <-time.After(apart):
	}
	second, err := binlog.CurrentPosition(ctx, s.db)
	if err != nil {
		return first, fmt.Errorf("%s: %w", s.name, err)
	}
	if first != second {
		return second, fmt.Errorf("%s: the binlog position still moves under the fence (%s → %s): something writes there; find it in SHOW PROCESSLIST (a SUPER user passes read_only)", s.name, first, second)
	}
	return second, nil
}
