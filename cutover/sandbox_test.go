package cutover

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/deploy"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandbox"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The helpers of the runbook's tests: a sandbox per test (two MariaDB
// servers, the Route 53 and ECS/EventBridge emulators, a web service and a
// cron job writing through db.example.test, the replicator), and what the
// tests observe of it.

func testLogger(t *testing.T) zerolog.Logger {
	level := zerolog.WarnLevel
	if os.Getenv("SWITCHAROO_TEST_LOG") != "" {
		level = zerolog.DebugLevel
	}
	return zerolog.New(zerolog.NewTestWriter(t)).Level(level).With().Timestamp().Logger()
}

// startSandbox starts a sandbox for t, stopped when t ends.
// startSandbox starts a sandbox shaped as the seed's night (stop-all, the
// swap after the redeploy), which most tests were written for; the
// keep-serving shape has tests of its own (keepserving_test.go).
func startSandbox(t *testing.T) *Sandbox {
	t.Helper()
	return startSandboxWith(t, sandbox.EnvOptions{StopAll: true})
}

// startSandboxWith starts a sandbox shaped by o (its Dir and Binary are
// the test's).
func startSandboxWith(t *testing.T, o sandbox.EnvOptions) *Sandbox {
	t.Helper()
	for k, v := range SandboxCredentials {
		t.Setenv(k, v)
	}
	o.Dir, o.Binary = t.TempDir(), sandboxtest.Binary(t)
	sb, err := StartSandbox(context.Background(), o, testLogger(t))
	if err != nil {
		sandboxtest.SkipIfNotInstalled(t, err)
		t.Fatalf("start the sandbox: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logTasks(t, sb.Dir)
		}
		closeRootDBs(sb)
		sb.Stop()
	})
	return sb
}

// logTasks logs the tail of the emulated tasks' output.
func logTasks(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "tasks", "*"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("%s:\n%s", filepath.Base(l), strings.Join(lines[max(0, len(lines)-5):], "\n"))
	}
}

// newRunbook makes a runbook for cfg in sb, closed when t ends.
func newRunbook(t *testing.T, sb *Sandbox, cfg *config.Config, hook func(string, hookPoint) bool) *Runbook {
	t.Helper()
	rb, err := New(context.Background(), cfg, testLogger(t), Options{Yes: true, StartReverse: sb.StartReverse})
	if err != nil {
		t.Fatal(err)
	}
	rb.hook = hook
	t.Cleanup(func() { rb.Close() })
	return rb
}

// rootDBs are the tests' pools to the sandboxes' servers, one per server,
// closed when its sandbox stops.
var (
	rootMu  sync.Mutex
	rootDBs = map[*sandbox.MariaDB]*sql.DB{}
)

// rootDB returns the pool to m, as root.
func rootDB(t *testing.T, m *sandbox.MariaDB) *sql.DB {
	t.Helper()
	rootMu.Lock()
	defer rootMu.Unlock()
	if db, ok := rootDBs[m]; ok {
		return db
	}
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	rootDBs[m] = db
	return db
}

func closeRootDBs(sb *Sandbox) {
	rootMu.Lock()
	defer rootMu.Unlock()
	for _, m := range []*sandbox.MariaDB{sb.Source, sb.Target} {
		if db, ok := rootDBs[m]; ok {
			db.Close()
			delete(rootDBs, m)
		}
	}
}

func query(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var v sql.NullString
	if err := db.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

func exec1(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// waitFor polls cond until it holds, or fails t after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s; last state: %s", timeout, what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// world is what a person would look at to know where the application
// runs: the servers' fences, the replicators, DNS, the application; and
// the data only the night's steps would change.
type world struct {
	// SourceOpen, TargetOpen: whether the application may write there
	// (read_only off and, with cutover.app_users, its accounts unlocked).
	SourceOpen, TargetOpen bool
	ForwardCommand         string
	DNS                    string
	App                    string
	Cron                   string
	// Data: checksums of the sample tables no writer touches, on both
	// sides, and the probe's rows on the source; filled by snapshot.
	Data string
}

func observe(t *testing.T, sb *Sandbox) world {
	t.Helper()
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)
	var w world
	w.SourceOpen, w.TargetOpen = appWritable(t, sb.sourceServer(src)), appWritable(t, sb.targetServer(dst))
	w.ForwardCommand = query(t, dst, "SELECT command FROM _switcharoo.control WHERE id = 1")
	var recs []string
	for _, r := range sb.Route53.Records(sb.Config.DNS.Route53.HostedZoneID) {
		recs = append(recs, fmt.Sprintf("%s %s %d %v", r.Name, r.Type, r.TTL, r.Values))
	}
	sort.Strings(recs)
	w.DNS = strings.Join(recs, "; ")
	r, err := deploy.New(context.Background(), sb.Config, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var app []string
	for _, s := range st {
		app = append(app, s.Resource+": "+s.State)
	}
	w.App = strings.Join(app, "; ")
	w.Cron = sb.AWS.RuleState("cron")
	return w
}

// snapshot is the world with its Data, for comparing before and after a
// command that must change nothing. (observe leaves Data out: the tests
// that wait on it lock tables the checksums would wait for.)
func snapshot(t *testing.T, sb *Sandbox) world {
	t.Helper()
	w := observe(t, sb)
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)
	w.Data = strings.Join([]string{checksums(t, src), checksums(t, dst), query(t, src, "SELECT COUNT(*) FROM _switcharoo.probe")}, "; ")
	return w
}

func checksums(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query("CHECKSUM TABLE app.customers, app.orders")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var table string
		var sum sql.NullInt64
		if err := rows.Scan(&table, &sum); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", table, sum.Int64))
	}
	return strings.Join(out, ",")
}

// onSource is the world before the night, and after an undo or rollback:
// the source takes the writes, the target is fenced, DNS names the source,
// the web service runs its first revision with both tasks, cron is on,
// forward replication streams with little lag.
func onSource(t *testing.T, sb *Sandbox) {
	t.Helper()
	waitFor(t, "the application back on the source", time.Minute, func() (bool, string) {
		w := observe(t, sb)
		ok := w.SourceOpen && !w.TargetOpen && strings.Contains(w.DNS, "[127.0.0.2]") &&
			strings.Contains(w.App, "web:1, 2 desired, 2 running") && w.Cron == "ENABLED"
		return ok, fmt.Sprintf("%+v", w)
	})
	writesLand(t, sb, sb.Source)
	waitFor(t, "forward replication streaming again, caught up", time.Minute, func() (bool, string) {
		st := forwardStatus(t, sb)
		return st.State == binlog.StateStreaming && time.Duration(st.LagMillis)*time.Millisecond < sb.Config.Cutover.MaxLag,
			fmt.Sprintf("%s, lag %d ms", st.State, st.LagMillis)
	})
}

// onTarget is the world after the night: the web service runs a new
// revision (with DB_HOST naming the target).
func onTarget(t *testing.T, sb *Sandbox) {
	t.Helper()
	w := observe(t, sb)
	if w.SourceOpen || !w.TargetOpen || !strings.Contains(w.DNS, "[127.0.0.3]") ||
		strings.Contains(w.App, "web:1,") || !strings.Contains(w.App, ", 2 desired, 2 running") || w.Cron != "ENABLED" {
		t.Fatalf("after the night: %+v", w)
	}
	writesLand(t, sb, sb.Target)
}

// writesLand waits until the sample application's writers have written
// more rows on m, as m's own server.
func writesLand(t *testing.T, sb *Sandbox, m *sandbox.MariaDB) {
	t.Helper()
	db := rootDB(t, m)
	count := func() string {
		return query(t, db, "SELECT COUNT(*) FROM app.writes WHERE server_id = @@server_id")
	}
	before := count()
	waitFor(t, fmt.Sprintf("new application writes on server %d", m.ServerID), time.Minute, func() (bool, string) {
		n := count()
		return n != before, n + " rows"
	})
}

// noneLost checks that every write the application saw acknowledged is
// on m, polling while replication brings the last ones.
func noneLost(t *testing.T, sb *Sandbox, m *sandbox.MariaDB) {
	t.Helper()
	waitFor(t, fmt.Sprintf("every acknowledged write on server %d", m.ServerID), time.Minute, func() (bool, string) {
		lost, acked, err := sb.LostWrites(context.Background(), m)
		if err != nil {
			return false, err.Error()
		}
		ok := len(lost) == 0 && acked > 0
		if ok {
			sandboxtest.Count(t, "acknowledged application writes checked", int64(acked))
		}
		return ok, fmt.Sprintf("%d acknowledged, %d missing: %v", acked, len(lost), lost[:min(len(lost), 10)])
	})
}

// The servers as the runbook sees them: the target fenced by locking
// cutover.app_users when they are set.
func (sb *Sandbox) sourceServer(db *sql.DB) *server { return &server{name: "source", db: db} }
func (sb *Sandbox) targetServer(db *sql.DB) *server {
	return &server{name: "target", db: db, appUsers: sb.Config.Cutover.AppUsers}
}

func appWritable(t *testing.T, s *server) bool {
	t.Helper()
	w, err := s.appWritable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// watchPrimaries asserts, until t ends, that at no moment do both servers
// accept application writes. The returned function stops the watch and
// reports how many times it looked.
func watchPrimaries(t *testing.T, sb *Sandbox) func() int {
	t.Helper()
	src, dst := sb.sourceServer(rootDB(t, sb.Source)), sb.targetServer(rootDB(t, sb.Target))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var looks int
	var both []string
	wg.Go(func() {
		for ctx.Err() == nil {
			// The two reads are not one instant: the source is read again
			// after the target, so that a look spanning the switch (the
			// source open before the fence, the target open after it)
			// is not taken for both open at once.
			s, errS := src.appWritable(ctx)
			d, errD := dst.appOpen(ctx)
			again, errS2 := src.appWritable(ctx)
			if errS == nil && errD == nil && errS2 == nil {
				looks++
				if s && d != "" && again {
					both = append(both, time.Now().Format("15:04:05.000")+" (target: "+d+")")
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	stop := func() int {
		cancel()
		wg.Wait()
		if len(both) > 0 {
			t.Errorf("both servers accepted application writes at %v", both)
		}
		return looks
	}
	t.Cleanup(func() { stop() })
	return stop
}

// forwardStatus reads the forward replicator's status on the target.
func forwardStatus(t *testing.T, sb *Sandbox) *binlog.Status {
	t.Helper()
	st, err := binlog.ReadStatus(context.Background(), rootDB(t, sb.Target), sb.Config.Replication.CheckpointSchema)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// copyConfig is a deep enough copy of the sandbox's configuration for a
// test to change a section.
func copyConfig(sb *Sandbox) *config.Config {
	c := *sb.Config
	c.App.Deploy = append([]config.Action(nil), c.App.Deploy...)
	for i := range c.App.Deploy {
		c.App.Deploy[i].Environment = append([]config.EnvVar(nil), c.App.Deploy[i].Environment...)
	}
	c.Checks.HTTP = append([]config.HTTPCheck(nil), c.Checks.HTTP...)
	return &c
}
