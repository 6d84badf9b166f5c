package dnsswap

import (
	"context"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"github.com/switcharoo/switcharoo/internal/config"
)

// Key names one record set.
type Key struct {
	Name string `json:"name"` // fully qualified, lower case, with the trailing dot
	Type string `json:"type"` // A, AAAA or CNAME
}

func (k Key) String() string { return k.Name + " " + k.Type }

// RecordSet is the value of one record set: values with a TTL, or a
// Route 53 alias target (which has no TTL of its own).
type RecordSet struct {
	Key
	TTL    uint32        `json:"ttl"`
	Values []string      `json:"values,omitempty"`
	Alias  *config.Alias `json:"alias,omitempty"`
}

// Exists reports whether the record set was found.
func (r RecordSet) Exists() bool { return len(r.Values) > 0 || r.Alias != nil }

// SameValue reports whether two record sets hold the same values (or alias
// target), whatever their TTLs.
func (r RecordSet) SameValue(o RecordSet) bool {
	if (r.Alias == nil) != (o.Alias == nil) {
		return false
	}
	if r.Alias != nil {
		return strings.EqualFold(dns.Fqdn(r.Alias.DNSName), dns.Fqdn(o.Alias.DNSName)) &&
			r.Alias.HostedZoneID == o.Alias.HostedZoneID && r.Alias.EvaluateTargetHealth == o.Alias.EvaluateTargetHealth
	}
	return slices.Equal(normalize(r.Type, r.Values), normalize(o.Type, o.Values))
}

// ValueString renders the value for people: "a, b" or "alias to x".
func (r RecordSet) ValueString() string {
	switch {
	case r.Alias != nil:
		return "alias to " + dns.Fqdn(r.Alias.DNSName)
	case len(r.Values) == 0:
		return "(none)"
	}
	return strings.Join(r.Values, ", ")
}

// normalize sorts values and makes host names fully qualified, lower case.
func normalize(typ string, values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		v = strings.TrimSpace(v)
		if typ == "CNAME" {
			v = strings.ToLower(dns.Fqdn(v))
		}
		out[i] = v
	}
	slices.Sort(out)
	return out
}

// Change replaces one record set: From is its current value (asserted,
// where the provider can, so that a change never overwrites a record
// someone else changed meanwhile), To its new value.
type Change struct {
	From RecordSet
	To   RecordSet
}

// Provider is a DNS service holding the records to swap.
type Provider interface {
	// Get reads the current record sets; a missing one comes back with no
	// values.
	Get(ctx context.Context, keys []Key) ([]RecordSet, error)
	// Apply makes every change in one atomic batch (all or none), and
	// returns once the provider reports it applied everywhere it serves.
	Apply(ctx context.Context, changes []Change) error
	// Nameservers lists the zone's authoritative servers as host:port.
	Nameservers(ctx context.Context) ([]string, error)
}

// desired is a configured record: its key and its value after the swap.
type desired struct {
	Key
	Target RecordSet
}

// desiredRecords reads the records of the config.
func desiredRecords(d config.DNS) []desired {
	out := make([]desired, len(d.Records))
	for i, r := range d.Records {
		k := Key{Name: config.RecordName(r.Name, d.Zone), Type: r.Type}
		t := RecordSet{Key: k}
		if r.Alias.IsSet() {
			a := r.Alias
			a.DNSName = strings.ToLower(dns.Fqdn(a.DNSName))
			t.Alias = &a
		} else {
			for _, v := range strings.Split(r.Target, ",") {
				t.Values = append(t.Values, strings.TrimSpace(v))
			}
			t.Values = normalize(r.Type, t.Values)
		}
		out[i] = desired{Key: k, Target: t}
	}
	return out
}
