package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandbox"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// replicationConfig writes a config for replicating app from src to dst,
// with extra replication settings ("workers: 1", ...).
func replicationConfig(t *testing.T, src, dst *sandbox.MariaDB, extra ...string) string {
	var settings strings.Builder
	for _, s := range extra {
		settings.WriteString("  " + s + "\n")
	}
	return writeFile(t, "switcharoo.yaml", fmt.Sprintf(`
source: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}
target: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}
replication:
  server_id: 777
  databases: [app]
  heartbeat: 200ms
  stall_timeout: 5s
%s`, src.Port, dst.Port, settings.String()))
}

func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(sandboxtest.Binary(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// The commands end to end: a copy with --until-caught-up, a long-running
// replicate that applies a large transaction and reports through status,
// a clean stop on SIGTERM, and a refusal with exit code 2.
func TestReplicateCommand(t *testing.T) {
	servers := sandboxtest.StartN(t, 2)
	src, dst := servers[0], servers[1]
	srcDB := sandboxtest.DB(t, src, "")
	sandboxtest.Exec(t, srcDB,
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL)",
		"INSERT INTO app.t SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_1000",
	)
	cfg := replicationConfig(t, src, dst)

	r := runBinary(t, "-c", cfg, "replicate", "--until-caught-up")
	if r.code != 0 {
		t.Fatalf("replicate --until-caught-up: exit %d\n%s", r.code, r.stderr)
	}
	dstDB := sandboxtest.DB(t, dst, "")
	if n := count(t, dstDB, "SELECT COUNT(*) FROM app.t"); n != 1000 {
		t.Fatalf("target has %d rows after --until-caught-up, want 1000", n)
	}

	// The long-running replicate serves its cockpit too.
	cockpitAddr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(sandboxtest.Binary(t), "-c", cfg, "replicate", "--http", cockpitAddr)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})

	// One source transaction of 50,000 rows, about 5 MB: applied in one
	// target transaction, in bounded pieces.
	sandboxtest.Exec(t, srcDB, "INSERT INTO app.t SELECT seq, REPEAT('x', 100) FROM mysql.seq_1001_to_51000")
	var st struct {
		State      string `json:"state"`
		LagMillis  *int64 `json:"lag_ms"`
		Checkpoint struct {
			File string  `json:"file"`
			Pos  *uint32 `json:"pos"`
			GTID *string `json:"gtid"`
		} `json:"checkpoint"`
		Copy struct {
			RowsDone  *int64 `json:"rows_done"`
			RowsTotal *int64 `json:"rows_total"`
		} `json:"copy"`
	}
	deadline := time.Now().Add(time.Minute)
	for {
		r := runBinary(t, "-c", cfg, "status", "--output", "json")
		if r.code != 0 {
			t.Fatalf("status: exit %d: %s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("status --output json: %v\n%s", err, r.stdout)
		}
		if st.State == "streaming" && count(t, dstDB, "SELECT COUNT(*) FROM app.t") == 51000 {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("replicate exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not caught up; last status %+v\n%s", st, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.LagMillis == nil || st.Checkpoint.File == "" || st.Checkpoint.Pos == nil || st.Checkpoint.GTID == nil ||
		st.Copy.RowsDone == nil || st.Copy.RowsTotal == nil {
		t.Errorf("status JSON lacks fields of the contract: %+v", st)
	}
	// Its metrics: the 5 MB transaction was read from the binlog and applied.
	bytesRead := regexp.MustCompile(`switcharoo_replication_binlog_bytes_read_total\{command="replicate"\} ([0-9.e+]+)`)
	waitUntil(t, "the cockpit's metrics to count the binlog read and the rows applied", func() bool {
		res, err := http.Get("http://" + cockpitAddr + "/metrics")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		m := bytesRead.FindSubmatch(body)
		read, _ := strconv.ParseFloat(string(m1(m)), 64)
		return read > 5e6 && bytes.Contains(body, []byte(`switcharoo_replication_state{command="replicate",state="streaming"} 1`)) &&
			regexp.MustCompile(`switcharoo_replication_row_changes_applied\{command="replicate"\} [1-9]`).Match(body)
	})

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("replicate after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("replicate did not stop within 30s of SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "stopped at a transaction boundary") {
		t.Errorf("no clean-stop message in the log:\n%s", logs.String())
	}
	r = runBinary(t, "-c", cfg, "status", "--output", "json")
	if !strings.Contains(r.stdout, `"state": "stopped"`) {
		t.Errorf("status after the stop:\n%s", r.stdout)
	}

	// Refusals exit 2 with one clear message.
	sandboxtest.Exec(t, srcDB, "SET GLOBAL binlog_format = 'STATEMENT'")
	defer sandboxtest.Exec(t, srcDB, "SET GLOBAL binlog_format = 'ROW'")
	r = runBinary(t, "-c", cfg, "replicate")
	if r.code != 2 || !strings.Contains(r.stderr, "switcharoo: preflight: source: binlog_format is STATEMENT") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// m1 is a regexp match's first group, or nothing.
func m1(m [][]byte) []byte {
	if len(m) < 2 {
		return nil
	}
	return m[1]
}
