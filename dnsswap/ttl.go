package dnsswap

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TTLReading is how long a client may cache a record's current value, as
// read now: its TTL, or, for a Route 53 alias (which has no TTL of its
// own), the TTL its target answers with — 60 s for an ELB.
type TTLReading struct {
	Key
	TTL uint32 `json:"ttl"`
	// Alias is the alias target whose TTL this is; empty for a plain record.
	Alias string `json:"alias,omitempty"`
	// SwapAllowedAt: no client caches a value older than the lowering (or
	// the last raise or change seen) from then on.
	SwapAllowedAt time.Time `json:"swap_allowed_at,omitzero"`
	// Why says what was seen when the wait counts from a raise or a change
	// rather than from lower-ttl.
	Why string `json:"why,omitempty"`
}

func (r TTLReading) String() string {
	if r.Alias != "" {
		return fmt.Sprintf("%s %ds (its alias target %s's)", r.Key, r.TTL, r.Alias)
	}
	return fmt.Sprintf("%s %ds", r.Key, r.TTL)
}

// CheckTTL reads every record's TTL and judges it against what was
// recorded since lower-ttl: a TTL above dns.cutover_ttl is refused (exit
// 2); a TTL seen raised before, or changed since the last reading, moves
// the moment a swap is allowed to the old TTL after now. With record (the
// night's ttl step), the readings are kept in the state file. Without, a
// raise or a change seen is kept all the same — the one thing the
// preflight and plan write — or it would be forgotten once the record is
// lowered again, and the swap let through.
func (s *Swapper) CheckTTL(ctx context.Context, record bool) ([]TTLReading, error) {
	st, _, current, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	readings, err := s.readTTLs(ctx, current)
	if err != nil {
		return nil, err
	}
	refusal, noticed := s.judgeAll(st, readings)
	if record || noticed {
		if err := s.keepReadings(st, readings); err != nil {
			return nil, err
		}
	}
	if refusal != nil {
		return readings, refusal
	}
	return readings, nil
}

// judgeAll judges every reading, gathers the refusals, and says whether
// a raise or a change was noticed.
func (s *Swapper) judgeAll(st *state, readings []TTLReading) (refusal error, noticed bool) {
	now := s.now().UTC()
	var refusals []string
	for i := range readings {
		why, seen := s.judge(st.record(readings[i].Key), &readings[i], now)
		if why != "" {
			refusals = append(refusals, why)
		}
		noticed = noticed || seen
	}
	if len(refusals) > 0 {
		return &RefusedError{Reason: strings.Join(refusals, "; ")}, noticed
	}
	return nil, noticed
}

// keepReadings saves the state the readings were judged into, and logs
// each reading.
func (s *Swapper) keepReadings(st *state, readings []TTLReading) error {
	for _, r := range readings {
		s.log.Info().Stringer("record", r.Key).Uint32("ttl", r.TTL).Str("alias", r.Alias).Time("swap_allowed_at", r.SwapAllowedAt).Msg("TTL read")
	}
	return st.save(s.stateDir)
}

// judge updates r with the reading rd made at now, sets when a swap is
// allowed, and returns why the TTL is refused, if it is, and whether it
// noticed a raise or a change.
//
// A TTL above dns.cutover_ttl is refused: clients may cache the old value
// that long after the swap. One seen so before, now low again, restarts
// the wait from now for the TTL it was raised to. One that differs from
// the last reading was changed in between, perhaps raised and lowered
// again unseen (record reads cannot see that), and restarts the wait for
// the TTL the record had before lower-ttl.
func (s *Swapper) judge(r *recordState, rd *TTLReading, now time.Time) (refusal string, noticed bool) {
	limit := uint32(s.cfg.CutoverTTL)
	if r.LoweredAt.IsZero() {
		if rd.Alias == "" {
			return fmt.Sprintf("the TTL of %s was never lowered with `switcharoo dns lower-ttl` (it is %ds now): lower it, wait %ds, then swap — or pass --force", rd.Key, rd.TTL, rd.TTL), false
		}
		r.LoweredAt, r.OldTTL = now, 0 // an alias has nothing to lower
	}
	if rd.TTL > limit {
		r.RaisedTTL, r.RaisedAt = max(r.RaisedTTL, rd.TTL), now
		r.SeenTTL, r.SeenAt = rd.TTL, now
		if rd.Alias != "" {
			return fmt.Sprintf("%s is an alias to %s, whose TTL (%ds) is above dns.cutover_ttl (%ds): an alias has its target's TTL (60 s for an ELB), which lower-ttl cannot lower; set dns.cutover_ttl to at least %d",
				rd.Key, rd.Alias, rd.TTL, limit, rd.TTL), true
		}
		return fmt.Sprintf("%s has TTL %ds now, above dns.cutover_ttl (%ds): something raised it after `switcharoo dns lower-ttl` lowered it at %s "+
			"(infrastructure as code re-applying the zone, or a person); make that keep the low TTL, then run `switcharoo dns lower-ttl` again and wait %ds, the TTL clients may have cached, before the swap",
			rd.Key, rd.TTL, limit, r.LoweredAt.Format(time.RFC3339), rd.TTL), true
	}
	noticed = true
	switch {
	case r.RaisedTTL > 0:
		r.Why = fmt.Sprintf("was seen at %ds at %s, above dns.cutover_ttl, after it was lowered, and at %ds again at %s", r.RaisedTTL, r.RaisedAt.Format(time.RFC3339), rd.TTL, now.Format(time.RFC3339))
		r.LoweredAt, r.OldTTL = now, r.RaisedTTL
		r.RaisedTTL, r.RaisedAt = 0, time.Time{}
	case !r.SeenAt.IsZero() && rd.TTL != r.SeenTTL:
		r.Why = fmt.Sprintf("had its TTL changed from %ds to %ds since it was read at %s (raised in between, perhaps, unseen); the wait counts again from %s, for the %ds it had before lower-ttl",
			r.SeenTTL, rd.TTL, r.SeenAt.Format(time.RFC3339), now.Format(time.RFC3339), r.OldTTL)
		r.LoweredAt = now
	default:
		noticed = false
	}
	if noticed {
		s.log.Warn().Stringer("record", rd.Key).Str("why", r.Why).Msg("the wait for the old TTL restarts")
	}
	r.SeenTTL, r.SeenAt = rd.TTL, now
	rd.SwapAllowedAt, rd.Why = r.swapAllowedAt(), r.Why
	return "", noticed
}

// swapAllowedAt is when no client caches a value older than the lowering
// (or the last raise or change seen).
func (r *recordState) swapAllowedAt() time.Time {
	return r.LoweredAt.Add(time.Duration(r.OldTTL) * time.Second)
}

// readTTLs reads how long clients may cache each record's current value:
// its TTL, or an alias's target's, as the authoritative servers answer it.
func (s *Swapper) readTTLs(ctx context.Context, current []RecordSet) ([]TTLReading, error) {
	out := make([]TTLReading, len(current))
	var servers []string
	for i, c := range current {
		out[i] = TTLReading{Key: c.Key, TTL: c.TTL}
		if c.Alias == nil {
			continue
		}
		out[i].Alias = dns.Fqdn(c.Alias.DNSName)
		if servers == nil {
			var err error
			if servers, err = s.nameservers(ctx); err != nil {
				return nil, err
			}
		}
		ttl, err := answeredTTL(ctx, servers, c.Key)
		if err != nil {
			return nil, fmt.Errorf("the TTL of %s, an alias to %s: %w", c.Key, out[i].Alias, err)
		}
		out[i].TTL = ttl
	}
	return out, nil
}

// answeredTTL asks every server for k and returns the highest TTL
// answered.
func answeredTTL(ctx context.Context, servers []string, k Key) (uint32, error) {
	c := &dns.Client{Timeout: 2 * time.Second}
	var ttl uint32
	for _, server := range servers {
		rs, err := query(ctx, c, server, k, false)
		if err != nil {
			return 0, fmt.Errorf("ask %s: %w", server, err)
		}
		if !rs.Exists() {
			return 0, fmt.Errorf("%s answers no record", server)
		}
		ttl = max(ttl, rs.TTL)
	}
	return ttl, nil
}
