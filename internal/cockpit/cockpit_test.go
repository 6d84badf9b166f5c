package cockpit

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/secret"
)

// night is a board in the middle of a night: the fence done, the final
// verify under way, replication caught up, the probe refused.
func night(t *testing.T) *Board {
	t.Helper()
	b := NewBoard("run")
	b.Plan([]string{"preflight", "stop-app", "fence-source", "catch-up", "verify", "stop-replication", "dns-swap"})
	for _, s := range []string{"preflight", "stop-app", "fence-source", "catch-up"} {
		b.StepStarted(s, false)
		b.StepEnded(s, false, nil)
	}
	b.StepStarted("verify", false)
	for i := range 60 { // ten minutes of lag history, a bump in the middle
		b.state.Lag = append(b.state.Lag, LagPoint{At: time.Now().Add(time.Duration(i-60) * 10 * time.Second), LagMillis: int64(200 + 1800*max(0, 10-abs(i-30))/10)})
	}
	b.Replicated(Replication{State: "streaming", LagMillis: 1500, RowsPerSecond: 8123, Transactions: 42, RowChanges: 4200, Divergences: 2, Position: "binlog.000007:1234", BinlogBytesRead: 3 << 20})
	b.Verified(250_000, 400_000)
	at := time.Now().Add(-2 * time.Second)
	for i := range 20 {
		id := uint32(1)
		if i >= 10 {
			id = 0
		}
		b.Probed(at.Add(time.Duration(i)*50*time.Millisecond), id)
	}
	if _, err := io.WriteString(b, "{\"level\":\"info\",\"message\":\"source fenced\"}\n{\"level\":\"info\",\"message\":\"caught up\"}\npartial"); err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(t *testing.T, token string, b *Board) *Server {
	t.Helper()
	s, err := Serve("127.0.0.1:0", secret.New(token), b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// The state as the page reads it, and the same facts as Prometheus
// metrics.
func TestStateAndMetrics(t *testing.T) {
	s := serve(t, "", night(t))
	code, body := get(t, "http://"+s.Addr+"/api/state", "")
	var st State
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET /api/state: %d\n%s", code, body)
	}
	if st.Command != "run" || len(st.Steps) != 7 || st.Steps[3].State != StepDone || st.Steps[4].State != StepRunning || st.Steps[5].State != StepPending {
		t.Errorf("steps: %+v", st.Steps)
	}
	if st.Replication == nil || st.Replication.LagMillis != 1500 || len(st.Lag) != 61 || st.Verify == nil || st.Verify.Done != 250_000 {
		t.Errorf("replication %+v, lag %v, verify %+v", st.Replication, st.Lag, st.Verify)
	}
	if len(st.Probe) != 20 || len(st.Log) != 2 || st.Log[1] != `{"level":"info","message":"caught up"}` {
		t.Errorf("probe %d writes, log %q", len(st.Probe), st.Log)
	}

	code, body = get(t, "http://"+s.Addr+"/metrics", "")
	for _, want := range []string{
		`switcharoo_replication_lag_seconds{command="run"} 1.5`,
		`switcharoo_replication_rows_per_second{command="run"} 8123`,
		`switcharoo_replication_transactions_applied{command="run"} 42`,
		`switcharoo_replication_divergences{command="run"} 2`,
		`switcharoo_replication_state{command="run",state="streaming"} 1`,
		`switcharoo_verify_rows_done{command="run"} 250000`,
		`switcharoo_verify_rows_total{command="run"} 400000`,
		`switcharoo_step_state{command="run",state="running",step="verify"} 1`,
		`switcharoo_step_state{command="run",state="done",step="fence-source"} 1`,
		`switcharoo_step_duration_seconds{command="run",outcome="done",step="catch-up"}`,
		`switcharoo_probe_writes_total{command="run",server_id="0"} 10`,
		`switcharoo_probe_writes_total{command="run",server_id="1"} 10`,
		`switcharoo_replication_binlog_bytes_read_total{command="run"} 3.145728e+06`,
	} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET /metrics (%d) lacks %s", code, want)
		}
	}
}

// Beyond loopback a token is required, and then every request for data
// must bear it; the page itself, which holds none, loads without it.
func TestToken(t *testing.T) {
	if _, err := Serve("0.0.0.0:0", secret.Value{}, NewBoard("replicate")); err == nil || !strings.Contains(err.Error(), TokenEnv) {
		t.Fatalf("serving beyond loopback without a token: %v, want a refusal naming %s", err, TokenEnv)
	}
	const token = "cockpit-test-token-7f3a"
	s := serve(t, token, night(t))
	for _, path := range []string{"/api/state", "/metrics"} {
		if code, body := get(t, "http://"+s.Addr+path, ""); code != http.StatusUnauthorized || strings.Contains(body, "caught up") {
			t.Errorf("GET %s without the token: %d %s", path, code, body)
		}
		if code, _ := get(t, "http://"+s.Addr+path, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d", path, code)
		}
		if code, _ := get(t, "http://"+s.Addr+path, token); code != http.StatusOK {
			t.Errorf("GET %s with the token: %d", path, code)
		}
	}
	if code, body := get(t, "http://"+s.Addr+"/", ""); code != http.StatusOK || !strings.Contains(body, "app.js") {
		t.Errorf("GET / without the token: %d", code)
	}
}

// The lag chart keeps 15 minutes; the log keeps its last lines.
func TestBounds(t *testing.T) {
	b := NewBoard("replicate")
	b.state.Lag = append(b.state.Lag, LagPoint{At: time.Now().Add(-16 * time.Minute), LagMillis: 9})
	b.Replicated(Replication{State: "streaming", LagMillis: 3})
	for range maxLogLines + 50 {
		if _, err := io.WriteString(b, "line\n"); err != nil {
			t.Fatal(err)
		}
	}
	st := b.Snapshot()
	if len(st.Lag) != 1 || st.Lag[0].LagMillis != 3 || len(st.Log) != maxLogLines {
		t.Errorf("lag %v, %d log lines", st.Lag, len(st.Log))
	}
	var nilBoard *Board
	nilBoard.StepStarted("x", false) // the cockpit off: calls are ignored
	if n, err := nilBoard.Write([]byte("x")); n != 1 || !errors.Is(err, nil) {
		t.Errorf("nil board write: %d, %v", n, err)
	}
}

func abs(n int) int { return max(n, -n) }
