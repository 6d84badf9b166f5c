package dnsswap

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandbox"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
	"github.com/switcharoo/switcharoo/internal/secret"
)

func bindConfig(t *testing.T, b *sandbox.BIND) *config.Config {
	cfg := config.Defaults()
	cfg.StateDir = t.TempDir()
	cfg.DNS = config.DNS{
		Provider: config.DNSRFC2136, Zone: "example.test", CutoverTTL: 60, PropagationTimeout: 10 * time.Second,
		Nameservers: []string{b.Addr()}, Resolver: b.Addr(),
		RFC2136: config.RFC2136{Server: b.Addr(), TSIGName: b.KeyName, TSIGAlgorithm: b.Algorithm, TSIGSecret: secret.New(b.Secret)},
		Records: []config.Record{
			{Name: "db", Type: "CNAME", Target: "new-db.example.test."},
			{Name: "app.example.test.", Type: "A", Target: "10.0.0.2, 10.0.0.3"},
		},
	}
	return &cfg
}

func startZone(t *testing.T) *sandbox.BIND {
	return sandboxtest.StartBIND(t, "example.test", "db 3600 IN CNAME old-db.example.test.", "app 3600 IN A 10.0.0.1")
}

// ask queries b directly.
func ask(t *testing.T, b *sandbox.BIND, name, typ string) RecordSet {
	t.Helper()
	rs, err := query(context.Background(), &dns.Client{Net: "tcp"}, b.Addr(), Key{Name: name, Type: typ}, false)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// The night's DNS, against a real BIND 9: plan changes nothing; swap is
// refused until the TTL was lowered and the old TTL has expired; then one
// atomic UPDATE swaps every record, and propagation is seen; swap --reverse
// restores the recorded values.
func TestRFC2136Flow(t *testing.T) {
	b := startZone(t)
	cfg := bindConfig(t, b)
	ctx := context.Background()
	s, err := New(ctx, cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.now = func() time.Time { return now }

	plan, err := s.Plan(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 2 || plan[0].String() != "db.example.test. CNAME: old-db.example.test. → new-db.example.test. (TTL 3600)" ||
		plan[1].String() != "app.example.test. A: 10.0.0.1 → 10.0.0.2, 10.0.0.3 (TTL 3600)" {
		t.Errorf("plan:\n%s\n%s", plan[0], plan[1])
	}
	if got := ask(t, b, "db.example.test.", "CNAME"); got.ValueString() != "old-db.example.test." {
		t.Errorf("plan changed the record: %s", got.ValueString())
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, stateFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plan wrote the state file")
	}

	_, err = s.Swap(ctx, SwapOptions{})
	assertRefused(t, err, "was never lowered with `switcharoo dns lower-ttl` (it is 3600s now)")

	lowered, err := s.LowerTTL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lowered[0].OldTTL != 3600 || lowered[0].NewTTL != 60 || !lowered[0].SwapAllowedAt.Equal(now.UTC().Add(time.Hour)) {
		t.Errorf("lowered: %+v", lowered[0])
	}
	if got := ask(t, b, "app.example.test.", "A"); got.TTL != 60 || got.ValueString() != "10.0.0.1" {
		t.Errorf("after lower-ttl: %s TTL %d", got.ValueString(), got.TTL)
	}

	now = now.Add(59 * time.Minute)
	_, err = s.Swap(ctx, SwapOptions{})
	assertRefused(t, err, "was lowered from 3600s at", "1m0s from now: wait, or pass --force")

	now = now.Add(time.Minute)
	report, err := s.Swap(ctx, SwapOptions{})
	if err != nil {
		t.Fatalf("swap: %v", err)
	}
	if !report.Converged || len(report.Propagation) != 2 || !report.Propagation[0].Servers[0].Converged {
		t.Errorf("propagation not seen: %+v", report.Propagation)
	}
	if got := ask(t, b, "db.example.test.", "CNAME"); got.ValueString() != "new-db.example.test." || got.TTL != 60 {
		t.Errorf("after swap: %s TTL %d", got.ValueString(), got.TTL)
	}
	if got := ask(t, b, "app.example.test.", "A"); got.ValueString() != "10.0.0.2, 10.0.0.3" {
		t.Errorf("after swap: %s", got.ValueString())
	}
	if len(report.Resolver) != 2 || report.Resolver[0].TTL == 0 {
		t.Errorf("resolver view: %+v", report.Resolver)
	}
	st, err := s.Status(ctx)
	if err != nil || st[0].PointsAt != "target" || st[1].PointsAt != "target" {
		t.Errorf("status after swap: %+v %v", st, err)
	}
	again, err := s.Swap(ctx, SwapOptions{})
	if err != nil || !again.Changes[0].Done || !again.Changes[1].Done {
		t.Errorf("a second swap should change nothing: %+v %v", again, err)
	}

	// Someone changes a record behind our back: reverse refuses.
	update(t, b, "db.example.test. 60 IN CNAME elsewhere.example.test.")
	_, err = s.Swap(ctx, SwapOptions{Reverse: true})
	assertRefused(t, err, "neither the swap's target nor the recorded old value")
	update(t, b, "db.example.test. 60 IN CNAME new-db.example.test.")

	if _, err := s.Swap(ctx, SwapOptions{Reverse: true}); err != nil {
		t.Fatalf("reverse: %v", err)
	}
	if got := ask(t, b, "db.example.test.", "CNAME"); got.ValueString() != "old-db.example.test." {
		t.Errorf("after reverse: %s", got.ValueString())
	}
	if got := ask(t, b, "app.example.test.", "A"); got.ValueString() != "10.0.0.1" {
		t.Errorf("after reverse: %s", got.ValueString())
	}
	st, _ = s.Status(ctx)
	if st[0].PointsAt != "source" || st[1].PointsAt != "source" {
		t.Errorf("status after reverse: %+v", st)
	}
}

// A change whose prerequisite no longer holds is refused whole by the
// server: nothing changes.
func TestRFC2136PrerequisiteMismatch(t *testing.T) {
	b := startZone(t)
	s, err := New(context.Background(), bindConfig(t, b), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	p := s.provider
	from := RecordSet{Key: Key{"db.example.test.", "CNAME"}, TTL: 3600, Values: []string{"not-what-it-is.example.test."}}
	to := RecordSet{Key: from.Key, TTL: 60, Values: []string{"new-db.example.test."}}
	ok := Change{
		From: RecordSet{Key: Key{"app.example.test.", "A"}, TTL: 3600, Values: []string{"10.0.0.1"}},
		To:   RecordSet{Key: Key{"app.example.test.", "A"}, TTL: 60, Values: []string{"10.0.0.9"}},
	}
	err = p.Apply(context.Background(), []Change{ok, {From: from, To: to}})
	assertRefused(t, err, "refused the update: a record is no longer what it was read as (NXRRSET)")
	if got := ask(t, b, "app.example.test.", "A"); got.ValueString() != "10.0.0.1" {
		t.Errorf("a refused batch changed a record: %s", got.ValueString())
	}
}

// A wrong TSIG key is refused with a message that names the key, not its
// secret.
func TestRFC2136WrongKey(t *testing.T) {
	b := startZone(t)
	cfg := bindConfig(t, b)
	const wrong = "d3JvbmctYnV0LXZhbGlkLWJhc2U2NC1zZWNyZXQhIQ=="
	cfg.DNS.RFC2136.TSIGSecret = secret.New(wrong)
	s, err := New(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.LowerTTL(context.Background())
	assertRefused(t, err, `rejected the TSIG key "switcharoo"`, "check dns.rfc2136.tsig_name, tsig_algorithm and the secret")
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("the secret is in the error: %v", err)
	}
	if got := ask(t, b, "app.example.test.", "A"); got.TTL != 3600 {
		t.Errorf("a rejected update changed the TTL to %d", got.TTL)
	}
}

func assertRefused(t *testing.T, err error, want ...string) {
	t.Helper()
	var r *RefusedError
	if !errors.As(err, &r) {
		t.Fatalf("want a refusal, got %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal lacks %q:\n%v", w, err)
		}
	}
}

// update changes a record with b's key, as another operator would.
func update(t *testing.T, b *sandbox.BIND, record string) {
	t.Helper()
	rr, err := dns.NewRR(record)
	if err != nil {
		t.Fatal(err)
	}
	m := new(dns.Msg)
	m.SetUpdate(b.Zone)
	m.RemoveRRset([]dns.RR{rr})
	m.Insert([]dns.RR{rr})
	m.SetTsig(dns.Fqdn(b.KeyName), dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", TsigSecret: map[string]string{dns.Fqdn(b.KeyName): b.Secret}}
	r, _, err := c.Exchange(m, b.Addr())
	if err != nil || r.Rcode != dns.RcodeSuccess {
		t.Fatalf("update %s: %v %v", record, err, r)
	}
}
