package binlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
)

// The write guard. A replicator's target must take no write but the
// replicator's: before the switch the forward target is closed to the
// application; after it the old master is fenced by read_only alone, which
// a SUPER user (MySQL 5.6 has no super_read_only) or an event with a SUPER
// definer passes. Such a write is lost to a rollback that re-seeds forward
// replication past it, or to the target of the next switch.
//
// Every transaction the applier commits updates its checkpoint row, so
// the target's own binlog tells the replicator's writes from the others:
// a transaction that writes a replicated table and not the checkpoint was
// made by someone else. The guard reads the target's binlog through SHOW
// BINLOG EVENTS (REPLICATION SLAVE on MySQL, BINLOG MONITOR on MariaDB)
// and records each such transaction in the divergence table, which status
// and the metrics count; the runbook reads the same way that a fenced
// target stands still before it unfences the source.
//
// What it sees is row events (Table_map): a statement-format write or a
// schema change made by someone else on the target is not attributed.

// ForeignWrite is a transaction in a server's binlog that wrote replicated
// tables and not the replicator's checkpoint.
type ForeignWrite struct {
	At     Position // where the transaction starts
	Tables []string
}

func (w ForeignWrite) String() string {
	return fmt.Sprintf("%s wrote %s", w.At, strings.Join(w.Tables, ", "))
}

// eventsPage is how many events one SHOW BINLOG EVENTS reads.
const eventsPage = 5000

// ForeignWrites reads db's binlog from from (a transaction's start) to its
// end and returns the transactions that wrote a table replicated says is
// replicated without writing own's checkpoint table, and the position the
// next read starts from: the end of the last whole transaction read.
func ForeignWrites(ctx context.Context, db *sql.DB, from Position, own string, replicated func(catalog.TableName) bool) (Position, []ForeignWrite, error) {
	files, err := binaryLogs(ctx, db)
	if err != nil {
		return from, nil, err
	}
	// SHOW BINARY LOGS lists the files in the order they were written
	// (their names do not sort past .999999).
	first := slices.Index(files, from.File)
	if first < 0 {
		return from, nil, &PurgedError{From: from, Oldest: files}
	}
	var found []ForeignWrite
	next := from
	for _, file := range files[first:] {
		pos := uint32(4)
		if file == from.File {
			pos = from.Pos
		}
		var txn *ForeignWrite // the open transaction; Tables: what it wrote
		ours := false
		for {
			events, err := binlogEvents(ctx, db, file, pos)
			if err != nil {
				return next, found, err
			}
			for _, e := range events {
				switch {
				// A transaction begins with BEGIN (MariaDB: a "BEGIN GTID"
				// event), an XA transaction with XA START (MariaDB: in its
				// GTID event); a schema change is a Query of its own.
				case e.typ == "Query" && (strings.EqualFold(e.info, "BEGIN") || strings.HasPrefix(e.info, "XA START")) ||
					e.typ == "Gtid" && (strings.HasPrefix(e.info, "BEGIN GTID") || strings.HasPrefix(e.info, "XA START")):
					if txn == nil {
						txn, ours = &ForeignWrite{At: Position{File: file, Pos: e.pos}}, false
					}
				case e.typ == "Table_map" && txn != nil:
					t, ok := tableOfMap(e.info)
					switch {
					case !ok:
					case t.DB == own && t.Table == "checkpoint":
						ours = true
					case replicated(t) && !slices.Contains(txn.Tables, t.String()):
						txn.Tables = append(txn.Tables, t.String())
					}
				// It ends with its commit (Xid, or COMMIT for a
				// non-transactional table), a ROLLBACK (of one that changed
				// a non-transactional table) or, XA, its prepare: XA COMMIT
				// follows as a Query of its own. ROLLBACK TO SAVEPOINT is
				// inside a transaction.
				case e.typ == "Xid" || e.typ == "XA_prepare" || e.typ == "Query" && (strings.HasPrefix(e.info, "COMMIT") ||
					strings.HasPrefix(e.info, "ROLLBACK") && !strings.HasPrefix(e.info, "ROLLBACK TO")):
					if txn != nil && !ours && len(txn.Tables) > 0 {
						found = append(found, *txn)
					}
					txn, next = nil, Position{File: file, Pos: e.end}
				case e.typ == "Query" && txn == nil:
					next = Position{File: file, Pos: e.end} // a schema change: a transaction of its own
				}
				pos = e.end
			}
			if len(events) < eventsPage {
				break
			}
		}
		if txn == nil && file != files[len(files)-1] {
			next = Position{File: file, Pos: pos}
		}
	}
	return next, found, nil
}

// PurgedError: the binlog file a read starts in is gone from the server
// (PURGE BINARY LOGS, expire_logs_days, Aurora's binlog retention hours):
// what was written there cannot be read.
type PurgedError struct {
	From   Position
	Oldest []string // the files there are
}

func (e *PurgedError) Error() string {
	oldest := "none"
	if len(e.Oldest) > 0 {
		oldest = e.Oldest[0]
	}
	return fmt.Sprintf("the binlog file %s is no longer on the server (purged; the oldest is %s): writes from %s until then cannot be read", e.From.File, oldest, e.From)
}

// binaryLogs lists the server's binlog files, oldest first.
func binaryLogs(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("SHOW BINARY LOGS: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var files []string
	for rows.Next() {
		vals := make([]any, len(cols)) // Log_name, File_size[, Encrypted]
		var name string
		vals[0] = &name
		for i := 1; i < len(vals); i++ {
			vals[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	return files, rows.Err()
}

type binlogEvent struct {
	pos, end  uint32
	typ, info string
}

// binlogEvents reads one page of a binlog file's events from pos.
func binlogEvents(ctx context.Context, db *sql.DB, file string, pos uint32) ([]binlogEvent, error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d LIMIT %d", strings.ReplaceAll(file, "'", "''"), pos, eventsPage))
	if err != nil {
		return nil, fmt.Errorf("SHOW BINLOG EVENTS IN %s FROM %d: %w", file, pos, err)
	}
	defer rows.Close()
	var events []binlogEvent
	for rows.Next() {
		var e binlogEvent
		var name string
		var serverID uint32
		var info sql.NullString
		if err := rows.Scan(&name, &e.pos, &e.typ, &serverID, &e.end, &info); err != nil {
			return nil, err
		}
		e.info = info.String
		events = append(events, e)
	}
	return events, rows.Err()
}

// tableOfMap reads the table of a Table_map event's Info: "table_id: 70
// (db.t)".
func tableOfMap(info string) (catalog.TableName, bool) {
	open, end := strings.LastIndexByte(info, '('), strings.LastIndexByte(info, ')')
	if open < 0 || end < open {
		return catalog.TableName{}, false
	}
	db, table, ok := strings.Cut(info[open+1:end], ".")
	return catalog.TableName{DB: db, Table: table}, ok
}

// TargetTables is the predicate of the tables cfg's replicator writes on
// its target, named as there.
func TargetTables(cfg *config.Config) func(catalog.TableName) bool {
	back := catalog.NewFilter(ReverseConfig(cfg).Replication)
	own := cfg.Replication.CheckpointSchema
	return func(t catalog.TableName) bool { return t.DB != own && back.Includes(t) }
}

// guardEvery is how often the guard reads the target's binlog, and
// guardSaveEvery how often it saves where it is (a restarted replicator
// reads again from there; a write found twice is recorded once).
const (
	guardEvery     = 2 * time.Second
	guardSaveEvery = 30 * time.Second
)

// guardTarget records, until ctx ends, every foreign write in the
// target's binlog from where Seed left the guard (else from the target's
// position now). A target without a binlog, or a user who may not read
// it, is said once in the log.
func (r *Replicator) guardTarget(ctx context.Context) {
	db, own := r.target.db, r.cfg.Replication.CheckpointSchema
	if logBin, err := LoggingOn(ctx, db); err != nil || !logBin {
		r.log.Warn().Msg("the target has no binlog: writes there by anyone but replication are not watched (verify finds what they change)")
		return
	}
	at, err := guardPosition(ctx, db, own)
	if err != nil {
		r.log.Warn().Err(err).Msg("writes on the target by anyone but replication are not watched")
		return
	}
	r.log.Info().Stringer("from", at).Msg("watching the target's binlog for writes replication did not make")
	replicated := TargetTables(r.cfg)
	saved := time.Now()
	t := time.NewTicker(guardEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next, found, err := ForeignWrites(ctx, db, at, own, replicated)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// The guard was down longer than the target keeps its binlog:
			// what was written meanwhile is unknown, which is recorded as
			// a divergence (a fenced verify settles it), and it goes on.
			var purged *PurgedError
			if errors.As(err, &purged) && len(purged.Oldest) > 0 {
				r.log.Error().Err(err).Msg("the write guard cannot read what the target took while it was down")
				if err := recordForeignWrite(ctx, db, own, ForeignWrite{At: at, Tables: []string{"(unknown: the binlog was purged before the guard read it)"}}); err != nil {
					r.log.Warn().Err(err).Msg("the unwatched span is not recorded")
				}
				at = Position{File: purged.Oldest[0], Pos: 4}
				_ = saveGuardPosition(ctx, db, own, at)
				continue
			}
			r.log.Warn().Err(err).Msg("cannot read the target's binlog: writes there by anyone but replication are not watched; grant REPLICATION SLAVE (MySQL) or BINLOG MONITOR (MariaDB)")
			if mysqlErrno(err) == 1227 { // access denied: it will not change
				return
			}
			continue
		}
		for _, w := range found {
			r.log.Error().Stringer("at", w.At).Strs("tables", w.Tables).Msg("a transaction on the target wrote replicated tables, and replication did not make it: the target diverges from the source")
			if err := recordForeignWrite(ctx, db, own, w); err != nil {
				r.log.Warn().Err(err).Msg("the foreign write is not recorded")
			}
		}
		if next != at && (len(found) > 0 || time.Since(saved) >= guardSaveEvery) {
			if err := saveGuardPosition(ctx, db, own, next); err == nil {
				saved = time.Now()
			}
		}
		at = next
	}
}

// LoggingOn reports whether the server writes a binlog (@@global.log_bin).
func LoggingOn(ctx context.Context, db *sql.DB) (bool, error) {
	var on bool
	if err := db.QueryRowContext(ctx, "SELECT @@global.log_bin").Scan(&on); err != nil {
		return false, fmt.Errorf("read log_bin: %w", err)
	}
	return on, nil
}

// guardPosition reads where the guard is, or starts it at the server's
// position now.
func guardPosition(ctx context.Context, db *sql.DB, schema string) (Position, error) {
	var p Position
	err := db.QueryRowContext(ctx, "SELECT binlog_file, binlog_pos FROM "+catalog.QuoteIdent(schema)+".guard WHERE id = 1").Scan(&p.File, &p.Pos)
	if errors.Is(err, sql.ErrNoRows) {
		if p, err = CurrentPosition(ctx, db); err != nil {
			return p, err
		}
		return p, saveGuardPosition(ctx, db, schema, p)
	}
	return p, err
}

func saveGuardPosition(ctx context.Context, db *sql.DB, schema string, p Position) error {
	_, err := db.ExecContext(ctx, "REPLACE INTO "+catalog.QuoteIdent(schema)+".guard (id, binlog_file, binlog_pos) VALUES (1, ?, ?)", p.File, p.Pos)
	if err != nil {
		return fmt.Errorf("save the write guard's position: %w", err)
	}
	return nil
}

// recordForeignWrite adds a foreign write to the divergence table, once.
func recordForeignWrite(ctx context.Context, db *sql.DB, schema string, w ForeignWrite) error {
	q := catalog.QuoteIdent(schema)
	_, err := db.ExecContext(ctx, `INSERT INTO `+q+`.divergence (binlog_file, binlog_pos, table_name, problem, detected_at)
		SELECT ?, ?, ?, ?, UTC_TIMESTAMP(6) FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM `+q+`.divergence WHERE binlog_file = ? AND binlog_pos = ? AND problem LIKE 'a write on the target%')`,
		w.At.File, w.At.Pos, strings.Join(w.Tables, ", "), foreignWriteProblem, w.At.File, w.At.Pos)
	return err
}

const foreignWriteProblem = "a write on the target that replication did not make (a SUPER user through read_only, an event, a session the fence missed)"
