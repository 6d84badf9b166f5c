package binlog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/switcharoo/switcharoo/internal/logging"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
)

// stream is one binlog dump connection to the source, read by its own
// goroutine into a bounded channel, so that the applier can tell "an event
// is waiting" from "the source is quiet" without blocking.
type stream struct {
	syncer *replication.BinlogSyncer
	cancel context.CancelFunc
	events chan *replication.BinlogEvent
	err    chan error // the reader's first error
	done   chan struct{}
}

// eventBuffer bounds the events read ahead of the applier: memory stays
// bounded whatever the backlog.
const eventBuffer = 1024

// heartbeatPeriod is how often the source sends a heartbeat on an idle
// stream: three within stall_timeout.
func heartbeatPeriod(stall time.Duration) time.Duration {
	return min(stall/3, 10*time.Second)
}

// openStream starts reading the source's binlog at from. The reader
// goroutine ends when ctx ends or the connection fails; close releases
// the connection and waits for it.
func (r *Replicator) openStream(ctx context.Context, from Position) (*stream, error) {
	src := r.cfg.Source
	tlsCfg, err := mysqlconn.TLSConfig(src)
	if err != nil {
		return nil, err
	}
	heartbeat := heartbeatPeriod(r.cfg.Replication.StallTimeout)
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID:                r.cfg.Replication.ServerID,
		Flavor:                  r.source.flavor,
		Host:                    src.Host,
		Port:                    uint16(src.Port),
		User:                    src.User,
		Password:                src.Password.Reveal(),
		TLSConfig:               tlsCfg,
		TimestampStringLocation: time.UTC,
		RenderJSONAsMySQLText:   true,
		HeartbeatPeriod:         heartbeat,
		DisableRetrySync:        true, // we resume from a transaction boundary ourselves
		VerifyChecksum:          true,
		EventCacheCount:         eventBuffer,
		Logger:                  logging.Slog(r.log.With().Str("component", "binlog-syncer").Logger(), src.Password),
		Dialer: stallDialer(&net.Dialer{
			Timeout:   src.ConnectTimeout,
			KeepAlive: 10 * time.Second,
		}, r.cfg.Replication.StallTimeout, &r.bytesRead),
	})
	streamer, err := syncer.StartSync(gomysql.Position{Name: from.File, Pos: from.Pos})
	if err != nil {
		syncer.Close()
		return nil, fmt.Errorf("start binlog stream at %s: %w", from, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &stream{
		syncer: syncer,
		cancel: cancel,
		events: make(chan *replication.BinlogEvent, eventBuffer),
		err:    make(chan error, 1),
		done:   make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		for {
			ev, err := streamer.GetEvent(ctx)
			if err != nil {
				if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
					err = fmt.Errorf("no byte from the source for %s (replication.stall_timeout): %w", r.cfg.Replication.StallTimeout, err)
				}
				s.fail(err)
				return
			}
			select {
			case s.events <- ev:
			case <-ctx.Done():
				s.fail(ctx.Err())
				return
			}
		}
	}()
	return s, nil
}

// fail records the stream's first error.
func (s *stream) fail(err error) {
	select {
	case s.err <- err:
	default:
	}
}

// next returns the next event, waiting as long as it takes: a stalled
// connection ends in a read timeout (stallDialer).
func (s *stream) next(ctx context.Context) (*replication.BinlogEvent, error) {
	select {
	case ev := <-s.events:
		return ev, nil
	default:
	}
	select {
	case ev := <-s.events:
		return ev, nil
	case err := <-s.err:
		s.fail(err) // keep it for the next call
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// waiting reports whether an event is ready to be read without waiting.
func (s *stream) waiting() bool { return len(s.events) > 0 }

func (s *stream) close() {
	s.cancel()
	s.syncer.Close()
	<-s.done
}

// stallDialer dials connections whose reads fail once no byte has come for
// stall — the binlog stream's, and the one go-mysql opens to KILL it, which
// on a stalled network would otherwise wait too. go-mysql's ReadTimeout
// does the same by renewing the deadline before every packet, a timer
// update per event that cost a sixth of the replicator's CPU on a backlog;
// stallConn renews it at most every stall/10. It counts the bytes read
// into read.
func stallDialer(d *net.Dialer, stall time.Duration, read *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &stallConn{Conn: c, stall: stall, read: read}, nil
	}
}

// stallConn is a connection whose reads time out after stall without a
// byte, within stall/10. A deadline its user sets replaces that until it
// clears it.
type stallConn struct {
	net.Conn
	stall   time.Duration
	renewed time.Time   // when the deadline was last moved; reads are serial
	manual  atomic.Bool // the user set a deadline of their own
	cleared atomic.Bool // the user cleared theirs: renew at the next read
	read    *atomic.Int64
}

func (c *stallConn) Read(p []byte) (int, error) {
	if !c.manual.Load() {
		if now := time.Now(); c.cleared.Load() && c.cleared.Swap(false) || now.Sub(c.renewed) > c.stall/10 {
			if err := c.Conn.SetReadDeadline(now.Add(c.stall)); err != nil {
				return 0, err
			}
			c.renewed = now
		}
	}
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *stallConn) SetReadDeadline(t time.Time) error {
	c.user(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *stallConn) SetDeadline(t time.Time) error {
	c.user(t)
	return c.Conn.SetDeadline(t)
}

func (c *stallConn) user(t time.Time) {
	c.manual.Store(!t.IsZero())
	c.cleared.Store(t.IsZero())
}
