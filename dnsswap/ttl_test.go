package dnsswap

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// Infrastructure as code puts a TTL back up after lower-ttl (a real BIND
// 9): the swap refuses while the TTL is above dns.cutover_ttl, naming it
// and the fix, and changes nothing; once it is lowered again, the wait
// restarts from when it was seen lowered, for the TTL it was raised to.
func TestTTLRaisedAfterLowering(t *testing.T) {
	b, s, now := loweredAnHourAgo(t)
	ctx := context.Background()
	update(t, b, "db.example.test. 3600 IN CNAME old-db.example.test.")
	_, err := s.Swap(ctx, SwapOptions{})
	assertRefused(t, err, "db.example.test. CNAME has TTL 3600s now, above dns.cutover_ttl (60s)", "run `switcharoo dns lower-ttl` again")
	if got := ask(t, b, "db.example.test.", "CNAME"); got.ValueString() != "old-db.example.test." || got.TTL != 3600 {
		t.Fatalf("a refused swap changed the record: %s TTL %d", got.ValueString(), got.TTL)
	}

	update(t, b, "db.example.test. 60 IN CNAME old-db.example.test.")
	*now = now.Add(time.Minute)
	_, err = s.Swap(ctx, SwapOptions{})
	assertRefused(t, err, "was seen at 3600s", "1h0m0s from now")
	*now = now.Add(time.Hour)
	report, err := s.Swap(ctx, SwapOptions{})
	if err != nil {
		t.Fatalf("swap an hour after the TTL was seen lowered again: %v", err)
	}
	checkTTLsRead(t, report, map[string]uint32{"db.example.test.": 60, "app.example.test.": 60})
}

// A TTL that differs from the one read before (at lower-ttl, or at the
// night's ttl step) was changed in between, and may have been raised
// meanwhile unseen: the wait restarts, for the TTL the record had before
// it was first lowered.
func TestTTLChangedBetweenReadings(t *testing.T) {
	b, s, now := loweredAnHourAgo(t)
	ctx := context.Background()
	readings, err := s.CheckTTL(ctx, true)
	if err != nil || len(readings) != 2 || readings[0].TTL != 60 || readings[0].SwapAllowedAt.After(*now) {
		t.Fatalf("the ttl step's reading: %+v, %v", readings, err)
	}
	update(t, b, "db.example.test. 30 IN CNAME old-db.example.test.") // raised and lowered again, unseen
	_, err = s.Swap(ctx, SwapOptions{})
	assertRefused(t, err, "its TTL changed from 60s to 30s since it was read", "1h0m0s from now")
	*now = now.Add(time.Hour)
	report, err := s.Swap(ctx, SwapOptions{})
	if err != nil {
		t.Fatalf("swap: %v", err)
	}
	checkTTLsRead(t, report, map[string]uint32{"db.example.test.": 30, "app.example.test.": 60})
}

// A Route 53 alias has no TTL of its own: clients cache what its target
// answers (60 s for an ELB). That is the TTL read and reported; and above
// dns.cutover_ttl, the swap is refused, since no lower-ttl can lower it.
func TestAliasTTLIsItsTargets(t *testing.T) {
	emu, _ := startRoute53(t)
	zone := emu.AddZone("example.org", sandbox.R53RecordSet{Name: "api.example.org", Type: "A",
		Alias: &sandbox.R53Alias{HostedZoneID: "Z32O12XQLNTSW2", DNSName: "my-alb.elb.test."}})
	ctx := context.Background()
	for _, tc := range []struct {
		cutoverTTL int
		refusal    string
	}{
		{30, "api.example.org. A is an alias to my-alb.elb.test., whose TTL (60s) is above dns.cutover_ttl (30s)"},
		{60, ""},
	} {
		cfg := route53Config(t, emu, zone)
		cfg.DNS.Zone, cfg.DNS.CutoverTTL = "example.org", tc.cutoverTTL
		cfg.DNS.Records = []config.Record{{Name: "api", Type: "A", Target: "203.0.113.20"}}
		s := newRoute53Swapper(t, cfg)
		if _, err := s.LowerTTL(ctx); err != nil {
			t.Fatal(err)
		}
		report, err := s.Swap(ctx, SwapOptions{})
		if tc.refusal != "" {
			assertRefused(t, err, tc.refusal, "dns.cutover_ttl")
			if recs := emu.Records(zone); recs[0].Alias == nil {
				t.Fatalf("a refused swap changed the record: %+v", recs[0])
			}
			continue
		}
		if err != nil {
			t.Fatalf("swap: %v", err)
		}
		checkTTLsRead(t, report, map[string]uint32{"api.example.org.": 60})
		if report.TTLs[0].Alias != "my-alb.elb.test." {
			t.Errorf("the TTL read is not marked as an alias target's: %+v", report.TTLs[0])
		}
	}
}

// loweredAnHourAgo starts a BIND zone whose TTLs (3600 s) were lowered
// to 60 s an hour ago, on the clock now points at.
func loweredAnHourAgo(t *testing.T) (*sandbox.BIND, *Swapper, *time.Time) {
	t.Helper()
	b := startZone(t)
	s, err := New(context.Background(), bindConfig(t, b), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.now = func() time.Time { return now }
	if _, err := s.LowerTTL(context.Background()); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	return b, s, &now
}

// checkTTLsRead checks the TTLs a swap read just before it changed the
// records.
func checkTTLsRead(t *testing.T, r *SwapReport, want map[string]uint32) {
	t.Helper()
	if len(r.TTLs) != len(want) {
		t.Fatalf("TTLs read: %+v, want %v", r.TTLs, want)
	}
	for _, got := range r.TTLs {
		if w, ok := want[got.Name]; !ok || got.TTL != w {
			t.Errorf("TTL read of %s: %d, want %d", got.Key, got.TTL, w)
		}
	}
}
