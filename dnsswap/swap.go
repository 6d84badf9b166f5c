package dnsswap

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/config"
)

// Swapper moves the configured records between the old and the new side.
type Swapper struct {
	cfg      config.DNS
	stateDir string
	provider Provider
	log      zerolog.Logger
	now      func() time.Time
}

// New returns a Swapper for a validated configuration with a DNS provider.
// It contacts nothing yet.
func New(ctx context.Context, c *config.Config, log zerolog.Logger) (*Swapper, error) {
	s := &Swapper{cfg: c.DNS, stateDir: c.StateDir, log: log, now: time.Now}
	switch c.DNS.Provider {
	case config.DNSRFC2136:
		s.provider = newRFC2136(c.DNS)
	case config.DNSRoute53:
		p, err := newRoute53(ctx, c)
		if err != nil {
			return nil, err
		}
		s.provider = p
	default:
		return nil, &RefusedError{Reason: "dns.provider is not set: this configuration swaps no DNS records"}
	}
	return s, nil
}

// Planned is one record's change: from its current value to its new one.
type Planned struct {
	Key
	From RecordSet `json:"from"`
	To   RecordSet `json:"to"`
	// Done is true when the record already holds its new value.
	Done bool `json:"done"`
}

func (p Planned) String() string {
	if p.Done {
		return fmt.Sprintf("%s: already %s (TTL %d)", p.Key, p.To.ValueString(), p.From.TTL)
	}
	return fmt.Sprintf("%s: %s → %s (TTL %d)", p.Key, p.From.ValueString(), p.To.ValueString(), p.To.TTL)
}

// Plan reads the records and returns the changes a swap (or, reverse, a
// swap back) would make. It changes nothing.
func (s *Swapper) Plan(ctx context.Context, reverse bool) ([]Planned, error) {
	st, want, current, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	plan := make([]Planned, len(want))
	for i, d := range want {
		to := d.Target
		if reverse {
			r := st.lookup(d.Key)
			if r == nil || r.Source == nil {
				return nil, &RefusedError{Reason: fmt.Sprintf("no old value of %s is recorded (in %s/%s): nothing to swap back to", d.Key, s.stateDir, stateFile)}
			}
			to = *r.Source
			if !current[i].SameValue(d.Target) && !current[i].SameValue(to) {
				return nil, &RefusedError{Reason: fmt.Sprintf("%s is %s, neither the swap's target nor the recorded old value; someone changed it — fix it by hand", d.Key, current[i].ValueString())}
			}
		}
		recorded := to.TTL // swapping back: the TTL the record had then
		to.TTL = current[i].TTL // the swap keeps the (lowered) TTL
		switch {
		case to.Alias != nil:
			to.TTL = 0
		case current[i].Alias != nil && reverse && recorded > 0:
			to.TTL = recorded // an alias has no TTL of its own to keep
		case current[i].Alias != nil:
			to.TTL = uint32(s.cfg.CutoverTTL)
		}
		plan[i] = Planned{Key: d.Key, From: current[i], To: to, Done: current[i].SameValue(to)}
	}
	return plan, nil
}

// read loads the state file and reads the configured records as they are
// now.
func (s *Swapper) read(ctx context.Context) (*state, []desired, []RecordSet, error) {
	st, err := loadState(s.stateDir)
	if err != nil {
		return nil, nil, nil, err
	}
	want := desiredRecords(s.cfg)
	keys := make([]Key, len(want))
	for i, d := range want {
		keys[i] = d.Key
	}
	current, err := s.provider.Get(ctx, keys)
	if err != nil {
		return nil, nil, nil, err
	}
	return st, want, current, nil
}

// Lowered is the outcome of lowering one record's TTL.
type Lowered struct {
	Key
	OldTTL uint32 `json:"old_ttl"`
	NewTTL uint32 `json:"new_ttl"`
	// SwapAllowedAt is when the old TTL will have expired everywhere.
	SwapAllowedAt time.Time `json:"swap_allowed_at"`
}

// LowerTTL sets every record's TTL to dns.cutover_ttl, keeping its value,
// in one batch, and records when and from what, so that swap can wait for
// the old TTL to expire. Run it days before the night. Records already at
// or below cutover_ttl are left as they are (their current TTL is the one
// to wait for).
func (s *Swapper) LowerTTL(ctx context.Context) ([]Lowered, error) {
	st, _, current, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	ttl := uint32(s.cfg.CutoverTTL)
	now := s.now().UTC()
	var changes []Change
	var out []Lowered
	for _, cur := range current {
		if !cur.Exists() {
			return nil, &RefusedError{Reason: fmt.Sprintf("%s does not exist in zone %s; create it (pointing at the old side) first", cur.Key, s.cfg.Zone)}
		}
		r := st.record(cur.Key)
		src := cur
		r.Source = &src
		l := Lowered{Key: cur.Key, OldTTL: cur.TTL, NewTTL: min(cur.TTL, ttl)}
		switch {
		case cur.Alias != nil:
			l.OldTTL, l.NewTTL = 0, 0 // an alias has its target's TTL
		case cur.TTL > ttl:
			to := cur
			to.TTL = ttl
			changes = append(changes, Change{From: cur, To: to})
		}
		changed := !r.SeenAt.IsZero() && cur.Alias == nil && cur.TTL != r.SeenTTL
		if r.LoweredAt.IsZero() || l.OldTTL > r.OldTTL || cur.TTL > ttl || r.RaisedTTL > 0 || changed {
			r.LoweredAt, r.OldTTL = now, max(l.OldTTL, r.OldTTL, r.RaisedTTL)
		}
		r.RaisedTTL, r.RaisedAt, r.Why = 0, time.Time{}, ""
		if cur.Alias == nil { // an alias's TTL is its target's, read when judged
			r.SeenTTL, r.SeenAt = l.NewTTL, now
		}
		l.SwapAllowedAt = r.swapAllowedAt()
		out = append(out, l)
	}
	if len(changes) == 0 {
		if err := st.save(s.stateDir); err != nil {
			return nil, err
		}
	} else {
		refused, err := st.saveBeforeApply(s.stateDir)
		if err != nil {
			return nil, err
		}
		if err := s.provider.Apply(ctx, changes); err != nil {
			return nil, refused(err)
		}
	}
	for _, l := range out {
		s.log.Info().Stringer("record", l.Key).Uint32("old_ttl", l.OldTTL).Uint32("ttl", l.NewTTL).Time("swap_allowed_at", l.SwapAllowedAt).Msg("TTL lowered")
	}
	return out, nil
}

// SwapOptions change what Swap does.
type SwapOptions struct {
	// Reverse restores the values recorded before the swap.
	Reverse bool
	// Force swaps even though the old TTL may not have expired.
	Force bool
	// Read, when set, is given the TTLs read just before the change, once
	// the swap is allowed and before anything changes (the runbook
	// journals them).
	Read func([]TTLReading) error
}

// SwapReport is what a swap did and what the DNS answered afterwards.
type SwapReport struct {
	Changes []Planned `json:"changes"`
	// TTLs: how long clients may cache each record's value before the
	// change, read just before it (for an alias, its target's TTL).
	TTLs        []TTLReading  `json:"ttls_read"`
	Propagation []Propagation `json:"propagation"`
	Converged   bool          `json:"converged"`
	Resolver    []Answer      `json:"resolver"`
}

// Swap points every record at the new side (or, reverse, back at the old)
// in one atomic batch, then waits until every authoritative server answers
// the new values. Right before, it reads each record's TTL (an alias's
// target's), reports it, and, unless forced, refuses (exit 2, nothing
// changed) a TTL above dns.cutover_ttl, and a swap before the old TTL has
// expired since the lowering, or since a raise or change seen (CheckTTL).
func (s *Swapper) Swap(ctx context.Context, opts SwapOptions) (*SwapReport, error) {
	plan, err := s.Plan(ctx, opts.Reverse)
	if err != nil {
		return nil, err
	}
	st, err := loadState(s.stateDir)
	if err != nil {
		return nil, err
	}
	var current []RecordSet
	for _, p := range plan {
		if !p.Done {
			current = append(current, p.From)
		}
	}
	readings, err := s.readTTLs(ctx, current)
	if err != nil {
		return nil, err
	}
	if !opts.Reverse {
		refusal, noticed := s.judgeAll(st, readings)
		if refusal == nil {
			refusal = s.waitLeft(st, readings)
		}
		// The readings are kept when the swap goes ahead; a raise or a
		// change seen, even when it is refused.
		if refusal == nil || opts.Force || noticed {
			if err := s.keepReadings(st, readings); err != nil {
				return nil, err
			}
		}
		if refusal != nil && !opts.Force {
			return nil, refusal
		}
	}
	if opts.Read != nil && len(readings) > 0 {
		if err := opts.Read(readings); err != nil {
			return nil, err
		}
	}
	var changes []Change
	for _, p := range plan {
		if p.Done {
			continue
		}
		if !opts.Reverse {
			src := p.From // the old side's value, for swap --reverse
			st.record(p.Key).Source = &src
		}
		changes = append(changes, Change{From: p.From, To: p.To})
	}
	report := &SwapReport{Changes: plan, TTLs: readings}
	if len(changes) > 0 {
		refused, err := st.saveBeforeApply(s.stateDir)
		if err != nil {
			return nil, err
		}
		if err := s.provider.Apply(ctx, changes); err != nil {
			return nil, refused(err)
		}
		for _, c := range changes {
			r := st.record(c.To.Key)
			r.SwappedAt = time.Time{}
			if !opts.Reverse {
				r.SwappedAt = s.now().UTC()
			}
			s.log.Info().Stringer("record", c.To.Key).Str("from", c.From.ValueString()).Str("to", c.To.ValueString()).Msg("record swapped")
		}
		if err := st.save(s.stateDir); err != nil {
			return nil, err
		}
	}
	want := make([]RecordSet, len(plan))
	for i, p := range plan {
		want[i] = p.To
	}
	if err := s.checkPropagation(ctx, want, report); err != nil {
		return report, err
	}
	if !report.Converged {
		return report, &PropagationError{Report: report}
	}
	return report, nil
}

// waitLeft refuses a swap while a client may still cache a value with a
// TTL the record had before it was lowered (or was seen raised to, or may
// have been, since).
func (s *Swapper) waitLeft(st *state, readings []TTLReading) error {
	now := s.now()
	for _, rd := range readings {
		if left := rd.SwapAllowedAt.Sub(now); left > 0 {
			r := st.record(rd.Key)
			why := r.Why
			if why == "" {
				why = fmt.Sprintf("was lowered from %ds at %s", r.OldTTL, r.LoweredAt.Format(time.RFC3339))
			}
			return &RefusedError{Reason: fmt.Sprintf("the TTL of %s %s; clients may cache the old value until %s, %s from now: wait, or pass --force",
				rd.Key, why, rd.SwapAllowedAt.Format(time.RFC3339), left.Round(time.Second))}
		}
	}
	return nil
}

// RecordStatus is one record as it is now.
type RecordStatus struct {
	Current RecordSet `json:"current"`
	// PointsAt is "target" (the swap's value), "source" (the value
	// recorded on the old side), or "other".
	PointsAt      string    `json:"points_at"`
	LoweredAt     time.Time `json:"lowered_at,omitzero"`
	SwapAllowedAt time.Time `json:"swap_allowed_at,omitzero"`
}

// Status reads every record and tells where it points.
func (s *Swapper) Status(ctx context.Context) ([]RecordStatus, error) {
	st, want, current, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RecordStatus, len(want))
	for i, d := range want {
		rs := RecordStatus{Current: current[i], PointsAt: "other"}
		r := st.lookup(d.Key)
		switch {
		case current[i].SameValue(d.Target):
			rs.PointsAt = "target"
		case r != nil && r.Source != nil && current[i].SameValue(*r.Source):
			rs.PointsAt = "source"
		}
		if r != nil && !r.LoweredAt.IsZero() {
			rs.LoweredAt = r.LoweredAt
			rs.SwapAllowedAt = r.swapAllowedAt()
		}
		out[i] = rs
	}
	return out, nil
}
