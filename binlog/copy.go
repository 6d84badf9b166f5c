package binlog

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/faultpoint"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The initial copy reads every replicated table under one consistent
// snapshot (see takeSnapshot) with replication.workers connections, and
// writes it to the target with multi-row INSERTs.
//
// Tables with a single-column integer key are split into key ranges of
// about copy_chunk_rows rows, so one big table keeps every worker busy;
// the first and last ranges are open-ended, so every key belongs to one.
// Other tables are copied whole by one worker, biggest first. Each range
// is written in one target transaction that also records it as copied
// (and under which snapshot): after a restart the copy resumes under a new
// snapshot with the ranges not yet copied, and a table copied whole that
// was interrupted is emptied and copied again. The stream then starts at
// the earliest snapshot; see copyWindow for how it applies each change
// exactly once.

// copyPlan is what preflight found out about the copy.
type copyPlan struct {
	copyNeeded bool
	resume     bool // a copy was interrupted: resume it
	tables     []catalog.TableName
	estimates  map[catalog.TableName]int64
	schema     catalog.Schema // read before the snapshot
	// targetReadOnly: the target is read_only (closed to the application
	// until the switch); the replicator writes through it.
	targetReadOnly bool
}

// chunk is one unit of copy work.
type chunk struct {
	table *catalog.Table
	seq   int
	rng   catalog.Range
	whole bool  // copied whole: emptied first on resume
	rows  int64 // estimated
}

// snapshotLockWait bounds the wait of FLUSH TABLES WITH READ LOCK for
// running statements: the source's writes queue behind it meanwhile, so
// it is short, and stableSnapshot tries again.
const snapshotLockWait = 2 * time.Second

func (r *Replicator) copy(ctx context.Context, plan *copyPlan) error {
	snap, schema, err := r.stableSnapshot(ctx, plan)
	if err != nil {
		return err
	}
	defer snap.release()
	r.log.Info().Stringer("position", snap.pos).Str("gtid", snap.gtid).Int64("lock_ms", snap.lockTime.Milliseconds()).
		Int("connections", len(snap.conns)).Msg("consistent snapshot taken; global read lock released")

	cs := catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema)
	if !plan.resume {
		// No checkpoint: whatever an earlier attempt recorded before it
		// wrote one (it copied nothing yet) is void.
		if _, err := r.target.db.ExecContext(ctx, "DELETE FROM "+cs+".chunk; DELETE FROM "+cs+".snapshot"); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}
	var snapshotID int
	if err := r.target.db.QueryRowContext(ctx, "SELECT IFNULL(MAX(id), 0) + 1 FROM "+cs+".snapshot").Scan(&snapshotID); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if _, err := r.target.db.ExecContext(ctx, "INSERT INTO "+cs+".snapshot VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))",
		snapshotID, snap.pos.File, snap.pos.Pos, snap.gtid, snap.lockTime.Milliseconds()); err != nil {
		return fmt.Errorf("target: record snapshot: %w", err)
	}

	if !plan.resume {
		if err := r.createTargetTables(ctx, snap, schema, plan.tables); err != nil {
			return err
		}
		if err := r.planChunks(ctx, snap, schema, plan); err != nil {
			return err
		}
		if err := writeCheckpoint(ctx, r.target.db, r.cfg.Replication.CheckpointSchema, &Checkpoint{
			Source: r.sourceIdentity, Phase: phaseCopying, Position: snap.pos, GTID: snap.gtid, Schema: schema,
		}); err != nil {
			return fmt.Errorf("target: %w", err)
		}
	}

	if plan.resume {
		if err := r.resetSplitGroups(ctx, schema); err != nil {
			return err
		}
	}
	todo, done, total, err := r.pendingChunks(ctx, schema, plan.estimates)
	if err != nil {
		return err
	}
	r.progress.setCopy(done, total)
	r.log.Info().Int("chunks", len(todo)).Int64("rows_done", done).Int64("rows_estimated", total).Msg("copying")
	if err := r.copyChunks(ctx, snap, snapshotID, todo); err != nil {
		return err
	}
	return r.finishCopy(ctx)
}

// stableSnapshot takes a snapshot under which the schema is the one read
// before it: information_schema is not transactional, so a DDL between the
// two reads would go unnoticed. It retries a few times.
func (r *Replicator) stableSnapshot(ctx context.Context, plan *copyPlan) (*snapshot, catalog.Schema, error) {
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		snap, err := takeSnapshot(ctx, r.source.db, r.source.flavor, r.cfg.Replication.Workers, snapshotLockWait)
		if err != nil && transient(err) && ctx.Err() == nil {
			// Most often FLUSH TABLES WITH READ LOCK waited snapshotLockWait
			// for a long statement that keeps a table open; writes were
			// blocked only meanwhile. Try again, as the stream would.
			r.log.Warn().Err(err).Stringer("retry_in", backoff).
				Msg("could not take the copy's consistent snapshot (a long statement on the source? see its SHOW PROCESSLIST); retrying")
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, r.cfg.Replication.MaxBackoff)
			attempt--
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("source: consistent snapshot: %w", err)
		}
		tables, _, err := catalog.ListTables(ctx, r.source.db, r.filter)
		if err == nil && slices.Equal(tables, plan.tables) {
			var now catalog.Schema
			if now, err = catalog.LoadTables(ctx, r.source.db, tables); err == nil && catalog.Equal(now, plan.schema) {
				return snap, now, nil
			}
		}
		snap.release()
		if err != nil {
			return nil, nil, fmt.Errorf("source: %w", err)
		}
		if attempt == 3 {
			return nil, nil, errors.New("source: the schema keeps changing while the snapshot is taken; retry when no DDL runs")
		}
		r.log.Warn().Msg("schema changed while the snapshot was taken; taking another")
		plan.tables, _, _ = catalog.ListTables(ctx, r.source.db, r.filter)
		if plan.schema, err = catalog.LoadTables(ctx, r.source.db, plan.tables); err != nil {
			return nil, nil, fmt.Errorf("source: %w", err)
		}
	}
}

// createTargetTables creates the databases and tables on the target from
// the source's own definitions, as InnoDB (exactly-once needs
// transactional tables). Tables that exist (empty, as preflight checked)
// are kept.
func (r *Replicator) createTargetTables(ctx context.Context, snap *snapshot, schema catalog.Schema, tables []catalog.TableName) error {
	conn, err := r.target.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer closeChecked(conn)
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 0"); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	created := map[string]bool{}
	for _, t := range tables {
		dst := r.filter.Target(t)
		if !created[t.DB] {
			var name, create string
			if err := snap.conns[0].QueryRowContext(ctx, "SHOW CREATE DATABASE "+catalog.QuoteIdent(t.DB)).Scan(&name, &create); err != nil {
				return fmt.Errorf("source: show create database %s: %w", t.DB, err)
			}
			stmt := strings.Replace(create, "CREATE DATABASE "+catalog.QuoteIdent(t.DB), "CREATE DATABASE IF NOT EXISTS "+catalog.QuoteIdent(dst.DB), 1)
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("target: create database %s: %w", dst.DB, err)
			}
			created[t.DB] = true
		}
		var exists int
		err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", dst.DB, dst.Table).Scan(&exists)
		if err != nil {
			return fmt.Errorf("target: %w", err)
		}
		if exists > 0 {
			if err := r.checkTargetPrecision(ctx, catalog.Schema{t: schema[t]}); err != nil {
				return err
			}
			continue
		}
		var name, create string
		if err := snap.conns[0].QueryRowContext(ctx, "SHOW CREATE TABLE "+catalog.QuoteName(t)).Scan(&name, &create); err != nil {
			return fmt.Errorf("source: show create table %s: %w", t, err)
		}
		st, ok := parseDDL(t.DB, create)
		if !ok {
			return fmt.Errorf("source: cannot read SHOW CREATE TABLE %s", t)
		}
		if _, err := conn.ExecContext(ctx, "USE "+catalog.QuoteIdent(dst.DB)+";"+st.rewrite(r.filter.TargetDB)); err != nil {
			return fmt.Errorf("target: create table %s: %w", dst, err)
		}
		if schema[t].Engine != "" && !strings.EqualFold(schema[t].Engine, "InnoDB") {
			r.log.Warn().Stringer("table", t).Str("engine", schema[t].Engine).Msg("created as InnoDB on the target")
		}
	}
	return nil
}

// planChunks records the copy's key ranges, read within the snapshot.
func (r *Replicator) planChunks(ctx context.Context, snap *snapshot, schema catalog.Schema, plan *copyPlan) error {
	tx, err := r.target.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer tx.Rollback()
	insert := "INSERT INTO " + catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema) + ".chunk (db, tbl, seq, lo, hi) VALUES (?, ?, ?, ?, ?)"
	for _, name := range plan.tables {
		t := schema[name]
		ranges, err := catalog.IntRanges(ctx, snap.conns[0], t, plan.estimates[name], r.cfg.Replication.CopyChunkRows)
		if err != nil {
			return fmt.Errorf("source: %w", err)
		}
		for i, rg := range ranges {
			if _, err := tx.ExecContext(ctx, insert, name.DB, name.Table, i, boundString(rg.Lo), boundString(rg.Hi)); err != nil {
				return fmt.Errorf("target: record copy ranges: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("target: record copy ranges: %w", err)
	}
	return nil
}

func boundString(b *big.Int) any {
	if b == nil {
		return nil
	}
	return b.String()
}

// pendingChunks lists the ranges not yet copied (emptying, on the target,
// tables copied whole that were interrupted), with the rows already copied
// and the estimated total.
func (r *Replicator) pendingChunks(ctx context.Context, schema catalog.Schema, estimates map[catalog.TableName]int64) (todo []chunk, done, total int64, err error) {
	type row struct {
		t        catalog.TableName
		seq      int
		lo, hi   sql.NullString
		copied   bool
		rowCount int64
	}
	var rows []row
	cs := catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema)
	err = catalog.ScanRows(ctx, r.target.db, "SELECT db, tbl, seq, lo, hi, snapshot_id IS NOT NULL, row_count FROM "+cs+".chunk ORDER BY db, tbl, seq", nil,
		func(rs *sql.Rows) error {
			var x row
			if err := rs.Scan(&x.t.DB, &x.t.Table, &x.seq, &x.lo, &x.hi, &x.copied, &x.rowCount); err != nil {
				return err
			}
			rows = append(rows, x)
			return nil
		})
	if err != nil {
		return nil, 0, 0, fmt.Errorf("target: read copy ranges: %w", err)
	}
	counts := map[catalog.TableName]int{}
	for _, x := range rows {
		counts[x.t]++
	}
	for _, est := range estimates {
		total += est
	}
	for _, x := range rows {
		if x.copied {
			done += x.rowCount
			continue
		}
		t := schema[x.t]
		if t == nil {
			return nil, 0, 0, fmt.Errorf("copy range of %s, which is no longer replicated; restart the copy", x.t)
		}
		c := chunk{table: t, seq: x.seq, whole: counts[x.t] == 1}
		if c.rng.Lo, err = parseBound(x.lo); err != nil {
			return nil, 0, 0, err
		}
		if c.rng.Hi, err = parseBound(x.hi); err != nil {
			return nil, 0, 0, err
		}
		c.rows = estimates[x.t] / int64(counts[x.t])
		if c.whole {
			// Whatever an interrupted copy of it wrote goes.
			if _, err := r.target.db.ExecContext(ctx, "DELETE FROM "+catalog.QuoteName(r.filter.Target(x.t))); err != nil {
				return nil, 0, 0, fmt.Errorf("target: empty %s for its copy: %w", r.filter.Target(x.t), err)
			}
		}
		todo = append(todo, c)
	}
	total = max(total, done)
	// Whole tables first, biggest first: they cannot be split among
	// workers, so they must not be left for last.
	slices.SortStableFunc(todo, func(a, b chunk) int {
		switch {
		case a.whole != b.whole && a.whole:
			return -1
		case a.whole != b.whole:
			return 1
		case a.whole && a.rows != b.rows:
			if a.rows > b.rows {
				return -1
			}
			return 1
		}
		return 0
	})
	return todo, done, total, nil
}

// copyChunks copies the ranges with one worker per snapshot connection.
func (r *Replicator) copyChunks(ctx context.Context, snap *snapshot, snapshotID int, todo []chunk) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan chunk)
	errs := make(chan error, len(snap.conns))
	var wg sync.WaitGroup
	for _, src := range snap.conns {
		wg.Go(func() {
			dst, err := r.target.db.Conn(ctx)
			if err == nil {
				_, err = dst.ExecContext(ctx, "SET SESSION foreign_key_checks = 0")
			}
			if err != nil {
				errs <- fmt.Errorf("target: %w", err)
				cancel()
				return
			}
			defer closeChecked(dst)
			for c := range work {
				if err := r.copyChunk(ctx, src, dst, snapshotID, c); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
	stopLog := r.logCopyProgress(ctx)
	defer stopLog()
feed:
	for _, c := range todo {
		select {
		case work <- c:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		return err
	}
	return ctx.Err()
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// copyChunk copies one range in one target transaction, which also marks
// it copied under the snapshot.
func (r *Replicator) copyChunk(ctx context.Context, src, dst *sql.Conn, snapshotID int, c chunk) error {
	t := c.table
	writable := t.Writable()
	cols := make([]string, len(writable))
	exprs := make([]string, len(writable))
	for i, w := range writable {
		cols[i] = catalog.QuoteIdent(t.Columns[w].Name)
		exprs[i] = t.Columns[w].SelectExpr()
	}
	query := "SELECT " + strings.Join(exprs, ",") + " FROM " + catalog.QuoteName(t.Name)
	where, args := c.rng.Predicate(t)
	if where != "" {
		query += " WHERE " + where
	}
	// A prepared statement, so values come in the binary protocol: FLOATs
	// exactly, not rounded to six digits as MySQL 5.6 prints them.
	stmt, err := src.PrepareContext(ctx, query)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer stmt.Close()
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("source: read %s: %w", t.Name, err)
	}
	defer rows.Close()

	var maxPacket int
	if err := dst.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&maxPacket); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	limits := limitsFor(maxPacket)
	dialect := dialectFor(r.target.kind)
	insert := "INSERT INTO " + catalog.QuoteName(r.filter.Target(t.Name)) + " (" + strings.Join(cols, ",") + ") VALUES "
	buf := []byte("BEGIN;")
	var n, inStatement, copied int64 // n: not yet counted in progress
	// The statement being written: where it begins in buf, and the ENUM
	// error values it writes, with strict mode off (sqlmode.go).
	var begins, errorValues int
	vals := make([]any, len(writable))
	ptrs := make([]any, len(writable))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	send := func(q string, args ...any) error {
		run := func() error {
			_, err := dst.ExecContext(ctx, q, args...)
			return err
		}
		var err error
		if args == nil {
			err = run()
		} else {
			err = withBinaryClient(ctx, dst, run)
		}
		if err != nil {
			return copyError(t, err)
		}
		buf = buf[:0]
		r.progress.copied(n)
		n = 0
		return nil
	}
	// end ends the statement being written, sent with params or not.
	end := func(params bool) {
		if inStatement == 0 {
			return
		}
		if !params {
			buf = append(buf, ';')
		}
		if errorValues > 0 {
			if !params {
				buf = append(buf, "SET "+saveCounts+";"...)
			}
			buf = unrelax(buf, r.cfg.Replication.CheckpointSchema, copyWarningsCheck, errorValues)
		}
		inStatement, errorValues = 0, 0
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("source: read %s: %w", t.Name, err)
		}
		size, rowErrorValues := 0, 0
		for i, w := range writable {
			if vals[i], err = t.Columns[w].FromSelect(vals[i]); err != nil {
				return fmt.Errorf("copy %s: %w", t.Name, err)
			}
			size += catalog.TextSize(vals[i])
			if t.Columns[w].IsErrorValue(vals[i]) {
				rowErrorValues++
			}
		}
		// A big row is inserted on its own, its values as parameters:
		// what is pending goes first, with strict mode off after it when
		// the row needs it.
		big := size > limits.bigRow
		if big {
			end(false)
			if rowErrorValues > 0 {
				buf = relax(buf)
			}
			if len(buf) > 0 {
				if err := send(string(buf)); err != nil {
					return err
				}
			}
		}
		if inStatement == 0 {
			begins = len(buf)
			buf = append(buf, insert...)
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, '(')
		var args []any
		for i, w := range writable {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, args, err = appendValue(dialect, buf, args, big, &t.Columns[w], vals[i]); err != nil {
				return fmt.Errorf("copy %s: %w", t.Name, err)
			}
		}
		buf = append(buf, ')')
		if rowErrorValues > 0 && errorValues == 0 && !big {
			buf = slices.Insert(buf, begins, relax(nil)...)
		}
		errorValues += rowErrorValues
		n++
		copied++
		inStatement++
		if big {
			if size := limits.largest(len(buf), args); size > 0 {
				return r.tooLarge("a value of a row of "+t.Name.String(), size, limits.packet, Position{})
			}
			if err := send(string(buf), args...); err != nil {
				return err
			}
			end(true) // checked by the next packet
			continue
		}
		if inStatement >= statementRows || len(buf) >= limits.statement {
			end(false)
			if err := send(string(buf)); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("source: read %s: %w", t.Name, err)
	}
	end(false)
	buf = fmt.Appendf(buf, "UPDATE %s.chunk SET snapshot_id=%d, row_count=%d WHERE db=", catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema), snapshotID, copied)
	buf = catalog.AppendString(buf, t.Name.DB)
	buf = append(buf, " AND tbl="...)
	buf = catalog.AppendString(buf, t.Name.Table)
	buf = fmt.Appendf(buf, " AND seq=%d;COMMIT", c.seq)
	if _, err := dst.ExecContext(ctx, string(buf)); err != nil {
		return copyError(t, err)
	}
	r.progress.copied(n)
	faultpoint.Hit(faultpoint.AfterChunkCopy)
	return nil
}

// copyWarningsCheck is the check number of the copy's warnings guards.
const copyWarningsCheck = -1

// copyError is an error of the target during the copy of t: a stop when
// the target cannot hold the source's values.
func copyError(t *catalog.Table, err error) error {
	if m := failedCheck.FindStringSubmatch(err.Error()); m != nil && m[1] == strconv.Itoa(copyWarningsCheck) {
		return &StopError{Reason: fmt.Sprintf("the copy of %s wrote a value its column on the target cannot hold: %s", t.Name, truncatedWithErrorValues), Fix: valueFix}
	}
	if isValueError(err) {
		return &StopError{Reason: fmt.Sprintf("the target cannot hold a value of %s that the copy read: %v", t.Name, err), Fix: valueFix}
	}
	return fmt.Errorf("target: copy into %s: %w", t.Name, err)
}

// finishCopy moves the checkpoint to the earliest snapshot any range was
// copied under, where the stream starts, and ends the copy phase.
func (r *Replicator) finishCopy(ctx context.Context) error {
	cs := catalog.QuoteIdent(r.cfg.Replication.CheckpointSchema)
	var p Position
	var gtid string
	err := r.target.db.QueryRowContext(ctx, `SELECT s.binlog_file, s.binlog_pos, s.gtid FROM `+cs+`.snapshot s
		WHERE s.id = (SELECT MIN(snapshot_id) FROM `+cs+`.chunk)`).Scan(&p.File, &p.Pos, &gtid)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if _, err := r.target.db.ExecContext(ctx, "UPDATE "+cs+".checkpoint SET phase = ?, binlog_file = ?, binlog_pos = ?, gtid = ?, updated_at = UTC_TIMESTAMP(6) WHERE id = 1",
		phaseStreaming, p.File, p.Pos, gtid); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	r.log.Info().Stringer("stream_from", p).Msg("copy complete")
	return nil
}

// logCopyProgress logs rows copied, rate and ETA every progress_interval
// until the returned function is called.
func (r *Replicator) logCopyProgress(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.cfg.Replication.ProgressInterval)
		defer t.Stop()
		start := time.Now()
		first, _ := r.progress.copyStatus()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var s CopyStatus
			s.RowsDone, s.RowsTotal = r.progress.copyStatus()
			rate := float64(s.RowsDone-first) / time.Since(start).Seconds()
			e := r.log.Info().Int64("rows_done", s.RowsDone).Int64("rows_estimated", s.RowsTotal).Int("rows_per_second", int(rate))
			if rate > 0 && s.RowsTotal > s.RowsDone {
				e = e.Stringer("eta", time.Duration(float64(s.RowsTotal-s.RowsDone)/rate*float64(time.Second)).Round(time.Second))
			}
			e.Msg("copy progress")
		}
	})
	return func() { cancel(); wg.Wait() }
}

// closeChecked returns a connection that may have run with
// foreign_key_checks or unique_checks off, or strict mode off, to the pool
// with them on again, so that no later user of the pool (the applier)
// inherits the setting; a connection that cannot be reset is discarded.
func closeChecked(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 1, unique_checks = 1, sql_mode = '"+strictMode+"'"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}
