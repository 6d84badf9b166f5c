package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/cockpit"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandbox"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The night through the command line, on a sandbox kept up by `switcharoo
// sandbox up`: plan; run refused for another plan's hash (exit 2); run
// (which starts reverse replication as a process of its own); status;
// rollback (which stops it); resume refused (exit 2); sandbox down.
func TestRunbookCommands(t *testing.T) {
	dir, exited := sandboxUp(t)
	cfg := filepath.Join(dir, "switcharoo.yaml")
	var printed strings.Builder // everything the commands printed, swept for secrets at the end
	run := func(args ...string) result {
		t.Helper()
		r := runBinary(t, args...)
		printed.WriteString(r.stdout + r.stderr)
		return r
	}

	r := run("-c", cfg, "plan", "-o", "json")
	var plan struct {
		Steps []cutover.PlannedStep `json:"steps"`
		Hash  string                `json:"hash"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &plan) != nil || len(plan.Steps) != 13 || len(plan.Hash) != 16 {
		t.Fatalf("plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := run("-c", cfg, "run", "--yes", "--plan-hash", "0123456789abcdef"); r.code != 2 || !strings.Contains(r.stderr, "the plan changed") {
		t.Fatalf("run with another plan's hash: exit %d\n%s", r.code, r.stderr)
	}
	r = run("-c", cfg, "run", "--yes", "--plan-hash", plan.Hash, "-o", "json")
	var report cutover.Report
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &report) != nil || report.Outcome != "finished" {
		t.Fatalf("run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	reverse := reversePID(t, dir)
	if !running(reverse) {
		t.Fatalf("reverse replication (PID %d) is not running after the night", reverse)
	}

	r = run("-c", cfg, "status", "-o", "json")
	var st struct {
		State   string             `json:"state"`
		Runbook *cutover.RunStatus `json:"runbook"`
		Foreign *int64             `json:"old_master_foreign_writes"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || st.Runbook == nil || st.Runbook.State != "finished" ||
		len(st.Runbook.Done) != 13 || st.State != "stopped" {
		t.Fatalf("status after the night: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The write guard of reverse replication reports on the old master;
	// the night's own writes there are not someone else's.
	if st.Foreign == nil || *st.Foreign != 0 {
		t.Errorf("status after the night: old_master_foreign_writes %v, want 0\n%s", st.Foreign, r.stdout)
	}

	r = run("-c", cfg, "rollback")
	if r.code != 0 || !strings.Contains(r.stdout, "rollback "+report.Run+": rolled back") {
		t.Fatalf("rollback: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	waitUntil(t, "reverse replication to exit after the rollback", func() bool { return !running(reverse) })
	if r := run("-c", cfg, "status"); r.code != 0 || !strings.Contains(r.stdout, "rolled back, run "+report.Run) {
		t.Errorf("status after the rollback: exit %d\n%s", r.code, r.stdout)
	}
	if r := run("-c", cfg, "resume", "--yes"); r.code != 2 || !strings.Contains(r.stderr, "no interrupted run") {
		t.Errorf("resume with nothing to resume: exit %d\n%s", r.code, r.stderr)
	}

	// No secret of the night (the application's password, the AWS secret
	// key) in any output, the journal, the reports or the state files.
	secrets := []string{strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "app.pw")))), cutover.SandboxCredentials["AWS_SECRET_ACCESS_KEY"]}
	swept := 0
	err := filepath.WalkDir(filepath.Join(dir, "state"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		printed.WriteString(string(mustRead(t, path)))
		swept++
		return nil
	})
	if err != nil || swept < 3 {
		t.Fatalf("swept %d state files: %v", swept, err)
	}
	for _, secret := range secrets {
		if len(secret) < 8 || strings.Contains(printed.String(), secret) {
			t.Errorf("a secret (%d bytes) shows in the output or the state files", len(secret))
		}
	}

	if r := run("sandbox", "down", "--dir", dir); r.code != 0 {
		t.Fatalf("sandbox down: exit %d\n%s", r.code, r.stderr)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Errorf("sandbox up ended with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("sandbox up still runs a minute after sandbox down")
	}
}

// sandboxUp runs `switcharoo sandbox up` (with flags) in dir until the
// test ends and returns once the sandbox is up; exited receives the
// process's end.
func sandboxUp(t *testing.T, flags ...string) (dir string, exited chan error) {
	t.Helper()
	for k, v := range cutover.SandboxCredentials {
		t.Setenv(k, v)
	}
	bin := sandboxtest.Binary(t)
	dir = t.TempDir()
	upOut, upLog := createFile(t, "up.out"), createFile(t, "up.log")
	up := exec.Command(bin, append([]string{"--log-format", "json", "--log-level", "warn", "sandbox", "up", "--dir", dir}, flags...)...)
	up.Stdout, up.Stderr = upOut, upLog
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	exited = make(chan error, 1)
	go func() { exited <- up.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = up.Process.Signal(syscall.SIGTERM)
			<-exited
		}
		if t.Failed() {
			t.Logf("sandbox up:\n%s\n%s", contents(upOut), contents(upLog))
		}
	})
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(contents(upOut), "The sandbox is up") {
		select {
		case err := <-exited:
			if strings.Contains(contents(upLog), "not installed") && os.Getenv("CI") != "true" {
				t.Skipf("skipping: %s", contents(upLog))
			}
			t.Fatalf("sandbox up exited: %v\n%s", err, contents(upLog))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the sandbox did not come up")
		}
	}
	return dir, exited
}

func createFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func contents(f *os.File) string {
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

func reversePID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "state", "reverse-replicate.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if running(pid) {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	})
	return pid
}

// running reports whether pid is a live switcharoo process (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] != "Z" && strings.Contains(fields[1], "switcharoo")
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Without a terminal to ask on, run, resume and rehearse refuse before
// anything starts unless --yes.
func TestRunNeedsApproval(t *testing.T) {
	for _, command := range []string{"run", "resume", "rehearse"} {
		r := runCLI(t, "-c", filepath.Join(t.TempDir(), "absent.yaml"), command)
		if r.code != 2 || !strings.Contains(r.stderr, "stdin is not a terminal: pass --yes") {
			t.Errorf("%s without --yes: exit %d\n%s", command, r.code, r.stderr)
		}
	}
}

// The README's first command: the whole night on a sandbox of its own,
// nothing lost, the measured unavailability and the report printed.
func TestDemo(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // the demo's directory goes with the test
	r := runBinary(t, "--log-level", "warn", "demo")
	if r.code != 0 && strings.Contains(r.stderr, "not installed") && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %s", r.stderr)
	}
	if r.code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{": finished", "write unavailability: ", "report: ", "; 0 missing on the new primary."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo's output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// The orchestrator SIGKILLed at random moments of the night, several
// times, then resumed each time: the night finishes, and the status says
// every step is done.
func TestRunSurvivesSIGKILL(t *testing.T) {
	dir, _ := sandboxUp(t)
	cfg := filepath.Join(dir, "switcharoo.yaml")
	conf, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	source, target := rootDSN(conf.Source), rootDSN(conf.Target)
	twoPrimaries := watchOnePrimary(t, source, target)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 4))
	// The next command: resume a night in progress, else run one (a run
	// killed in its preflight has journaled nothing yet).
	status := func() *cutover.RunStatus {
		t.Helper()
		r := runBinary(t, "-c", cfg, "status", "-o", "json")
		var st struct {
			Runbook *cutover.RunStatus `json:"runbook"`
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || st.Runbook == nil {
			t.Fatalf("status: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		return st.Runbook
	}
	next := func() string {
		if status().State == "in progress" {
			return "resume"
		}
		return "run"
	}
	killed, reported := 0, false
	for range 8 {
		if status().State == "finished" {
			break // killed after the night's last journal entry, before it exited
		}
		command := next()
		p := startBinary(t, "--log-format", "json", "-c", cfg, command, "--yes")
		// At a random moment of the night.
		ended, err := p.killAfter(t, time.Duration(300+rng.IntN(1500))*time.Millisecond)
		if !ended {
			killed++
			continue
		}
		if err != nil {
			t.Fatalf("%s ended with %v before it was killed\n%s", command, err, p.stderr.String())
		}
		t.Logf("the night finished after %d SIGKILLs", killed)
		reported = true
		break
	}
	if st := status(); st.State != "finished" {
		if r := runBinary(t, "-c", cfg, next(), "--yes"); r.code != 0 {
			t.Fatalf("the last command: exit %d\n%s", r.code, r.stderr)
		}
		reported = true
	}
	st := status()
	if st.State != "finished" || len(st.Done) != 13 {
		t.Fatalf("status after %d SIGKILLs and resume: %+v", killed, st)
	}
	// The report of the process that finished the night covers all of
	// it: every step, and the switch the probe saw, before the kills too.
	// (A process killed after it journaled the end wrote none.)
	if reported {
		var report cutover.Report
		if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "state", "reports", st.Run+"-run.json")), &report); err != nil {
			t.Fatal(err)
		}
		if len(report.Steps) < 13 || report.Writes == nil || report.Writes.WindowMS <= 0 {
			t.Errorf("the report after %d SIGKILLs covers %d steps, write unavailability %+v: want the whole night", killed, len(report.Steps), report.Writes)
		}
	}
	if killed == 0 {
		t.Error("the night was never killed")
	}
	t.Logf("%d SIGKILLs", killed)
	sandboxtest.Count(t, "switcharoo run/resume SIGKILLed mid-night", int64(killed))

	// Then the rollback (a second or two), killed at random moments, taken
	// up again.
	killed = 0
	for range 5 {
		p := startBinary(t, "--log-format", "json", "-c", cfg, "rollback")
		ended, err := p.killAfter(t, time.Duration(100+rng.IntN(700))*time.Millisecond)
		if !ended {
			killed++
			continue
		}
		if err != nil {
			t.Fatalf("rollback ended with %v before it was killed\n%s", err, p.stderr.String())
		}
		break
	}
	if st := status(); st.State != "rolled back" {
		if r := runBinary(t, "-c", cfg, "rollback"); r.code != 0 {
			t.Fatalf("the last rollback: exit %d\n%s", r.code, r.stderr)
		}
	}
	if st := status(); st.State != "rolled back" {
		t.Fatalf("status after %d SIGKILLs of the rollback: %+v", killed, st)
	}
	t.Logf("the rollback SIGKILLed %d times", killed)
	sandboxtest.Count(t, "switcharoo rollback SIGKILLed", int64(killed))
	if n := twoPrimaries(); n > 0 {
		t.Errorf("both servers took application writes at once %d times", n)
	}
	waitUntil(t, "every acknowledged write on the source", func() bool {
		lost, acked, err := sandbox.LostWrites(context.Background(), filepath.Join(dir, "acked-writes"), source)
		if err == nil && len(lost) == 0 && acked > 0 {
			sandboxtest.Count(t, "acknowledged application writes checked", int64(acked))
			return true
		}
		return false
	})
}

// rootDSN is a sandbox server's root account.
func rootDSN(e config.Endpoint) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr = "root", "tcp", net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
	return c.FormatDSN()
}

// watchOnePrimary polls read_only on both servers until the test ends;
// the returned function stops it and says how often both were writable.
// Each look reads the source, the target, then the source again: a
// switch between the reads is not taken for two primaries.
func watchOnePrimary(t *testing.T, source, target string) func() int {
	t.Helper()
	open := func(dsn string) *sql.DB {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	src, dst := open(source), open(target)
	writable := func(db *sql.DB) bool {
		var ro int
		return db.QueryRow("SELECT @@global.read_only").Scan(&ro) == nil && ro == 0
	}
	var stop atomic.Bool
	var both atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			if writable(src) && writable(dst) && writable(src) {
				both.Add(1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	stopped := func() int {
		if stop.CompareAndSwap(false, true) {
			<-done
		}
		return int(both.Load())
	}
	t.Cleanup(func() { stopped() })
	return stopped
}

// The night with --http: the cockpit serves the runbook's steps as they
// go, replication's status, the probe's writes and the log, and the
// metrics; the log it shows holds no secret.
func TestCockpitDuringTheNight(t *testing.T) {
	dir, _ := sandboxUp(t)
	cfg := filepath.Join(dir, "switcharoo.yaml")
	addr := freeAddr(t)
	p := startBinary(t, "--log-format", "json", "-c", cfg, "run", "--yes", "--http", addr)
	var seen cockpit.State
	steps := map[string]bool{}
	p.waitFor(t, "the cockpit to show the night's steps under way and done", 2*time.Minute, func() bool {
		res, err := http.Get("http://" + addr + "/api/state")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var st cockpit.State
		if json.NewDecoder(res.Body).Decode(&st) != nil {
			return false
		}
		seen = st
		for _, s := range st.Steps {
			if s.State == cockpit.StepRunning || s.State == cockpit.StepDone {
				steps[s.Name] = true
			}
		}
		return st.Command == "run" && len(st.Steps) == 13 && st.Replication != nil && len(st.Probe) > 0 && len(st.Log) > 0 && steps["fence-source"]
	})
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`switcharoo_step_duration_seconds{command="run",outcome="done",step="preflight"}`, `switcharoo_replication_lag_seconds{command="run"}`, `switcharoo_probe_writes_total{command="run"`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("run --http: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the night did not end")
	}
	pw := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "app.pw"))))
	if b, _ := json.Marshal(seen); strings.Contains(string(b), pw) || strings.Contains(string(metrics), pw) {
		t.Error("the cockpit shows the application's password")
	}
}

// The night's exit codes through the binary, as docs/cli.md lists them: a
// deploy that fails before the point of no return is undone (3); after it
// (the swap first, cutover.dns_swap: before-deploy) the night stops for a
// person (4), resume finishes it once fixed (0), rollback brings it back
// (0). The seed's night (stop-all), where the swap may come either side.
func TestRunExitCodes(t *testing.T) {
	dir, _ := sandboxUp(t, "--stop-all")
	good := filepath.Join(dir, "switcharoo.yaml")
	conf := string(mustRead(t, good))
	deployEnv := regexp.MustCompile(`environment: \[\{name: DB_HOST, value: ([0-9.]+)\}\]`)
	if !deployEnv.MatchString(conf) {
		t.Fatalf("the sandbox's deploy action changed; this test edits it:\n%s", conf)
	}
	broken := deployEnv.ReplaceAllString(conf, "environment: [{name: DB_HOST, value: $1}, {name: DB_PORT, value: not-a-port}]")
	brokenPath := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(brokenPath, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runBinary(t, "-c", brokenPath, "run", "--yes", "-o", "json"); r.code != 3 || !strings.Contains(r.stdout, `"outcome": "undone"`) {
		t.Fatalf("run with a deploy that fails: exit %d, want 3 (undone)\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Setenv("SWITCHAROO_CUTOVER_DNS_SWAP", "before-deploy")
	if r := runBinary(t, "-c", brokenPath, "run", "--yes", "-o", "json"); r.code != 4 || !strings.Contains(r.stdout, `"outcome": "failed after the point of no return"`) {
		t.Fatalf("run with a deploy that fails after the swap: exit %d, want 4\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runBinary(t, "-c", good, "resume", "--yes"); r.code != 0 {
		t.Fatalf("resume once fixed: exit %d\n%s", r.code, r.stderr)
	}
	if r := runBinary(t, "-c", good, "rollback"); r.code != 0 {
		t.Fatalf("rollback: exit %d\n%s", r.code, r.stderr)
	}
}
