package dnsswap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/switcharoo/switcharoo/internal/config"
)

// rfc2136 changes records with DNS UPDATE messages (RFC 2136) signed with
// TSIG (RFC 8945), as BIND, Knot and PowerDNS accept them. A swap is one
// UPDATE message — atomic on the server — whose prerequisites assert the
// old values, so it never overwrites a record someone else changed.
type rfc2136 struct {
	server  string
	zone    string
	keyName string
	alg     string
	client  *dns.Client
}

func newRFC2136(d config.DNS) *rfc2136 {
	key := dns.Fqdn(d.RFC2136.TSIGName)
	return &rfc2136{
		server:  d.RFC2136.Server,
		zone:    dns.Fqdn(d.Zone),
		keyName: key,
		alg:     dns.Fqdn(d.RFC2136.TSIGAlgorithm),
		client: &dns.Client{
			Net:        "tcp",
			Timeout:    10 * time.Second,
			TsigSecret: map[string]string{key: d.RFC2136.TSIGSecret.Reveal()},
		},
	}
}

func (p *rfc2136) Get(ctx context.Context, keys []Key) ([]RecordSet, error) {
	out := make([]RecordSet, len(keys))
	for i, k := range keys {
		rs, err := query(ctx, p.client, p.server, k, false)
		if err != nil {
			return nil, fmt.Errorf("read %s from %s: %w", k, p.server, err)
		}
		out[i] = rs
	}
	return out, nil
}

// query asks one server for one record set, over UDP unless the client
// says TCP, and over TCP again when the UDP answer is truncated.
func query(ctx context.Context, c *dns.Client, server string, k Key, recurse bool) (RecordSet, error) {
	m := new(dns.Msg)
	m.SetQuestion(k.Name, dns.StringToType[k.Type])
	m.RecursionDesired = recurse
	r, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && r.Truncated && c.Net != "tcp" {
		tcp := *c
		tcp.Net = "tcp"
		r, _, err = tcp.ExchangeContext(ctx, m, server)
	}
	if err != nil {
		return RecordSet{}, err
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		return RecordSet{}, fmt.Errorf("server answered %s", dns.RcodeToString[r.Rcode])
	}
	rs := RecordSet{Key: k}
	for _, rr := range r.Answer {
		h := rr.Header()
		if !strings.EqualFold(h.Name, k.Name) || dns.TypeToString[h.Rrtype] != k.Type {
			continue
		}
		rs.TTL = h.Ttl
		rs.Values = append(rs.Values, rdata(rr))
	}
	rs.Values = normalize(k.Type, rs.Values)
	return rs, nil
}

// rdata is a record's value as text.
func rdata(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return v.A.String()
	case *dns.AAAA:
		return v.AAAA.String()
	case *dns.CNAME:
		return strings.ToLower(v.Target)
	}
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

func rrs(rs RecordSet, ttl uint32) ([]dns.RR, error) {
	var out []dns.RR
	for _, v := range rs.Values {
		rr, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", rs.Name, ttl, rs.Type, v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rs.Key, err)
		}
		out = append(out, rr)
	}
	return out, nil
}

func (p *rfc2136) Apply(ctx context.Context, changes []Change) error {
	m := new(dns.Msg)
	m.SetUpdate(p.zone)
	for _, c := range changes {
		if c.To.Alias != nil || c.From.Alias != nil {
			return fmt.Errorf("%s: alias records exist only in Route 53", c.To.Key)
		}
		if c.From.Exists() {
			prereq, err := rrs(c.From, 0)
			if err != nil {
				return err
			}
			m.Used(prereq) // RRset exists, value dependent: exactly the old values
		} else {
			m.RRsetNotUsed([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: c.To.Name, Rrtype: dns.StringToType[c.To.Type], Class: dns.ClassANY}}})
		}
		m.RemoveRRset([]dns.RR{&dns.ANY{Hdr: dns.RR_Header{Name: c.To.Name, Rrtype: dns.StringToType[c.To.Type], Class: dns.ClassANY}}})
		add, err := rrs(c.To, c.To.TTL)
		if err != nil {
			return err
		}
		m.Insert(add)
	}
	m.SetTsig(p.keyName, p.alg, 300, time.Now().Unix())
	r, _, err := p.client.ExchangeContext(ctx, m, p.server)
	var tsigErr error
	switch {
	case errors.Is(err, dns.ErrSig), errors.Is(err, dns.ErrSecret), errors.Is(err, dns.ErrKeyAlg), errors.Is(err, dns.ErrAuth):
		tsigErr = err
	case err != nil:
		return fmt.Errorf("DNS UPDATE to %s: %w", p.server, err)
	}
	if tsigErr != nil || r.Rcode == dns.RcodeNotAuth || (r.IsTsig() != nil && r.IsTsig().Error != dns.RcodeSuccess) {
		return &RefusedError{Reason: fmt.Sprintf("%s rejected the TSIG key %q (%s): check dns.rfc2136.tsig_name, tsig_algorithm and the secret",
			p.server, strings.TrimSuffix(p.keyName, "."), tsigReason(r, tsigErr))}
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
		return nil
	case dns.RcodeNXRrset, dns.RcodeYXRrset, dns.RcodeNameError, dns.RcodeYXDomain:
		return &RefusedError{Reason: fmt.Sprintf("%s refused the update: a record is no longer what it was read as (%s); someone changed it meanwhile — run `switcharoo dns status` and decide",
			p.server, dns.RcodeToString[r.Rcode])}
	case dns.RcodeRefused:
		return &RefusedError{Reason: fmt.Sprintf("%s refused the update (REFUSED): its update-policy must grant the key %q the zone %s",
			p.server, strings.TrimSuffix(p.keyName, "."), p.zone)}
	}
	return fmt.Errorf("DNS UPDATE to %s: %s", p.server, dns.RcodeToString[r.Rcode])
}

func tsigReason(r *dns.Msg, err error) string {
	if err != nil {
		return err.Error()
	}
	if t := r.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
		return dns.RcodeToString[int(t.Error)]
	}
	return dns.RcodeToString[r.Rcode]
}

// Nameservers asks the primary for the zone's NS records and resolves them.
func (p *rfc2136) Nameservers(ctx context.Context) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(p.zone, dns.TypeNS)
	r, _, err := p.client.ExchangeContext(ctx, m, p.server)
	if err != nil {
		return nil, fmt.Errorf("NS of %s from %s: %w", p.zone, p.server, err)
	}
	return resolveNS(ctx, r.Answer)
}

// resolveNS turns NS records into host:53 addresses.
func resolveNS(ctx context.Context, answer []dns.RR) ([]string, error) {
	var out []string
	for _, rr := range answer {
		ns, ok := rr.(*dns.NS)
		if !ok {
			continue
		}
		addrs, err := net.DefaultResolver.LookupHost(ctx, ns.Ns)
		if err != nil {
			return nil, fmt.Errorf("resolve name server %s: %w", ns.Ns, err)
		}
		for _, a := range addrs {
			out = append(out, net.JoinHostPort(a, "53"))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the zone lists no name servers")
	}
	return out, nil
}
