package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"time"
)

// snapshot is a set of source connections that all read the database as
// of one binlog position.
type snapshot struct {
	pos      Position
	gtid     string
	lockTime time.Duration
	conns    []*sql.Conn
}

// takeSnapshot opens n connections reading the source as of one position:
// FLUSH TABLES WITH READ LOCK is held only while each connection starts a
// consistent-snapshot transaction and the position is read, then released.
// The lock waits at most lockWait for running statements to finish.
func takeSnapshot(ctx context.Context, src *sql.DB, flavor string, n int, lockWait time.Duration) (*snapshot, error) {
	s := &snapshot{}
	taken := false
	defer func() {
		if !taken {
			s.release() // the connections opened so far
		}
	}()
	lock, err := src.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	// Everything that can be done before the lock is.
	for range n {
		c, err := src.Conn(ctx)
		if err != nil {
			return nil, err
		}
		s.conns = append(s.conns, c)
		if _, err := c.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
			return nil, err
		}
	}
	if _, err := lock.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", max(int(lockWait.Seconds()), 1))); err != nil {
		return nil, err
	}

	start := time.Now()
	if _, err := lock.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		return nil, fmt.Errorf("FLUSH TABLES WITH READ LOCK: %w", err)
	}
	unlock := func() error {
		// Never leave the source locked, even when ctx has ended.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := lock.ExecContext(uctx, "UNLOCK TABLES")
		return err
	}
	for _, c := range s.conns {
		if _, err := c.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
			return nil, errors.Join(err, unlock())
		}
	}
	s.pos, s.gtid, err = masterStatus(ctx, lock, flavor)
	if err != nil {
		return nil, errors.Join(err, unlock())
	}
	if err := unlock(); err != nil {
		return nil, fmt.Errorf("UNLOCK TABLES: %w", err)
	}
	s.lockTime = time.Since(start)
	taken = true
	return s, nil
}

// release ends the snapshot transactions and returns the connections.
func (s *snapshot) release() {
	for _, c := range s.conns {
		_, _ = c.ExecContext(context.Background(), "ROLLBACK")
		c.Close()
	}
	s.conns = nil
}

// CurrentPosition reads a server's current binlog position: where the next
// transaction it writes will start. The runbook records it at the fence;
// the verifier waits for the checkpoint to pass it.
func CurrentPosition(ctx context.Context, q catalog.Queryer) (Position, error) {
	p, _, err := masterStatus(ctx, q, "")
	return p, err
}

// masterStatus reads the source's current binlog position, and its GTID
// set (MySQL: Executed_Gtid_Set; MariaDB: gtid_binlog_pos).
func masterStatus(ctx context.Context, q catalog.Queryer, flavor string) (Position, string, error) {
	rows, err := q.QueryContext(ctx, "SHOW MASTER STATUS")
	if mysqlErrno(err) == 1064 { // MySQL 8.4 renamed it
		rows, err = q.QueryContext(ctx, "SHOW BINARY LOG STATUS")
	}
	if err != nil {
		return Position{}, "", fmt.Errorf("SHOW MASTER STATUS: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Position{}, "", err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Position{}, "", err
		}
		return Position{}, "", errors.New("SHOW MASTER STATUS is empty: binary logging is off")
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return Position{}, "", err
	}
	var p Position
	var pos uint64
	if _, err := fmt.Sscan(vals[1].String, &pos); err != nil {
		return Position{}, "", fmt.Errorf("SHOW MASTER STATUS: position %q: %w", vals[1].String, err)
	}
	p.File, p.Pos = vals[0].String, uint32(pos)
	var gtid string
	switch {
	case flavor == "":
	case flavor == "mariadb":
		rows.Close()
		if err := q.QueryRowContext(ctx, "SELECT @@gtid_binlog_pos").Scan(&gtid); err != nil {
			return Position{}, "", fmt.Errorf("read gtid_binlog_pos: %w", err)
		}
	case len(vals) > 4:
		gtid = vals[4].String
	}
	return p, gtid, nil
}
