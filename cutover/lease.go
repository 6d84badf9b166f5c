package cutover

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

// The lease keeps a second operator out of the databases. run.lock, an
// flock, only guards one state_dir on one host; two runs from two hosts,
// or from two state_dirs, would fence each other and each open a side.
// So a runbook that acts (run, resume, rollback, rehearse) also holds:
//
//   - a named lock on the source (GET_LOCK on a connection of its own),
//     which the server frees when that connection ends, and
//   - a row in the target's checkpoint schema naming the holder (host,
//     pid, state_dir, command) with a heartbeat refreshed every
//     leaseHeartbeat.
//
// A second runbook refuses while either is held by someone else, naming
// the holder. A holder's row whose heartbeat is older than leaseExpiry is
// a dead holder's; so is one from the same host and state_dir, since the
// flock held there proves its process gone (resume right after a crash).
// A holder that finds its row taken over stops at the next step.

const (
	leaseHeartbeat = 2 * time.Second
	leaseExpiry    = 30 * time.Second
)

// lease is a held lease.
type lease struct {
	conn   *sql.Conn // on the source, holding the named lock
	connID int64     // its id, which the fence does not kill
	name   string    // the named lock's
	target *sql.DB
	table  string // the lease table, quoted
	holder leaseHolder
	lost   atomic.Bool // the row was taken over
	stop   context.CancelFunc
	done   chan struct{}
}

type leaseHolder struct {
	host, stateDir, command string
	pid                     int
}

func (h leaseHolder) String() string {
	return fmt.Sprintf("switcharoo %s, host %s, pid %d, state_dir %s", h.command, h.host, h.pid, h.stateDir)
}

// takeLease takes the lease for the command (run, resume, rollback), or
// refuses naming its holder, or a server that answers nothing.
func (rb *Runbook) takeLease(ctx context.Context, command string) (l *lease, err error) {
	err = reaching(ctx, func(ctx context.Context) (err error) {
		l, err = rb.holdLease(ctx, command)
		return err
	}, rb.source, rb.target)
	var u *unreachableError
	if errors.As(err, &u) {
		return nil, &RefusedError{Reason: fmt.Sprintf("%v; %s changed nothing: run it again once switcharoo reaches the %s", err, command, u.server)}
	}
	return l, err
}

func (rb *Runbook) holdLease(ctx context.Context, command string) (*lease, error) {
	host, _ := os.Hostname()
	dir, err := filepath.Abs(rb.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	schema := rb.cfg.Replication.CheckpointSchema
	l := &lease{target: rb.target.db, table: catalog.QuoteIdent(schema) + ".runbook_lease",
		holder: leaseHolder{host: host, pid: os.Getpid(), stateDir: dir, command: command}}
	if _, err := rb.target.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+l.table+` (
			id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
			host VARCHAR(255) NOT NULL, pid INT NOT NULL, state_dir VARCHAR(1024) NOT NULL, command VARCHAR(32) NOT NULL,
			heartbeat_at DATETIME(6) NOT NULL
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`); err != nil {
		return nil, fmt.Errorf("target: create the runbook's lease table: %w", err)
	}
	if l.conn, err = rb.source.db.Conn(ctx); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	name := leaseLockName(schema)
	// A short wait_timeout, kept from expiring by the heartbeat's ping: a
	// holder gone without its TCP connection closing (a VPN drop, a host
	// lost) frees the lock within it, not after the server's default 8 h.
	if _, err := l.conn.ExecContext(ctx, fmt.Sprintf("SET SESSION wait_timeout = %d", int(leaseExpiry.Seconds()))); err != nil {
		l.conn.Close()
		return nil, fmt.Errorf("source: %w", err)
	}
	if err := l.conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&l.connID); err != nil {
		l.conn.Close()
		return nil, fmt.Errorf("source: %w", err)
	}
	var got sql.NullInt64
	if err := l.conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", name).Scan(&got); err != nil {
		l.conn.Close()
		return nil, fmt.Errorf("source: GET_LOCK: %w", err)
	}
	if got.Int64 != 1 {
		if ok, err := l.takeFromDeadSelf(ctx, rb, name); err != nil || !ok {
			l.conn.Close()
			if err != nil {
				return nil, err
			}
			if err := rb.checkLease(ctx); err != nil {
				return nil, err
			}
			return nil, &RefusedError{Reason: fmt.Sprintf("another switcharoo runbook holds the night: the named lock %s on the source was taken", name)}
		}
	}
	l.name = name
	if err := l.claim(ctx); err != nil {
		l.unlock()
		return nil, err
	}
	hctx, stop := context.WithCancel(context.Background())
	l.stop, l.done = stop, make(chan struct{})
	go l.beat(hctx)
	return l, nil
}

// id is the lease connection's id on the source; 0 without a lease.
func (l *lease) id() int64 {
	if l == nil {
		return 0
	}
	return l.connID
}

// takeFromDeadSelf takes the named lock from a holder that was this
// host's runbook on this state_dir: the state_dir's flock, held now,
// proves that process gone, but the server keeps its connection, and the
// lock, until it notices (a network that dropped, a host that died: up to
// the lease connection's wait_timeout). That connection is ended.
func (l *lease) takeFromDeadSelf(ctx context.Context, rb *Runbook, name string) (bool, error) {
	holder, _, err := l.read(ctx)
	if err != nil || holder == nil || holder.host != l.holder.host || holder.stateDir != l.holder.stateDir {
		return false, err
	}
	var id sql.NullInt64
	if err := rb.source.db.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", name).Scan(&id); err != nil {
		return false, fmt.Errorf("source: %w", err)
	}
	if id.Valid {
		rb.log.Warn().Int64("connection", id.Int64).Str("holder", holder.String()).Msg("the night's named lock is held by a connection of this state_dir's earlier runbook, which is gone; ending it")
		if err := rb.source.kill(ctx, id.Int64); err != nil {
			return false, fmt.Errorf("source: end the earlier runbook's lease connection %d: %w", id.Int64, err)
		}
	}
	var got sql.NullInt64
	if err := l.conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 10)", name).Scan(&got); err != nil {
		return false, fmt.Errorf("source: GET_LOCK: %w", err)
	}
	return got.Int64 == 1, nil
}

// checkLease refuses, reading only, while another runbook holds the
// lease: run checks it before its preflight, whose own findings (a quiet
// replicator, a fenced source) would otherwise hide who holds the night.
func (rb *Runbook) checkLease(ctx context.Context) error {
	schema := rb.cfg.Replication.CheckpointSchema
	name := leaseLockName(schema)
	var conn sql.NullInt64
	if err := rb.source.db.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", name).Scan(&conn); err != nil || !conn.Valid {
		return nil // free, or the source unreachable: preflight says so
	}
	l := &lease{target: rb.target.db, table: catalog.QuoteIdent(schema) + ".runbook_lease"}
	holder, _, err := l.read(ctx)
	if err != nil || holder == nil {
		return &RefusedError{Reason: fmt.Sprintf("another switcharoo runbook holds the night: the named lock %s on the source is held by its connection %d", name, conn.Int64)}
	}
	return &RefusedError{Reason: fmt.Sprintf("another switcharoo runbook holds the night (%s; the named lock %s on the source, connection %d): only one operator runs it", holder, name, conn.Int64)}
}

// leaseLockName names the named lock: "switcharoo.<checkpoint schema>",
// shortened with a hash of the schema where it would pass the 64
// characters MySQL 5.7 and later allow.
func leaseLockName(schema string) string {
	name := "switcharoo." + schema
	if len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(schema))
	return name[:47] + "." + hex.EncodeToString(sum[:8])
}

// read reads the lease row: its holder and the heartbeat's age.
func (l *lease) read(ctx context.Context) (*leaseHolder, time.Duration, error) {
	return l.readFrom(ctx, l.target, "")
}

// readFrom reads the lease row through q, with lock appended to the
// SELECT ("FOR UPDATE" inside claim's transaction); no row is a nil
// holder.
func (l *lease) readFrom(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, lock string) (*leaseHolder, time.Duration, error) {
	var h leaseHolder
	var ageMicros int64
	err := q.QueryRowContext(ctx, `SELECT host, pid, state_dir, command, TIMESTAMPDIFF(MICROSECOND, heartbeat_at, UTC_TIMESTAMP(6))
		FROM `+l.table+` WHERE id = 1 `+lock).Scan(&h.host, &h.pid, &h.stateDir, &h.command, &ageMicros)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("target: read the runbook's lease: %w", err)
	}
	return &h, time.Duration(ageMicros) * time.Microsecond, nil
}

// claim writes the row, unless a live holder elsewhere has it.
func (l *lease) claim(ctx context.Context) error {
	tx, err := l.target.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer tx.Rollback()
	h, age, err := l.readFrom(ctx, tx, "FOR UPDATE")
	if err != nil {
		return err
	}
	if h != nil && !(h.host == l.holder.host && h.stateDir == l.holder.stateDir) && age < leaseExpiry {
		return &RefusedError{Reason: fmt.Sprintf("another switcharoo runbook holds the night (%s; its heartbeat on the target is %s old): only one operator runs it; "+
			"if that process is gone, its lease expires %s after its last heartbeat", h, age.Round(time.Millisecond), leaseExpiry)}
	}
	if _, err := tx.ExecContext(ctx, `REPLACE INTO `+l.table+` (id, host, pid, state_dir, command, heartbeat_at) VALUES (1, ?, ?, ?, ?, UTC_TIMESTAMP(6))`,
		l.holder.host, l.holder.pid, l.holder.stateDir, l.holder.command); err != nil {
		return fmt.Errorf("target: take the runbook's lease: %w", err)
	}
	return tx.Commit()
}

// beat refreshes the heartbeat until stopped; a row no longer ours is a
// lease lost. A target it cannot reach loses nothing: the named lock on
// the source still holds, and the steps find the target gone themselves.
func (l *lease) beat(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(leaseHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.renew(ctx)
	}
}

// renew pings the named lock's connection (its wait_timeout is short) and
// refreshes the heartbeat row, each bounded: a hung target must not
// starve the source's ping.
func (l *lease) renew(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, leaseHeartbeat)
	_ = l.conn.PingContext(pctx)
	cancel()
	uctx, cancel := context.WithTimeout(ctx, leaseHeartbeat)
	defer cancel()
	res, err := l.target.ExecContext(uctx, `UPDATE `+l.table+` SET heartbeat_at = UTC_TIMESTAMP(6)
		WHERE id = 1 AND host = ? AND pid = ? AND state_dir = ?`, l.holder.host, l.holder.pid, l.holder.stateDir)
	if err != nil {
		return
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		l.lost.Store(true)
	}
}

// check fails once the lease was taken over.
func (l *lease) check() error {
	if l != nil && l.lost.Load() {
		return &HumanError{Reason: "another switcharoo runbook took over the lease on the night while this one ran (its heartbeat must have stopped for " + leaseExpiry.String() + "): this one stops; see who holds it in the checkpoint schema's runbook_lease table on the target"}
	}
	return nil
}

// release gives the lease up.
func (l *lease) release() {
	if l == nil {
		return
	}
	l.stop()
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = l.target.ExecContext(ctx, `DELETE FROM `+l.table+` WHERE id = 1 AND host = ? AND pid = ? AND state_dir = ?`, l.holder.host, l.holder.pid, l.holder.stateDir)
	l.unlock()
}

// unlock releases the named lock: the connection goes back to the pool,
// which would keep the lock with it. (A process that dies closes it, and
// the server frees the lock.)
func (l *lease) unlock() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = l.conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", l.name)
	_ = l.conn.Close()
}
