package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/cockpit"
	"github.com/switcharoo/switcharoo/internal/config"
)

// probe writes as the application would: as an application user, to the
// name the application connects to, resolved afresh for every connection
// (a client that does not cache DNS). Run through the night, its record of
// where and when writes landed measures how long writes were unavailable.
type probe struct {
	cfg      config.SQLProbe
	schema   string
	resolver *net.Resolver
	interval time.Duration

	mu    sync.Mutex
	runs  []probeRun     // in time order
	board *cockpit.Board // nil: no cockpit
}

// maxProbeRuns bounds the record (and the journal): a probe that flips
// between outcomes at every write for more than ten minutes stops
// recording new runs, but for a switch to another server (note).
const maxProbeRuns = 10_000

func newProbe(c *config.Config) *probe {
	if c.Checks.SQLProbe.Host == "" {
		return nil
	}
	p := &probe{cfg: c.Checks.SQLProbe, schema: c.Replication.CheckpointSchema, interval: 50 * time.Millisecond, resolver: net.DefaultResolver}
	if r := c.DNS.Resolver; r != "" {
		p.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, r)
		}}
	}
	return p
}

// write makes one write and says which server took it. Unless commit,
// the write is rolled back: it proves the application could write there
// (read_only and a global read lock refuse the statement itself) and
// leaves nothing, for the preflight, which changes nothing.
func (p *probe) write(ctx context.Context, commit bool) (uint32, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := p.resolver.LookupHost(ctx, p.cfg.Host)
	if err != nil || len(addrs) == 0 {
		return 0, fmt.Errorf("resolve %s: %v", p.cfg.Host, err)
	}
	c := mysql.NewConfig()
	c.User, c.Passwd = p.cfg.User, p.cfg.Password.Reveal()
	c.Net, c.Addr = "tcp", net.JoinHostPort(addrs[0], strconv.Itoa(p.cfg.Port))
	c.Timeout, c.ReadTimeout, c.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
	c.Logger = &mysql.NopLogger{}
	// A write must fail, not wait, under a global read lock.
	c.Params = map[string]string{"lock_wait_timeout": "1", "innodb_lock_wait_timeout": "1"}
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return 0, err
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+catalog.QuoteIdent(p.schema)+".probe (at) VALUES (NOW(6))"); err != nil {
		return 0, err
	}
	var id uint32
	if err := tx.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id); err != nil {
		return 0, err
	}
	if !commit {
		return id, tx.Rollback()
	}
	return id, tx.Commit()
}

// run writes every interval until ctx ends. Each change of outcome (the
// writes land on another server, start or stop failing) ends a run of
// writes and starts another: both go to record, for the journal.
func (p *probe) run(ctx context.Context, record func(probeRun)) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		id, _ := p.write(ctx, true)
		at := time.Now()
		for _, r := range p.note(id, at) {
			record(r)
		}
		p.board.Probed(at, id)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// note adds one write, taken by server id (0: failed) at at, and returns
// the runs to journal: the one it ended and the one it began. Past
// maxProbeRuns (a write path flapping between a server and failure) a
// write that fails, or lands where the last one that landed did, begins
// no run; one that lands on another server still does, up to twice the
// bound: the switch the report measures is never lost to earlier flapping.
func (p *probe) note(id uint32, at time.Time) (changed []probeRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.runs)
	if n > 0 && p.runs[n-1].ServerID == id {
		p.runs[n-1].Last = at
		p.runs[n-1].Count++
		return nil
	}
	if n >= maxProbeRuns && (n >= 2*maxProbeRuns || id == 0 || id == p.lastServer()) {
		return nil
	}
	if n > 0 {
		changed = append(changed, p.runs[n-1])
	}
	p.runs = append(p.runs, probeRun{ServerID: id, First: at, Last: at, Count: 1})
	return append(changed, p.runs[n])
}

// lastServer is the server that took the last write that landed, 0 if
// none did. Under p.mu.
func (p *probe) lastServer() uint32 {
	for i := len(p.runs) - 1; i >= 0; i-- {
		if p.runs[i].ServerID != 0 {
			return p.runs[i].ServerID
		}
	}
	return 0
}

// current is the run of writes under way, if any.
func (p *probe) current() (probeRun, bool) {
	if p == nil {
		return probeRun{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.runs) == 0 {
		return probeRun{}, false
	}
	return p.runs[len(p.runs)-1], true
}

// restore merges a run of writes read from the journal: a run journaled
// again later (longer by then) replaces what was read of it before.
func (p *probe) restore(data map[string]string) error {
	if p == nil {
		return nil
	}
	r, err := parseProbeRun(data)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.runs {
		if q := &p.runs[i]; q.ServerID == r.ServerID && q.First.Equal(r.First) {
			if r.Last.After(q.Last) {
				q.Last = r.Last
			}
			q.Count = max(q.Count, r.Count)
			return nil
		}
	}
	p.runs = append(p.runs, r)
	slices.SortStableFunc(p.runs, func(a, b probeRun) int { return a.First.Compare(b.First) })
	return nil
}

// waitWrite waits until the last write the probe made landed on server
// id, or timeout.
func (p *probe) waitWrite(ctx context.Context, id uint32, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if r, ok := p.current(); ok && r.ServerID == id {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.interval):
		}
	}
}

// probeRun is a run of consecutive probe writes with one outcome: taken
// by one server, or failed (ServerID 0). The journal keeps these, not
// every write: a crash loses at most the writes of the run under way
// since it was last journaled (when it began, or at the last step's
// start).
type probeRun struct {
	ServerID    uint32
	First, Last time.Time
	Count       int
}

// data is the run as a journal event's data.
func (r probeRun) data() map[string]string {
	return map[string]string{"server_id": strconv.FormatUint(uint64(r.ServerID), 10),
		"first": r.First.UTC().Format(time.RFC3339Nano), "last": r.Last.UTC().Format(time.RFC3339Nano), "writes": strconv.Itoa(r.Count)}
}

func parseProbeRun(data map[string]string) (probeRun, error) {
	id, err1 := strconv.ParseUint(data["server_id"], 10, 32)
	first, err2 := time.Parse(time.RFC3339Nano, data["first"])
	last, err3 := time.Parse(time.RFC3339Nano, data["last"])
	n, err4 := strconv.Atoi(data["writes"])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return probeRun{}, fmt.Errorf("a probe event in the journal: %w", err)
	}
	return probeRun{ServerID: uint32(id), First: first, Last: last, Count: n}, nil
}

// Unavailability is what the probe saw of one switch of servers.
type Unavailability struct {
	// LastOld and FirstNew: the last write taken by the old primary and
	// the first taken by the new one.
	LastOld  time.Time `json:"last_write_old"`
	FirstNew time.Time `json:"first_write_new"`
	// WindowMS is the time between them: writes were unavailable that
	// long for a client that resolves the name afresh.
	WindowMS int64 `json:"window_ms"`
	// DNSCacheMS is how much longer a client that caches DNS may have
	// kept writing to the old name: up to the longest TTL read just before
	// the swap (for an alias, its target's), listed in DNSTTLRead. Without
	// a swap, both are empty.
	DNSCacheMS int64  `json:"dns_cache_ms"`
	DNSTTLRead string `json:"dns_ttl_read,omitempty"`
	Writes     int    `json:"writes"`
	Failures   int    `json:"failures"`
}

// unavailability measures the switch from server from to server to, over
// every run of writes of the night: journaled by earlier processes, and
// this one's.
func (p *probe) unavailability(from, to uint32) *Unavailability {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := &Unavailability{}
	for _, r := range p.runs {
		switch {
		case r.ServerID == from && u.FirstNew.IsZero():
			u.LastOld = r.Last
		case r.ServerID == to && u.FirstNew.IsZero() && !u.LastOld.IsZero():
			u.FirstNew = r.First
		}
		if r.ServerID == 0 {
			u.Failures += r.Count
		} else {
			u.Writes += r.Count
		}
	}
	if !u.LastOld.IsZero() && !u.FirstNew.IsZero() {
		u.WindowMS = u.FirstNew.Sub(u.LastOld).Milliseconds()
	}
	return u
}
