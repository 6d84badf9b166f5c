package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The dns commands end to end against a real BIND 9.
func TestDNSCommands(t *testing.T) {
	b := sandboxtest.StartBIND(t, "example.test", "db 3600 IN CNAME old-db.example.test.")
	t.Setenv("TSIG_SECRET", b.Secret)
	cfg := writeFile(t, "switcharoo.yaml", minimal+fmt.Sprintf(`state_dir: %s
dns:
  provider: rfc2136
  zone: example.test
  cutover_ttl: 30
  propagation_timeout: 10s
  nameservers: ['%s']
  resolver: '%s'
  rfc2136: {server: '%s', tsig_name: %s, tsig_algorithm: %s, tsig_secret_env: TSIG_SECRET}
  records:
    - {name: db, type: CNAME, target: new-db.example.test.}
`, t.TempDir(), b.Addr(), b.Addr(), b.Addr(), b.KeyName, b.Algorithm))

	r := runCLI(t, "-c", cfg, "dns", "plan")
	if r.code != 0 || r.stdout != "db.example.test. CNAME: old-db.example.test. → new-db.example.test. (TTL 3600)\n" {
		t.Fatalf("plan: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "-c", cfg, "dns", "swap")
	if r.code != 2 || !strings.Contains(r.stderr, "was never lowered") {
		t.Fatalf("swap before lower-ttl: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, "-c", cfg, "dns", "lower-ttl")
	if r.code != 0 || !strings.Contains(r.stdout, "db.example.test. CNAME: TTL 3600 → 30; swap allowed from") {
		t.Fatalf("lower-ttl: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "-c", cfg, "dns", "swap")
	if r.code != 2 || !strings.Contains(r.stderr, "was lowered from 3600s at") || !strings.Contains(r.stderr, "from now: wait, or pass --force") {
		t.Fatalf("swap before the old TTL expired: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, "-c", cfg, "dns", "swap", "--force")
	if r.code != 0 || !strings.Contains(r.stdout, "at "+b.Addr()+": answers new-db.example.test. after") || !strings.Contains(r.stdout, "TTL read before the change: db.example.test. CNAME 30s\n") {
		t.Fatalf("swap --force: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "-c", cfg, "dns", "status", "--output", "json")
	var status []struct {
		Current struct {
			Name   string   `json:"name"`
			Type   string   `json:"type"`
			TTL    int      `json:"ttl"`
			Values []string `json:"values"`
		} `json:"current"`
		PointsAt string `json:"points_at"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &status); err != nil || len(status) != 1 {
		t.Fatalf("status JSON: %v\n%s", err, r.stdout)
	}
	if s := status[0]; s.Current.Values[0] != "new-db.example.test." || s.Current.TTL != 30 || s.PointsAt != "target" {
		t.Errorf("status: %+v", s)
	}
	r = runCLI(t, "-c", cfg, "dns", "swap", "--reverse")
	if r.code != 0 {
		t.Fatalf("swap --reverse: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, "-c", cfg, "dns", "status")
	if !strings.Contains(r.stdout, "old-db.example.test.") || !strings.Contains(r.stdout, "source") {
		t.Errorf("status after reverse:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, b.Secret) {
		t.Errorf("the TSIG secret was printed")
	}
}
