package binlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"time"
)

// The replicator's state lives on the target, in the checkpoint schema, so
// that it commits atomically with the data it describes:
//
//	checkpoint  one row: the source position up to which every transaction
//	            is applied, the GTID set, the schema map at that position,
//	            and a DDL statement in flight (DDL is not transactional).
//	status      one row, refreshed every second while replicate runs:
//	            state, lag, rate, copy progress. Read by `switcharoo status`.
//	snapshot    the consistent snapshots the copy was taken under.
//	chunk       the copy's primary-key ranges, and the snapshot each was
//	            copied under.
//	divergence  row changes that found the target in the wrong state,
//	            with replication.on_divergence: log (divergence.go).
func stateTables(schema string) []string {
	q := catalog.QuoteIdent(schema)
	return []string{
		"CREATE DATABASE IF NOT EXISTS " + q,
		`CREATE TABLE IF NOT EXISTS ` + q + `.checkpoint (
			id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
			source VARCHAR(255) NOT NULL,
			phase VARCHAR(16) NOT NULL,
			binlog_file VARCHAR(255) NOT NULL,
			binlog_pos BIGINT UNSIGNED NOT NULL,
			gtid TEXT NOT NULL,
			event_time BIGINT NOT NULL,
			transactions BIGINT UNSIGNED NOT NULL,
			row_changes BIGINT UNSIGNED NOT NULL,
			schema_json LONGTEXT NOT NULL,
			pending_ddl LONGTEXT NULL,
			updated_at DATETIME(6) NOT NULL
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		`CREATE TABLE IF NOT EXISTS ` + q + `.status (
			id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
			state VARCHAR(16) NOT NULL,
			host VARCHAR(255) NOT NULL,
			pid INT NOT NULL,
			lag_ms BIGINT NOT NULL,
			rows_per_second DOUBLE NOT NULL,
			copy_rows_done BIGINT NOT NULL,
			copy_rows_total BIGINT NOT NULL,
			command VARCHAR(16) NOT NULL,
			updated_at DATETIME(6) NOT NULL
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		`CREATE TABLE IF NOT EXISTS ` + q + `.control (
			id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
			command VARCHAR(16) NOT NULL,
			requested_at DATETIME(6) NOT NULL
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		probeTable(q),
		`CREATE TABLE IF NOT EXISTS ` + q + `.guard (
			id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
			binlog_file VARCHAR(255) NOT NULL,
			binlog_pos BIGINT UNSIGNED NOT NULL
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		`CREATE TABLE IF NOT EXISTS ` + q + `.snapshot (
			id INT UNSIGNED NOT NULL PRIMARY KEY,
			binlog_file VARCHAR(255) NOT NULL,
			binlog_pos BIGINT UNSIGNED NOT NULL,
			gtid TEXT NOT NULL,
			lock_ms BIGINT NOT NULL,
			taken_at DATETIME(6) NOT NULL
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		`CREATE TABLE IF NOT EXISTS ` + q + `.chunk (
			db VARCHAR(64) NOT NULL,
			tbl VARCHAR(64) NOT NULL,
			seq INT UNSIGNED NOT NULL,
			lo VARCHAR(32) NULL,
			hi VARCHAR(32) NULL,
			snapshot_id INT UNSIGNED NULL,
			row_count BIGINT UNSIGNED NOT NULL DEFAULT 0,
			PRIMARY KEY (db, tbl, seq)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		divergenceTable(q),
	}
}

// Phases of the checkpoint.
const (
	phaseCopying   = "copying"
	phaseStreaming = "streaming"
	// phaseSwitched: the switchover happened at this checkpoint; applying
	// anything after it would replay the new side's changes (which reverse
	// replication writes into this source) back onto the new side.
	phaseSwitched = "switched"
)

// Checkpoint is the committed state of replication on the target. Every
// source transaction before Position is applied, and none after it.
type Checkpoint struct {
	Source   string
	Phase    string
	Position Position
	GTID     string
	// EventTime is the source timestamp of the last applied transaction.
	EventTime time.Time
	// Transactions and RowChanges count what has been applied since the
	// copy.
	Transactions uint64
	RowChanges   uint64
	Schema       catalog.Schema
	// PendingDDL is a DDL statement begun at Position and not confirmed.
	PendingDDL string
	UpdatedAt  time.Time
}

// ErrNoCheckpoint means the target holds no replication state: nothing was
// ever copied into it by switcharoo.
var ErrNoCheckpoint = errors.New("no checkpoint on the target")

// ReadCheckpoint reads the checkpoint from the target's checkpoint schema.
// The runbook uses it to wait for the replicator to reach a position.
func ReadCheckpoint(ctx context.Context, target *sql.DB, schema string) (*Checkpoint, error) {
	var c Checkpoint
	var schemaJSON string
	var pending sql.NullString
	var eventTime int64
	var updated string
	err := target.QueryRowContext(ctx, `SELECT source, phase, binlog_file, binlog_pos, gtid, event_time,
		transactions, row_changes, schema_json, pending_ddl, updated_at FROM `+catalog.QuoteIdent(schema)+`.checkpoint WHERE id = 1`).
		Scan(&c.Source, &c.Phase, &c.Position.File, &c.Position.Pos, &c.GTID, &eventTime,
			&c.Transactions, &c.RowChanges, &schemaJSON, &pending, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows) || isNoSuchTable(err):
		return nil, ErrNoCheckpoint
	case err != nil:
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	if eventTime > 0 {
		c.EventTime = time.Unix(eventTime, 0).UTC()
	}
	c.PendingDDL = pending.String
	c.UpdatedAt = parseDatetime(updated)
	if err := json.Unmarshal([]byte(schemaJSON), &c.Schema); err != nil {
		return nil, fmt.Errorf("read checkpoint: schema map: %w", err)
	}
	return &c, nil
}

// writeCheckpoint inserts or replaces the whole checkpoint row.
func writeCheckpoint(ctx context.Context, q execer, schema string, c *Checkpoint) error {
	sj, err := json.Marshal(c.Schema)
	if err != nil {
		return err
	}
	var pending any
	if c.PendingDDL != "" {
		pending = c.PendingDDL
	}
	_, err = q.ExecContext(ctx, `REPLACE INTO `+catalog.QuoteIdent(schema)+`.checkpoint
		(id, source, phase, binlog_file, binlog_pos, gtid, event_time, transactions, row_changes, schema_json, pending_ddl, updated_at)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))`,
		c.Source, c.Phase, c.Position.File, c.Position.Pos, c.GTID, unixOrZero(c.EventTime),
		c.Transactions, c.RowChanges, string(sj), pending)
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// execer is what *sql.DB, *sql.Conn and *sql.Tx share for writing.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// parseDatetime reads a DATETIME(6) in UTC as the server prints it (the
// driver's parseTime is off: copied rows must keep their exact text).
func parseDatetime(s string) time.Time {
	t, _ := time.ParseInLocation("2006-01-02 15:04:05.999999", s, time.UTC)
	return t
}
