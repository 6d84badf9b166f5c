package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/faultpoint"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// replicate is paused (SIGSTOP) at the moment a batch is about to commit,
// and raced there (#23.1): a second replicator tries to start, and every
// connection the paused one has on the target is killed under it. The
// second is refused; the first, continued, finds its batch gone, resumes
// from its checkpoint, and the target ends identical.
func TestPausePoints(t *testing.T) {
	servers := sandboxtest.StartN(t, 2)
	src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
	sandboxtest.Exec(t, src, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, v INT)", "INSERT INTO app.t VALUES (1, 1)")
	config := replicationConfig(t, servers[0], servers[1])
	first := startBinary(t, "-c", config, "replicate")
	first.waitFor(t, "a caught-up stream", time.Minute, caughtUp(src, dst))
	first.cmd.Process.Kill()
	<-first.exited

	paused := startBinaryEnv(t, []string{faultpoint.Env + "=" + faultpoint.BeforeBatchCommit + ":pause"}, "-c", config, "replicate")
	defer func() {
		paused.cmd.Process.Kill()
		<-paused.exited
	}()
	sandboxtest.Exec(t, src, "INSERT INTO app.t VALUES (2, 2), (3, 3)", "UPDATE app.t SET v = v + 10 WHERE id = 1")
	paused.waitFor(t, "replicate paused before a batch's commit", time.Minute, func() bool { return stopped(t, paused.cmd.Process.Pid) })

	second := runBinary(t, "-c", config, "replicate", "--until-caught-up")
	// Refused by whichever check meets it first: its server_id is in use
	// on the source, or the target's named lock is held.
	if second.code != 2 || !strings.Contains(second.stderr, "stop the other replicate") && !strings.Contains(second.stderr, "another switcharoo replicate is running against this target") {
		t.Fatalf("a second replicator while the first is paused: exit %d\n%s", second.code, second.stderr)
	}
	killed := 0
	for _, id := range sandboxtest.Text(t, dst, "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = 'root' AND COMMAND <> 'Daemon'") {
		if _, err := dst.Exec("KILL CONNECTION " + id); err == nil {
			killed++
		} else if !strings.Contains(err.Error(), "Unknown thread id") { // one just closed
			t.Fatal(err)
		}
	}
	if killed == 0 {
		t.Fatal("the paused replicator has no connection on the target")
	}
	// Continued, it pauses again at each later batch: let it go each time
	// until it has caught up.
	done := caughtUp(src, dst)
	paused.waitFor(t, "replicate caught up after its connections were killed", time.Minute, func() bool {
		if stopped(t, paused.cmd.Process.Pid) {
			_ = paused.cmd.Process.Signal(syscall.SIGCONT)
		}
		return done()
	})
	q := "SELECT * FROM app.t ORDER BY id"
	if want, got := sandboxtest.Dump(t, src, q), sandboxtest.Dump(t, dst, q); !slices.Equal(want, got) {
		t.Errorf("app.t differs: source %v, target %v", want, got)
	}
}

// stopped reports whether the process is stopped by a signal.
func stopped(t *testing.T, pid int) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "T"
}
