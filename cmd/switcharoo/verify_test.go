package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// verify's exit codes and JSON contract.
func TestVerifyCommand(t *testing.T) {
	servers := sandboxtest.StartN(t, 2)
	src, dst := servers[0], servers[1]
	for _, m := range servers {
		sandboxtest.Exec(t, sandboxtest.DB(t, m, ""),
			"CREATE DATABASE app",
			"CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))",
			"INSERT INTO app.t SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_500")
	}
	cfg := replicationConfig(t, src, dst)

	var report struct {
		Identical   *bool `json:"identical"`
		Tables      *int  `json:"tables"`
		Rows        *int  `json:"rows"`
		Differences []struct {
			Table string         `json:"table"`
			Kind  string         `json:"kind"`
			Key   map[string]any `json:"key"`
		} `json:"differences"`
	}
	r := runCLI(t, "-c", cfg, "verify", "--output", "json")
	if r.code != 0 {
		t.Fatalf("identical: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || report.Identical == nil || !*report.Identical ||
		*report.Tables != 1 || *report.Rows != 500 || report.Differences == nil {
		t.Fatalf("JSON: %v\n%s", err, r.stdout)
	}

	sandboxtest.Exec(t, sandboxtest.DB(t, dst, ""), "SET SESSION sql_log_bin = 0; DELETE FROM app.t WHERE id = 42")
	r = runCLI(t, "-c", cfg, "verify", "--output", "json", "--workers", "2", "--chunk-rows", "50")
	if r.code != 1 {
		t.Fatalf("differences: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	report.Differences = nil
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil || *report.Identical || len(report.Differences) != 1 {
		t.Fatalf("JSON: %v\n%s", err, r.stdout)
	}
	if d := report.Differences[0]; d.Table != "app.t" || d.Kind != "missing" || d.Key["id"] != float64(42) {
		t.Errorf("difference %+v, want app.t missing id 42", d)
	}

	r = runCLI(t, "-c", cfg, "verify")
	if r.code != 1 || !strings.Contains(r.stdout, "verified 1 tables, 500 rows") || !strings.Contains(r.stdout, "missing   app.t (id=42)") {
		t.Errorf("text summary: exit %d\n%s", r.code, r.stdout)
	}

	for _, args := range [][]string{{"--workers", "0"}, {"--chunk-rows", "0"}, {"--max-rate", "-1"}, {"--output", "xml"}, {"--tables", "nodot"}} {
		r = runCLI(t, append([]string{"-c", cfg, "verify"}, args...)...)
		if r.code != 2 {
			t.Errorf("verify %v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}
