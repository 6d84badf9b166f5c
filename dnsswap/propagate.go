package dnsswap

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Answer is what one server answered for one record.
type Answer struct {
	Record string   `json:"record,omitempty"`
	Server string   `json:"server"`
	Values []string `json:"values"`
	TTL    uint32   `json:"ttl"`
	Error  string   `json:"error,omitempty"`
}

// ServerAnswer is an authoritative server's last answer for a record, and
// how long after the change it first gave the new value.
type ServerAnswer struct {
	Answer
	Converged bool  `json:"converged"`
	AfterMS   int64 `json:"after_ms"`
}

// Propagation is how one record reached the authoritative servers.
type Propagation struct {
	Key
	Want      string         `json:"want"`
	Servers   []ServerAnswer `json:"servers"`
	Converged bool           `json:"converged"`
	Note      string         `json:"note,omitempty"`
}

// checkPropagation queries every authoritative server directly until each
// answers every record's new value, or dns.propagation_timeout passes;
// then asks the resolver a client would use, to report what clients see
// and how long their caches may keep it.
func (s *Swapper) checkPropagation(ctx context.Context, want []RecordSet, report *SwapReport) error {
	servers, err := s.nameservers(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PropagationTimeout)
	defer cancel()
	report.Propagation = make([]Propagation, len(want))
	report.Converged = true
	var wg sync.WaitGroup
	for i, w := range want {
		p := &report.Propagation[i]
		*p = Propagation{Key: w.Key, Want: w.ValueString(), Converged: true}
		if w.Alias != nil {
			// Authoritative servers answer an alias with its target's
			// addresses; Route 53's INSYNC already covers all of them.
			p.Note = "alias: in sync on every Route 53 server (GetChange INSYNC)"
			continue
		}
		p.Servers = make([]ServerAnswer, len(servers))
		for j, server := range servers {
			wg.Go(func() { p.Servers[j] = waitFor(ctx, server, w, start) })
		}
	}
	wg.Wait()
	for i := range report.Propagation {
		p := &report.Propagation[i]
		for _, a := range p.Servers {
			p.Converged = p.Converged && a.Converged
		}
		report.Converged = report.Converged && p.Converged
		for _, a := range p.Servers {
			s.log.Info().Stringer("record", p.Key).Str("server", a.Server).Bool("converged", a.Converged).
				Int64("after_ms", a.AfterMS).Strs("answer", a.Values).Str("error", a.Error).Msg("authoritative answer")
		}
	}
	report.Resolver = s.resolverView(context.WithoutCancel(ctx), want)
	return nil
}

// nameservers are the authoritative servers to ask: dns.nameservers, or
// the zone's.
func (s *Swapper) nameservers(ctx context.Context) ([]string, error) {
	if len(s.cfg.Nameservers) > 0 {
		return s.cfg.Nameservers, nil
	}
	return s.provider.Nameservers(ctx)
}

// waitFor polls one server until it answers the wanted value.
func waitFor(ctx context.Context, server string, want RecordSet, start time.Time) ServerAnswer {
	c := &dns.Client{Timeout: 2 * time.Second}
	var last ServerAnswer
	for {
		rs, err := query(ctx, c, server, want.Key, false)
		last = ServerAnswer{Answer: Answer{Server: server, Values: rs.Values, TTL: rs.TTL}}
		if err != nil {
			last.Error = err.Error()
		} else if rs.SameValue(want) {
			last.Converged, last.AfterMS = true, time.Since(start).Milliseconds()
			return last
		}
		select {
		case <-ctx.Done():
			last.AfterMS = time.Since(start).Milliseconds()
			return last
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// resolverView asks the resolver a client would use for each record once.
func (s *Swapper) resolverView(ctx context.Context, want []RecordSet) []Answer {
	resolver := s.cfg.Resolver
	if resolver == "" {
		conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(conf.Servers) == 0 {
			return []Answer{{Error: "no resolver configured (/etc/resolv.conf)"}}
		}
		resolver = net.JoinHostPort(conf.Servers[0], conf.Port)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c := &dns.Client{Timeout: 2 * time.Second}
	out := make([]Answer, len(want))
	for i, w := range want {
		rs, err := query(ctx, c, resolver, w.Key, true)
		out[i] = Answer{Record: w.Key.String(), Server: resolver, Values: rs.Values, TTL: rs.TTL}
		if err != nil {
			out[i].Error = err.Error()
		}
	}
	return out
}
