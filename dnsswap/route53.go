package dnsswap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
	"github.com/switcharoo/switcharoo/internal/awsenv"
	"github.com/switcharoo/switcharoo/internal/config"
	"golang.org/x/time/rate"
)

// route53p changes records through the Route 53 API: one ChangeBatch that
// deletes each record set as read and creates its new value (a
// compare-and-swap, atomic in Route 53: resolvers never see the name
// without a record), then GetChange until INSYNC.
// Requests are paced under Route 53's five per second per account, and
// Throttling answers are retried with backoff by the SDK.
type route53p struct {
	client  *route53.Client
	zone    string // fully qualified
	zoneID  string
	insync  time.Duration // bound on the wait for INSYNC
	poll    time.Duration // the first wait between GetChange calls; it doubles up to maxPoll
	limiter *rate.Limiter
}

// Pacing: a burst of two lets a swap read its record and send the change
// at once (the write-unavailability window runs meanwhile); three a second
// after it keep any one second at five requests at most.
const (
	pacing      = 3
	pacingBurst = 2
	maxPoll     = 2 * time.Second
)

func newRoute53(ctx context.Context, c *config.Config) (*route53p, error) {
	awsCfg, err := awsenv.Load(ctx, c.AWS, 10)
	if err != nil {
		return nil, err
	}
	client := route53.NewFromConfig(awsCfg, func(o *route53.Options) {
		if ep := c.AWS.Endpoints.Route53; ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	return &route53p{
		client:  client,
		zone:    dns.Fqdn(strings.ToLower(c.DNS.Zone)),
		zoneID:  c.DNS.Route53.HostedZoneID,
		insync:  c.DNS.PropagationTimeout,
		poll:    250 * time.Millisecond,
		limiter: rate.NewLimiter(pacing, pacingBurst),
	}, nil
}

// hostedZone finds the zone's ID by name when the config gives none.
func (p *route53p) hostedZone(ctx context.Context) (string, error) {
	if p.zoneID != "" {
		return p.zoneID, nil
	}
	if err := p.limiter.Wait(ctx); err != nil {
		return "", err
	}
	out, err := p.client.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String(p.zone), MaxItems: aws.Int32(10)})
	if err != nil {
		return "", fmt.Errorf("Route 53: find hosted zone %s: %w", p.zone, err)
	}
	for _, z := range out.HostedZones {
		if strings.EqualFold(aws.ToString(z.Name), p.zone) {
			if z.Config != nil && z.Config.PrivateZone {
				continue
			}
			p.zoneID = strings.TrimPrefix(aws.ToString(z.Id), "/hostedzone/")
			return p.zoneID, nil
		}
	}
	return "", &RefusedError{Reason: fmt.Sprintf("Route 53 has no public hosted zone named %s; check dns.zone, or set dns.route53.hosted_zone_id", p.zone)}
}

func (p *route53p) Get(ctx context.Context, keys []Key) ([]RecordSet, error) {
	zone, err := p.hostedZone(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RecordSet, len(keys))
	for i, k := range keys {
		if err := p.limiter.Wait(ctx); err != nil {
			return nil, err
		}
		res, err := p.client.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
			HostedZoneId:    aws.String(zone),
			StartRecordName: aws.String(k.Name),
			StartRecordType: types.RRType(k.Type),
			MaxItems:        aws.Int32(1),
		})
		var nz *types.NoSuchHostedZone
		if errors.As(err, &nz) {
			return nil, &RefusedError{Reason: fmt.Sprintf("Route 53 has no hosted zone %s; check dns.route53.hosted_zone_id", zone)}
		}
		if err != nil {
			return nil, fmt.Errorf("Route 53: read %s: %w", k, err)
		}
		out[i] = RecordSet{Key: k}
		for _, s := range res.ResourceRecordSets {
			if !strings.EqualFold(dns.Fqdn(unescapeName(aws.ToString(s.Name))), k.Name) || string(s.Type) != k.Type {
				continue
			}
			out[i] = fromRoute53(k, s)
		}
	}
	return out, nil
}

// unescapeName undoes Route 53's octal escapes (\052 for *).
func unescapeName(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%3o", &c); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func fromRoute53(k Key, s types.ResourceRecordSet) RecordSet {
	rs := RecordSet{Key: k, TTL: uint32(aws.ToInt64(s.TTL))}
	if a := s.AliasTarget; a != nil {
		rs.Alias = &config.Alias{HostedZoneID: aws.ToString(a.HostedZoneId), DNSName: strings.ToLower(dns.Fqdn(aws.ToString(a.DNSName))),
			EvaluateTargetHealth: a.EvaluateTargetHealth}
		return rs
	}
	for _, r := range s.ResourceRecords {
		rs.Values = append(rs.Values, aws.ToString(r.Value))
	}
	rs.Values = normalize(k.Type, rs.Values)
	return rs
}

func toRoute53(rs RecordSet) *types.ResourceRecordSet {
	s := &types.ResourceRecordSet{Name: aws.String(rs.Name), Type: types.RRType(rs.Type)}
	if a := rs.Alias; a != nil {
		s.AliasTarget = &types.AliasTarget{HostedZoneId: aws.String(a.HostedZoneID), DNSName: aws.String(a.DNSName), EvaluateTargetHealth: a.EvaluateTargetHealth}
		return s
	}
	s.TTL = aws.Int64(int64(rs.TTL))
	for _, v := range rs.Values {
		s.ResourceRecords = append(s.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return s
}

// Apply makes every change in one ChangeBatch — a compare-and-swap: the
// DELETE of the exact record set read (values and TTL, or alias target),
// then the CREATE of the new one; a CREATE alone where none was read —
// and waits until Route 53 reports the change INSYNC. Route 53 applies a
// batch whole or not at all, and a DELETE that does not match the current
// record fails it: a record someone else changed since it was read (an
// IaC run, external-dns) is never overwritten, and the swap stops naming
// its current value. Within a batch, the name never lacks a record.
func (p *route53p) Apply(ctx context.Context, changes []Change) error {
	zone, err := p.hostedZone(ctx)
	if err != nil {
		return err
	}
	batch := &types.ChangeBatch{Comment: aws.String("switcharoo")}
	for _, c := range changes {
		if c.From.Exists() {
			batch.Changes = append(batch.Changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: toRoute53(c.From)})
		}
		batch.Changes = append(batch.Changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: toRoute53(c.To)})
	}
	if err := p.limiter.Wait(ctx); err != nil {
		return err
	}
	out, err := p.client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone), ChangeBatch: batch})
	var invalid *types.InvalidChangeBatch
	if errors.As(err, &invalid) {
		return p.rejected(ctx, changes, invalid.Messages)
	}
	if err != nil {
		return fmt.Errorf("Route 53: change records: %w", err)
	}
	return p.waitInSync(ctx, aws.ToString(out.ChangeInfo.Id))
}

// rejected explains a batch Route 53 refused, which changed nothing: a
// record no longer what was read is named with its value now.
func (p *route53p) rejected(ctx context.Context, changes []Change, messages []string) error {
	keys := make([]Key, len(changes))
	for i, c := range changes {
		keys[i] = c.From.Key
	}
	now, err := p.Get(ctx, keys)
	if err == nil {
		var moved []string
		for i, c := range changes {
			if !sameRecordSet(now[i], c.From) {
				moved = append(moved, fmt.Sprintf("%s was %s (TTL %d) when read, and is now %s (TTL %d)",
					c.From.Key, c.From.ValueString(), c.From.TTL, now[i].ValueString(), now[i].TTL))
			}
		}
		if len(moved) > 0 {
			return &RefusedError{Reason: "Route 53 changed nothing: someone else changed the records since switcharoo read them (an IaC run, external-dns, a person): " +
				strings.Join(moved, "; ") + ". Find out who, settle the records, then run again"}
		}
	}
	return &RefusedError{Reason: "Route 53 rejected the change batch (nothing was changed): " + strings.Join(messages, "; ")}
}

// sameRecordSet reports whether two reads of a record set are the same:
// the value and the TTL.
func sameRecordSet(a, b RecordSet) bool {
	return a.Exists() == b.Exists() && (!a.Exists() || a.SameValue(b) && a.TTL == b.TTL)
}

func (p *route53p) waitInSync(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, p.insync)
	defer cancel()
	wait := p.poll
	for {
		if err := p.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("Route 53: change %s not INSYNC within %s", id, p.insync)
		}
		out, err := p.client.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)})
		if err != nil {
			return fmt.Errorf("Route 53: change %s: %w", id, err)
		}
		if out.ChangeInfo.Status == types.ChangeStatusInsync {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Route 53: change %s not INSYNC within %s", id, p.insync)
		case <-time.After(wait):
		}
		wait = min(2*wait, maxPoll)
	}
}

// Nameservers are the hosted zone's delegation set.
func (p *route53p) Nameservers(ctx context.Context) ([]string, error) {
	zone, err := p.hostedZone(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.limiter.Wait(ctx); err != nil {
		return nil, err
	}
	out, err := p.client.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(zone)})
	if err != nil {
		return nil, fmt.Errorf("Route 53: hosted zone %s: %w", zone, err)
	}
	var ns []string
	if out.DelegationSet != nil {
		for _, n := range out.DelegationSet.NameServers {
			ns = append(ns, net.JoinHostPort(strings.TrimSuffix(n, "."), "53"))
		}
	}
	if len(ns) == 0 {
		return nil, fmt.Errorf("Route 53: hosted zone %s has no name servers", zone)
	}
	return ns, nil
}
