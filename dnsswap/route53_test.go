package dnsswap

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// awsTestEnv gives the SDK's default chain static test credentials and
// keeps it off the instance metadata service.
func awsTestEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSWITCHAROOTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "switcharoo-test-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
}

func startRoute53(t *testing.T) (*sandbox.Route53, string) {
	awsTestEnv(t)
	emu, err := sandbox.StartRoute53()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	emu.InsyncAfter = 300 * time.Millisecond
	id := emu.AddZone("example.com",
		sandbox.R53RecordSet{Name: "db.example.com", Type: "CNAME", TTL: 3600, Values: []string{"old-master.dc1.example.com."}},
		sandbox.R53RecordSet{Name: "www.example.com", Type: "A", TTL: 300, Values: []string{"203.0.113.10"}},
	)
	emu.AddZone("elb.test", sandbox.R53RecordSet{Name: "my-alb.elb.test", Type: "A", TTL: 60, Values: []string{"198.51.100.7", "198.51.100.8"}})
	return emu, id
}

func route53Config(t *testing.T, emu *sandbox.Route53, zoneID string) *config.Config {
	cfg := config.Defaults()
	cfg.StateDir = t.TempDir()
	cfg.AWS.Endpoints.Route53 = emu.URL
	cfg.DNS = config.DNS{
		Provider: config.DNSRoute53, Zone: "example.com", CutoverTTL: 60, PropagationTimeout: 20 * time.Second,
		Nameservers: []string{emu.DNSAddr}, Resolver: emu.DNSAddr,
		Route53: config.Route53{HostedZoneID: zoneID},
		Records: []config.Record{
			{Name: "db", Type: "CNAME", Target: "mycluster.cluster-abc.eu-west-1.rds.amazonaws.com"},
			{Name: "www", Type: "A", Alias: config.Alias{HostedZoneID: "Z32O12XQLNTSW2", DNSName: "my-alb.elb.test"}},
		},
	}
	return &cfg
}

func newRoute53Swapper(t *testing.T, cfg *config.Config) *Swapper {
	s, err := New(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s.provider.(*route53p).poll = 50 * time.Millisecond
	return s
}

// The night's DNS through the real SDK against the emulator: TTLs lowered
// in one batch, a swap refused until the old TTL expired, then one
// ChangeBatch (each record deleted as read, created anew), INSYNC awaited, and the change seen on the authoritative
// server; then swap --reverse. The zone is found by name.
func TestRoute53Flow(t *testing.T) {
	emu, zoneID := startRoute53(t)
	cfg := route53Config(t, emu, "")
	s := newRoute53Swapper(t, cfg)
	now := time.Now()
	s.now = func() time.Time { return now }
	ctx := context.Background()

	before := emu.Requests()
	plan, err := s.Plan(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if plan[0].String() != "db.example.com. CNAME: old-master.dc1.example.com. → mycluster.cluster-abc.eu-west-1.rds.amazonaws.com. (TTL 3600)" ||
		plan[1].String() != "www.example.com. A: 203.0.113.10 → alias to my-alb.elb.test. (TTL 0)" {
		t.Errorf("plan:\n%s\n%s", plan[0], plan[1])
	}
	if emu.Requests() == before {
		t.Fatal("plan did not read through the API")
	}
	if recs := emu.Records(zoneID); recs[0].TTL != 3600 || recs[1].TTL != 300 {
		t.Errorf("plan changed records: %+v", recs)
	}

	if _, err := s.LowerTTL(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range emu.Records(zoneID) {
		if r.TTL != 60 {
			t.Errorf("%s TTL %d after lower-ttl", r.Name, r.TTL)
		}
	}
	_, err = s.Swap(ctx, SwapOptions{})
	assertRefused(t, err, "was lowered from 3600s")

	now = now.Add(time.Hour)
	start := time.Now()
	report, err := s.Swap(ctx, SwapOptions{})
	if err != nil {
		t.Fatalf("swap: %v", err)
	}
	if time.Since(start) < emu.InsyncAfter {
		t.Errorf("swap returned before the change was INSYNC")
	}
	if !report.Converged || report.Propagation[0].Servers[0].Values[0] != "mycluster.cluster-abc.eu-west-1.rds.amazonaws.com." ||
		!strings.Contains(report.Propagation[1].Note, "INSYNC") {
		t.Errorf("propagation: %+v", report.Propagation)
	}
	if report.Resolver[1].Values == nil || report.Resolver[1].Values[0] != "198.51.100.7" {
		t.Errorf("the alias should resolve to the load balancer's addresses: %+v", report.Resolver[1])
	}
	st, _ := s.Status(ctx)
	if st[0].PointsAt != "target" || st[1].PointsAt != "target" {
		t.Errorf("status: %+v", st)
	}

	if _, err := s.Swap(ctx, SwapOptions{Reverse: true}); err != nil {
		t.Fatalf("reverse: %v", err)
	}
	recs := emu.Records(zoneID)
	if recs[0].Values[0] != "old-master.dc1.example.com." || recs[1].Alias != nil || recs[1].Values[0] != "203.0.113.10" {
		t.Errorf("after reverse: %+v", recs)
	}
}

// Throttling answers are retried with backoff until they succeed.
func TestRoute53Throttling(t *testing.T) {
	emu, zoneID := startRoute53(t)
	s := newRoute53Swapper(t, route53Config(t, emu, zoneID))
	emu.Throttle(3)
	before := emu.Requests()
	plan, err := s.Plan(context.Background(), false)
	if err != nil || len(plan) != 2 {
		t.Fatalf("plan under throttling: %v", err)
	}
	if n := emu.Requests() - before; n < 5 {
		t.Errorf("%d requests: the throttled ones were not retried", n)
	}
}

// An invalid change batch is rejected whole: the valid change in it does
// not happen either.
func TestRoute53InvalidBatch(t *testing.T) {
	emu, zoneID := startRoute53(t)
	s := newRoute53Swapper(t, route53Config(t, emu, zoneID))
	ctx := context.Background()
	cur, err := s.provider.Get(ctx, []Key{{"db.example.com.", "CNAME"}, {"www.example.com.", "A"}})
	if err != nil {
		t.Fatal(err)
	}
	good := Change{From: cur[0], To: RecordSet{Key: cur[0].Key, TTL: 60, Values: []string{"new.example.com."}}}
	bad := Change{From: cur[1], To: RecordSet{Key: cur[1].Key, TTL: 60, Values: []string{"not-an-ip"}}}
	err = s.provider.Apply(ctx, []Change{good, bad})
	assertRefused(t, err, "Route 53 rejected the change batch (nothing was changed)", "ARRDATAIllegalIPv4Address")
	if recs := emu.Records(zoneID); recs[0].Values[0] != "old-master.dc1.example.com." {
		t.Errorf("the valid half of a rejected batch was applied: %+v", recs[0])
	}
}

// A record someone else changed between the swap's read and its change
// (an IaC run, external-dns) is never overwritten: Route 53 refuses the
// whole batch — the other record does not move either — and the swap
// names the value the record holds now. The same holds for swap --reverse.
func TestRoute53SwapNeverOverwritesAConcurrentChange(t *testing.T) {
	emu, zoneID := startRoute53(t)
	s := newRoute53Swapper(t, route53Config(t, emu, zoneID))
	now := time.Now()
	s.now = func() time.Time { return now }
	ctx := context.Background()
	if _, err := s.LowerTTL(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	meanwhile := func(r sandbox.R53RecordSet) func([]TTLReading) error {
		return func([]TTLReading) error { emu.SetRecord(zoneID, r); return nil }
	}
	_, err := s.Swap(ctx, SwapOptions{Read: meanwhile(sandbox.R53RecordSet{Name: "db.example.com.", Type: "CNAME", TTL: 60, Values: []string{"someone-else.example.com."}})})
	assertRefused(t, err, "someone else changed the records",
		"db.example.com. CNAME was old-master.dc1.example.com. (TTL 60) when read, and is now someone-else.example.com. (TTL 60)")
	record := func(name string) sandbox.R53RecordSet {
		for _, r := range emu.Records(zoneID) {
			if r.Name == name {
				return r
			}
		}
		t.Fatalf("no record %s", name)
		return sandbox.R53RecordSet{}
	}
	if db, www := record("db.example.com."), record("www.example.com."); db.Values[0] != "someone-else.example.com." || www.Alias != nil || www.Values[0] != "203.0.113.10" {
		t.Fatalf("after a refused swap: %+v, %+v; want the other's change kept and www unmoved", db, www)
	}

	// A TTL changed alone is a change too.
	emu.SetRecord(zoneID, sandbox.R53RecordSet{Name: "db.example.com.", Type: "CNAME", TTL: 60, Values: []string{"old-master.dc1.example.com."}})
	_, err = s.Swap(ctx, SwapOptions{Force: true, Read: meanwhile(sandbox.R53RecordSet{Name: "db.example.com.", Type: "CNAME", TTL: 30, Values: []string{"old-master.dc1.example.com."}})})
	assertRefused(t, err, "was old-master.dc1.example.com. (TTL 60) when read, and is now old-master.dc1.example.com. (TTL 30)")

	emu.SetRecord(zoneID, sandbox.R53RecordSet{Name: "db.example.com.", Type: "CNAME", TTL: 60, Values: []string{"old-master.dc1.example.com."}})
	if _, err := s.Swap(ctx, SwapOptions{Force: true}); err != nil {
		t.Fatalf("swap: %v", err)
	}
	_, err = s.Swap(ctx, SwapOptions{Reverse: true, Read: meanwhile(sandbox.R53RecordSet{Name: "www.example.com.", Type: "A", TTL: 60, Values: []string{"192.0.2.1"}})})
	assertRefused(t, err, "www.example.com. A was alias to my-alb.elb.test. (TTL 0) when read, and is now 192.0.2.1 (TTL 60)")
	if db, www := record("db.example.com."), record("www.example.com."); db.Values[0] != "mycluster.cluster-abc.eu-west-1.rds.amazonaws.com." || www.Values[0] != "192.0.2.1" {
		t.Fatalf("after a refused reverse swap: %+v, %+v", db, www)
	}
}

// Swapping back from an alias to the record it replaced restores the TTL
// recorded at the swap, not the cutover TTL (nor an alias's 0).
func TestRoute53ReverseFromAnAliasRestoresTheRecordedTTL(t *testing.T) {
	emu, zoneID := startRoute53(t)
	emu.SetRecord(zoneID, sandbox.R53RecordSet{Name: "www.example.com.", Type: "A", TTL: 45, Values: []string{"203.0.113.10"}})
	cfg := route53Config(t, emu, zoneID)
	cfg.DNS.Records = cfg.DNS.Records[1:] // www only
	s := newRoute53Swapper(t, cfg)
	ctx := context.Background()
	if _, err := s.Swap(ctx, SwapOptions{Force: true}); err != nil {
		t.Fatalf("swap: %v", err)
	}
	if _, err := s.Swap(ctx, SwapOptions{Reverse: true}); err != nil {
		t.Fatalf("reverse: %v", err)
	}
	for _, r := range emu.Records(zoneID) {
		if r.Name == "www.example.com." && (r.Alias != nil || r.TTL != 45 || r.Values[0] != "203.0.113.10") {
			t.Fatalf("after swapping back: %+v; want A 203.0.113.10 with its TTL of 45 s", r)
		}
	}
}

// A hosted zone that does not exist is a clear refusal.
func TestRoute53MissingZone(t *testing.T) {
	emu, _ := startRoute53(t)
	cfg := route53Config(t, emu, "")
	cfg.DNS.Zone = "nowhere.example"
	cfg.DNS.Records = []config.Record{{Name: "db", Type: "CNAME", Target: "x.example."}}
	s := newRoute53Swapper(t, cfg)
	_, err := s.Plan(context.Background(), false)
	assertRefused(t, err, "Route 53 has no public hosted zone named nowhere.example.")
	cfg.DNS.Route53.HostedZoneID = "ZNOSUCHZONE"
	s = newRoute53Swapper(t, cfg)
	_, err = s.Plan(context.Background(), false)
	assertRefused(t, err, "Route 53 has no hosted zone ZNOSUCHZONE")
}
