package binlog

import (
	"context"
	"fmt"
	"net"
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
	err    chan error // the reader's last error; closed channel never
	done   chan struct{}
}

// eventBuffer bounds the events read ahead of the applier: memory stays
// bounded whatever the backlog.
const eventBuffer = 1024

// openStream starts reading the source's binlog at from. The reader
// goroutine ends when ctx ends or the connection fails; close releases
// the connection and waits for it.
func (r *Replicator) openStream(ctx context.Context, from Position) (*stream, error) {
	src := r.cfg.Source
	tlsCfg, err := mysqlconn.TLSConfig(src)
	if err != nil {
		return nil, err
	}
	heartbeat := min(r.cfg.Replication.StallTimeout/3, 10*time.Second)
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
		ReadTimeout:             r.cfg.Replication.StallTimeout,
		DisableRetrySync:        true, // we resume from a transaction boundary ourselves
		VerifyChecksum:          true,
		EventCacheCount:         eventBuffer,
		Logger:                  logging.Slog(r.log.With().Str("component", "binlog-syncer").Logger(), src.Password),
		Dialer: (&net.Dialer{
			Timeout:   src.ConnectTimeout,
			KeepAlive: 10 * time.Second,
		}).DialContext,
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
				s.err <- err
				return
			}
			select {
			case s.events <- ev:
			case <-ctx.Done():
				s.err <- ctx.Err()
				return
			}
		}
	}()
	return s, nil
}

// next returns the next event, waiting as long as it takes: a stalled
// connection ends in the syncer's read timeout.
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
		s.err <- err // keep it for the next call
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
