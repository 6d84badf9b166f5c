package cutover

import (
	"context"
	"database/sql"
	"fmt"
	"net"
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

	mu     sync.Mutex
	events []probeEvent
	board  *cockpit.Board // nil: no cockpit
}

// probeEvent is one attempted write.
type probeEvent struct {
	At       time.Time
	ServerID uint32 // 0 when the write failed
	Err      string
}

// maxProbeEvents bounds the record: a night at 20 writes a second.
const maxProbeEvents = 200_000

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

// run writes every interval until ctx ends.
func (p *probe) run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		id, err := p.write(ctx, true)
		e := probeEvent{At: time.Now(), ServerID: id}
		if err != nil {
			e.Err = err.Error()
		}
		p.mu.Lock()
		if len(p.events) < maxProbeEvents {
			p.events = append(p.events, e)
		}
		p.mu.Unlock()
		p.board.Probed(e.At, e.ServerID)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitWrite waits until the last write the probe made landed on server
// id, or timeout.
func (p *probe) waitWrite(ctx context.Context, id uint32, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		landed := len(p.events) > 0 && p.events[len(p.events)-1].ServerID == id
		p.mu.Unlock()
		if landed {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.interval):
		}
	}
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
	// kept writing to the old name: up to the records' TTL.
	DNSCacheMS int64 `json:"dns_cache_ms"`
	Writes     int   `json:"writes"`
	Failures   int   `json:"failures"`
}

// unavailability measures the switch from server from to server to.
func (p *probe) unavailability(from, to uint32, dnsTTL time.Duration) *Unavailability {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	u := &Unavailability{DNSCacheMS: dnsTTL.Milliseconds()}
	for _, e := range p.events {
		switch {
		case e.ServerID == from && u.FirstNew.IsZero():
			u.LastOld = e.At
		case e.ServerID == to && u.FirstNew.IsZero() && !u.LastOld.IsZero():
			u.FirstNew = e.At
		}
		if e.ServerID == 0 {
			u.Failures++
		} else {
			u.Writes++
		}
	}
	if !u.LastOld.IsZero() && !u.FirstNew.IsZero() {
		u.WindowMS = u.FirstNew.Sub(u.LastOld).Milliseconds()
	}
	return u
}
