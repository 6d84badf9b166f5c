package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"time"
)

// The heartbeat is a row on the source, in the checkpoint schema, that
// replicate updates every replication.heartbeat with the time by its own
// clock (so clock skew between servers does not matter). When the row's
// change comes through the stream and is committed on the target, the
// difference is the true end-to-end lag, even when the source is idle.
//
// The write is skipped while the source is read_only: a SUPER user's write
// would pass read_only and move a fenced source's binlog position. Its
// lock waits are one second, so a global read lock never holds it up.
const heartbeatTable = "heartbeat"

func (r *Replicator) setupHeartbeat(ctx context.Context) error {
	// A fenced source (read_only, perhaps a global read lock: a replicator
	// restarted during the night) gets no statement at all: even a CREATE
	// DATABASE IF NOT EXISTS of an existing database is written to the
	// binlog, and it would wait behind the lock.
	conn, err := r.source.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer conn.Close()
	var readOnly bool
	if err := conn.QueryRowContext(ctx, "SELECT @@global.read_only").Scan(&readOnly); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if readOnly {
		return errors.New("source: read_only is on (fenced?); the heartbeat is set up once it is off")
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 1"); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	cs := catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema)
	for _, stmt := range []string{
		"CREATE DATABASE IF NOT EXISTS " + cs,
		"CREATE TABLE IF NOT EXISTS " + cs + "." + heartbeatTable + " (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, ts BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		"INSERT IGNORE INTO " + cs + "." + heartbeatTable + " VALUES (1, 0)",
		probeTable(cs),
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("source: %w", err)
		}
	}
	return nil
}

// heartbeat writes the heartbeat row until ctx ends.
func (r *Replicator) heartbeat(ctx context.Context) {
	stmt := "UPDATE " + catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema) + "." + heartbeatTable +
		" SET ts = ? WHERE id = 1 AND @@global.read_only = 0"
	t := time.NewTicker(r.cfg.Replication.Heartbeat)
	defer t.Stop()
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.control.beat.Lock()
		var err error
		if r.control.get() == CommandRun {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err = r.beat(wctx, &conn, stmt)
			cancel()
		}
		r.control.beat.Unlock()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			r.log.Warn().Err(err).Msg("heartbeat write failed; retrying every interval")
			failing = true
		case err == nil && failing:
			r.log.Info().Msg("heartbeat writes again")
			failing = false
		}
	}
}

// beat writes one heartbeat, (re)connecting first when needed.
func (r *Replicator) beat(ctx context.Context, conn **sql.Conn, stmt string) error {
	if *conn == nil {
		c, err := r.source.db.Conn(ctx)
		if err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, "SET SESSION lock_wait_timeout = 1, innodb_lock_wait_timeout = 1"); err != nil {
			c.Close()
			return err
		}
		*conn = c
	}
	if _, err := (*conn).ExecContext(ctx, stmt, time.Now().UnixMicro()); err != nil {
		(*conn).Close()
		*conn = nil
		return err
	}
	return nil
}

// probeTable is where the runbook's write probe writes, as an application
// user, on whichever server the application's name leads to.
func probeTable(schema string) string {
	return "CREATE TABLE IF NOT EXISTS " + schema + ".probe (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, at DATETIME(6) NOT NULL) ENGINE=InnoDB"
}
