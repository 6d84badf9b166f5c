package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/faultpoint"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// What the fences must hold against on real servers (#17): a second
// operator, an account that writes through read_only, a big transaction,
// a session the target's fence misses, a write the old master takes after
// the night, an event scheduler, a server switcharoo cannot reach.
func TestFencesHold(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	defer stopWatch()
	ctx := context.Background()
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)

	t.Run("preflight", func(t *testing.T) {
		// An account with SUPER on the source passes read_only; a
		// transaction that changed many rows rolls back slowly when the
		// fence kills it. Both refused, naming them, nothing changed.
		exec1(t, src, "CREATE USER dba@'%' IDENTIFIED BY 'pw'", "GRANT SUPER ON *.* TO dba@'%'")
		defer exec1(t, src, "DROP USER dba@'%'")
		cfg := copyConfig(sb)
		cfg.Cutover.LongTransactionRows = 10
		conn, err := src.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var id int
		if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
			t.Fatal(err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE app.orders SET total = total + 1 WHERE id <= 50"); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, sb)
		_, err = newRunbook(t, sb, cfg, nil).Run(ctx)
		var refused *RefusedError
		if !errors.As(err, &refused) || exitcode.Of(err) != exitcode.Usage {
			t.Fatalf("want a refusal (exit 2), got %v (exit %d)", err, exitcode.Of(err))
		}
		for _, want := range []string{"the accounts dba@% may write through read_only", fmt.Sprintf("connection %d has modified 50 rows", id)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the refusal lacks %q:\n%v", want, err)
			}
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if after := snapshot(t, sb); after != before {
			t.Errorf("a refused run changed the world:\nbefore %+v\nafter  %+v", before, after)
		}
		cfg.Cutover.SuperUsers = append(slices.Clip(cfg.Cutover.SuperUsers), "dba@%")
		rb := newRunbook(t, sb, cfg, nil)
		waitFor(t, "a plan with dba@% acknowledged", 30*time.Second, func() (bool, string) {
			_, _, err := rb.Plan(ctx)
			return err == nil, fmt.Sprint(err)
		})
	})

	t.Run("second operator", func(t *testing.T) {
		// Two runbooks on two state_dirs (two hosts, as far as run.lock can
		// tell): the second refuses while the first holds the night,
		// naming it, and changes nothing.
		other := copyConfig(sb)
		other.StateDir = filepath.Join(t.TempDir(), "other")
		var second error
		// The world without the probe's rows: the first runbook's probe
		// writes on.
		world := func() string { return fmt.Sprintf("%+v %s %s", observe(t, sb), checksums(t, src), checksums(t, dst)) }
		var before, after string
		first := newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool {
			switch {
			case step == "ttl" && at == beforeApply:
				before = world()
				_, second = newRunbook(t, sb, other, nil).Run(ctx)
				after = world()
			case step == "ttl" && at == insideStep:
				return true // the first dies here, having changed nothing
			}
			return false
		})
		if _, err := first.Run(ctx); !errors.Is(err, errCrash) {
			t.Fatalf("the first run: %v", err)
		}
		var refused *RefusedError
		if !errors.As(second, &refused) || !strings.Contains(second.Error(), "another switcharoo runbook holds the night") ||
			!strings.Contains(second.Error(), abs(t, sb.Config.StateDir)) {
			t.Fatalf("the second run: %v, want a refusal naming the first's state_dir", second)
		}
		if after != before {
			t.Errorf("the refused run changed the world:\nbefore %+v\nafter  %+v", before, after)
		}
		if last, err := LastRun(other.StateDir); err != nil || last.State != "none" {
			t.Errorf("the refused run journaled: %+v, %v", last, err)
		}
		if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
			t.Fatalf("rollback of the first: %v", err)
		}
	})

	t.Run("target writer at rollback", func(t *testing.T) {
		// A session the target's fence does not know (here root, whose
		// account is not in cutover.app_users) keeps writing on the target
		// through the rollback: the source must stay fenced.
		// An event whose definer has SUPER writes through read_only: the
		// fence stops the scheduler, the rollback starts it again.
		exec1(t, src, "CREATE TABLE app.ticks (id INT AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL)",
			"CREATE DEFINER = root@localhost EVENT app.tick ON SCHEDULE EVERY 1 SECOND DO INSERT INTO app.ticks (at) VALUES (NOW(6))",
			"SET GLOBAL event_scheduler = ON")
		defer exec1(t, src, "DROP EVENT IF EXISTS app.tick")
		ticks := func() string { return query(t, src, "SELECT COUNT(*) FROM app.ticks") }
		report, err := newRunbook(t, sb, sb.Config, nil).Run(ctx)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		checkReport(t, report, "run", "finished", nightSteps)
		if on := query(t, src, "SELECT @@global.event_scheduler"); on != "OFF" {
			t.Errorf("the source's event scheduler after the fence: %s, want OFF", on)
		}
		after := ticks()
		deadline := time.Now().Add(2500 * time.Millisecond) // the event's period, twice and a half
		for time.Now().Before(deadline) {
			if n := ticks(); n != after {
				t.Fatalf("the event wrote on the old master after the night: %s rows, then %s", after, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The intruder starts where the rollback is about to unfence the
		// source: after the target was fenced again and verified equal.
		var intruder *writer
		disarm := faultpoint.Arm(faultpoint.UndoBeforeUnfenceSource, func() {
			intruder = startWriter(t, dst, "INSERT INTO app.writes (writer, server_id, at) VALUES ('intruder', @@server_id, NOW(6))")
			intruder.waitRows(t, 3)
		})
		_, err = newRunbook(t, sb, sb.Config, nil).Rollback(ctx)
		disarm()
		if intruder == nil {
			t.Fatalf("the rollback never reached %s: %v", faultpoint.UndoBeforeUnfenceSource, err)
		}
		intruder.stop()
		if err == nil || !strings.Contains(err.Error(), "after it was fenced again") {
			t.Fatalf("rollback with a writer on the target: %v, want the source kept fenced", err)
		}
		if ro := query(t, src, "SELECT @@global.read_only"); ro != "1" {
			t.Fatalf("the source was unfenced (read_only %s) while the target took writes", ro)
		}
		// The operator brings the intruder's rows over; the rollback ends.
		copyRows(t, dst, src, "app.writes", "writer = 'intruder'")
		if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
			t.Fatalf("rollback once the rows are on the source: %v", err)
		}
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
		if on := query(t, src, "SELECT @@global.event_scheduler"); on != "ON" {
			t.Errorf("the source's event scheduler after the rollback: %s, want ON again", on)
		}
		back := ticks()
		waitFor(t, "the event writing again", 10*time.Second, func() (bool, string) { n := ticks(); return n != back, n })
		exec1(t, src, "SET GLOBAL event_scheduler = OFF", "DROP EVENT app.tick")
	})

	t.Run("old master written after the night", func(t *testing.T) {
		// A SUPER user writes on the old master after the night, through
		// read_only: reverse replication's guard records it, and the
		// rollback stops instead of seeding forward replication past it.
		if _, err := newRunbook(t, sb, sb.Config, nil).Run(ctx); err != nil {
			t.Fatalf("run: %v", err)
		}
		exec1(t, src, "UPDATE app.customers SET name = 'written by SUPER' WHERE id = 3")
		reverse := sb.Config.Replication.CheckpointSchema + binlog.ReverseSuffix
		waitFor(t, "the write guard's record", 30*time.Second, func() (bool, string) {
			n, err := binlog.ReadDivergences(ctx, src, reverse)
			return err == nil && n > 0, fmt.Sprintf("%d (%v)", n, err)
		})
		_, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx)
		if err == nil || !strings.Contains(err.Error(), "source and target differ with both fenced") || !strings.Contains(err.Error(), "write guard recorded") {
			t.Fatalf("rollback over a write the target lacks: %v, want a stop naming the guard's record", err)
		}
		if ro := query(t, src, "SELECT @@global.read_only"); ro != "1" {
			t.Fatalf("the source was unfenced (read_only %s) with the target lacking its write", ro)
		}
		name := query(t, dst, "SELECT name FROM app.customers WHERE id = 3")
		exec1(t, src, "SET SESSION sql_log_bin = 0", "UPDATE app.customers SET name = "+quoteString(name)+" WHERE id = 3", "SET SESSION sql_log_bin = 1")
		if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
			t.Fatalf("rollback once reconciled: %v", err)
		}
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
	})

	t.Run("raced inside the fence", func(t *testing.T) {
		// Between read_only and the kill, a SUPER session holds an
		// uncommitted write: it is killed and rolled back, on neither
		// side. Between the kill and the global read lock, a SUPER
		// session commits one: the fenced position is taken after it,
		// and the target has it.
		var open *sql.Conn
		disarmRO := faultpoint.Arm(faultpoint.FenceAfterReadOnly, func() {
			var err error
			if open, err = src.Conn(ctx); err != nil {
				t.Error(err)
				return
			}
			if _, err := open.ExecContext(ctx, "BEGIN"); err != nil {
				t.Error(err)
			}
			if _, err := open.ExecContext(ctx, "INSERT INTO app.writes (writer, server_id, at) VALUES ('uncommitted', @@server_id, NOW(6))"); err != nil {
				t.Error(err)
			}
		})
		disarmKill := faultpoint.Arm(faultpoint.FenceAfterKill, func() {
			exec1(t, src, "INSERT INTO app.writes (writer, server_id, at) VALUES ('between kill and lock', @@server_id, NOW(6))")
		})
		_, err := newRunbook(t, sb, sb.Config, nil).Run(ctx)
		disarmRO()
		disarmKill()
		if open != nil {
			open.Close()
		}
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		for _, c := range []struct {
			writer, want string
		}{{"uncommitted", "0"}, {"between kill and lock", "1"}} {
			q := "SELECT COUNT(*) FROM app.writes WHERE writer = '" + c.writer + "'"
			if s, d := query(t, src, q), query(t, dst, q); s != c.want || d != c.want {
				t.Errorf("%s: %s rows on the source, %s on the target, want %s on each", c.writer, s, d, c.want)
			}
		}
		if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
			t.Fatalf("rollback: %v", err)
		}
		onSource(t, sb)
		noneLost(t, sb, sb.Source)
	})

	t.Run("unreachable", func(t *testing.T) {
		// A side switcharoo cannot reach is not a closed side: its own
		// clients may still write there.
		rb := newRunbook(t, sb, sb.Config, nil)
		gone, err := sql.Open("mysql", "root@tcp(127.0.0.1:1)/?timeout=1s")
		if err != nil {
			t.Fatal(err)
		}
		defer gone.Close()
		rb.source.db = gone
		err = rb.checkOnePrimary(ctx)
		var human *HumanError
		if !errors.As(err, &human) || !strings.Contains(err.Error(), "cannot tell whether the source accepts application writes") {
			t.Fatalf("the check with the source unreachable: %v, want the night stopped", err)
		}
	})
}

// A locked account keeps the sessions it had: the one-writable check
// counts them.
func TestLockedAccountSessionsCount(t *testing.T) {
	m := sandboxtest.Start(t)
	root := sandboxtest.DB(t, m, "")
	sandboxtest.Exec(t, root, "CREATE USER app@'%' IDENTIFIED BY 'pw'", "GRANT ALL ON *.* TO app@'%'")
	s := &server{name: "target", db: root, appUsers: []string{"app"}}
	ctx := context.Background()
	app := sandboxtest.DBAs(t, m, "app", "pw")
	if err := app.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	sandboxtest.Exec(t, root, "ALTER USER app@'%' ACCOUNT LOCK")
	if w, err := s.appWritable(ctx); err != nil || !w {
		t.Fatalf("locked account with a live session: writable %v (%v), want true", w, err)
	}
	app.Close()
	waitFor(t, "the session gone", 10*time.Second, func() (bool, string) {
		w, err := s.appWritable(ctx)
		return err == nil && !w, fmt.Sprintf("writable %v (%v)", w, err)
	})
}

// writer writes one row after another until stopped.
type writer struct {
	db     *sql.DB
	stop   func()
	mu     sync.Mutex
	rows   int
	stmt   string
	failed error
}

func startWriter(t *testing.T, db *sql.DB, stmt string) *writer {
	t.Helper()
	w := &writer{db: db, stmt: stmt}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			_, err := db.ExecContext(ctx, stmt)
			w.mu.Lock()
			if err == nil {
				w.rows++
			} else if ctx.Err() == nil {
				w.failed = err
			}
			w.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	w.stop = sync.OnceFunc(func() { cancel(); wg.Wait() })
	t.Cleanup(w.stop)
	return w
}

// waitRows waits until the writer has written n more rows.
func (w *writer) waitRows(t *testing.T, n int) {
	w.mu.Lock()
	target := w.rows + n
	w.mu.Unlock()
	waitFor(t, fmt.Sprintf("%d rows from the writer", n), 10*time.Second, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.rows >= target, fmt.Sprintf("%d rows (%v)", w.rows, w.failed)
	})
}

func abs(t *testing.T, path string) string {
	t.Helper()
	a, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// copyRows copies the rows of table matching where from one server to
// another, outside its binlog (replication must not bring them back).
func copyRows(t *testing.T, from, to *sql.DB, table, where string) {
	t.Helper()
	ctx := context.Background()
	conn, err := to.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION sql_log_bin = 0"); err != nil {
		t.Fatal(err)
	}
	rows, err := from.Query("SELECT id, writer, server_id, at FROM " + table + " WHERE " + where)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, server int64
		var who, at string
		if err := rows.Scan(&id, &who, &server, &at); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO "+table+" (id, writer, server_id, at) VALUES (?, ?, ?, ?)", id, who, server, at); err != nil {
			t.Fatal(err)
		}
	}
}

// The night and its rollback with a target account shaped like Aurora's
// admin user: no SUPER, no CONNECTION ADMIN, no READ_ONLY ADMIN, so the
// target is fenced by locking the application's account, and another
// user's session is killed through a mysql.rds_kill procedure standing in
// for Aurora's. An application session opened on the target before the
// rollback survives an account lock; the rollback must end it.
func TestNightAuroraShapedTarget(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	dst := rootDB(t, sb.Target)
	exec1(t, dst, "CREATE USER admin@'%' IDENTIFIED BY 'aurora-pw'",
		"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, CREATE USER, PROCESS, RELOAD, REPLICATION SLAVE, BINLOG MONITOR, REPLICATION MASTER ADMIN, SHOW DATABASES ON *.* TO admin@'%' WITH GRANT OPTION",
		"CREATE DEFINER = root@localhost PROCEDURE mysql.rds_kill(IN thread BIGINT) SQL SECURITY DEFINER KILL thread",
		"GRANT EXECUTE ON PROCEDURE mysql.rds_kill TO admin@'%'",
		"ALTER USER 'app'@'%' ACCOUNT LOCK", "SET GLOBAL read_only = OFF")
	sb.Config.Cutover.AppUsers = []string{"app"}
	cfg := copyConfig(sb)
	cfg.Target.User, cfg.Target.Password = "admin", secret.New("aurora-pw")
	stopWatch := watchPrimaries(t, sb)
	onSource(t, sb)

	report, err := newRunbook(t, sb, cfg, nil).Run(ctx)
	if err != nil {
		t.Fatalf("run as an Aurora-shaped admin: %v", err)
	}
	checkReport(t, report, "run", "finished", nightSteps)
	onTarget(t, sb)
	// A session of the application's account, open on the target: the
	// account lock alone would leave it writing.
	app, err := sql.Open("mysql", strings.Replace(sb.Target.DSN(""), "root@", "app:"+sb.Config.Checks.SQLProbe.Password.Reveal()+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	session := startWriter(t, app, "INSERT INTO app.writes (writer, server_id, at) VALUES ('long-lived', @@server_id, NOW(6))")
	session.waitRows(t, 3)
	if _, err := newRunbook(t, sb, cfg, nil).Rollback(ctx); err != nil {
		t.Fatalf("rollback as an Aurora-shaped admin: %v", err)
	}
	session.stop()
	onSource(t, sb)
	noneLost(t, sb, sb.Source)
	if n := query(t, rootDB(t, sb.Source), "SELECT COUNT(*) FROM app.writes WHERE writer = 'long-lived'"); n != query(t, dst, "SELECT COUNT(*) FROM app.writes WHERE writer = 'long-lived'") {
		t.Errorf("the long-lived session's rows: %s on the source, %s on the target", n, query(t, dst, "SELECT COUNT(*) FROM app.writes WHERE writer = 'long-lived'"))
	}
	stopWatch()
}
