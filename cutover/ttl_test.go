package cutover

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// Infrastructure as code raises the record's TTL back to 3600 s after
// lower-ttl. Raised between the ttl step and the swap, the swap refuses
// and the night is undone; raised before the night, the preflight refuses
// (exit 2, nothing changed); lowered again, the night's plan waits an hour
// from when it was seen low again, not from the lowering days before.
func TestTTLRaisedAfterLowering(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	zone := sb.Config.DNS.Route53.HostedZoneID
	setTTL := func(ttl int64) {
		r := sb.Route53.Records(zone)[0]
		r.TTL = ttl
		sb.Route53.SetRecord(zone, r)
	}
	const raised = "db.example.test. A has TTL 3600s now, above dns.cutover_ttl (1s)"

	rb := newRunbook(t, sb, sb.Config, func(s string, at hookPoint) bool {
		if s == "dns-swap" && at == beforeApply {
			setTTL(3600)
		}
		return false
	})
	_, err := rb.Run(ctx)
	var u *UndoneError
	if !errors.As(err, &u) || u.Step != "dns-swap" || !strings.Contains(err.Error(), raised) {
		t.Fatalf("a TTL raised before the swap: %v, want the swap refused and the night undone", err)
	}
	onSource(t, sb)

	before := snapshot(t, sb)
	_, err = newRunbook(t, sb, sb.Config, nil).Run(ctx)
	var refused *RefusedError
	if !errors.As(err, &refused) || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), raised) || !strings.Contains(err.Error(), "lower-ttl") {
		t.Fatalf("a run with the TTL raised: %v (exit %d), want a preflight refusal (exit 2)", err, exitcode.Of(err))
	}
	if after := snapshot(t, sb); after != before {
		t.Errorf("a refused run changed the world:\nbefore %+v\nafter  %+v", before, after)
	}

	setTTL(1)
	steps, _, err := newRunbook(t, sb, sb.Config, nil).Plan(ctx)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	text := steps[1].Plan
	i := strings.Index(text, "swap allowed from ")
	if i < 0 {
		t.Fatalf("the ttl step's plan: %s", text)
	}
	at, err := time.Parse(time.RFC3339, strings.Fields(text[i+len("swap allowed from "):])[0])
	if err != nil || time.Until(at) < 59*time.Minute || !strings.Contains(text, "was seen at 3600s") {
		t.Errorf("the ttl step's plan, once the TTL is low again: %s, want the swap allowed an hour from now (%v)", text, err)
	}
}
