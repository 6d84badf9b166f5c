package binlog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/faultpoint"
)

// applier turns the source's row events into SQL on the target, exactly
// once: every source transaction is applied in the same target transaction
// that moves the checkpoint past it.
//
// Several source transactions share a target transaction (group commit),
// which is committed when it holds apply_batch_rows changes, when it has
// been open apply_batch_delay, or as soon as no further event is waiting —
// so a backlog is applied in large transactions and a quiet stream with
// the least delay. Statements are written as SQL text into one buffer and
// sent many at a time (one round trip for a whole batch when it is small);
// consecutive inserts into a table become one multi-row INSERT and
// consecutive deletes one DELETE ... IN. The buffer is bounded, and so is
// memory, whatever the size of a source transaction.
type applier struct {
	r    *Replicator
	conn *sql.Conn
	// watch is the session's target watchdog: the statements run under
	// its context, and it is told when they are in flight.
	watch  *targetWatch
	cp     Checkpoint  // as committed
	window *copyWindow // rows copied under later snapshots; nil when none
	gtids  gomysql.GTIDSet

	tables map[uint64]*mappedTable         // the current TABLE_MAPs by table id
	sql    map[catalog.TableName]*tableSQL // statement prefixes, rebuilt after DDL
	// dialect is how the statements are spelt for the target's version
	// (sqlmode.go).
	dialect catalog.Dialect

	file     string   // binlog file being read
	safe     Position // the last transaction boundary read
	inTrx    bool     // between a transaction's first and last event
	inBody   bool     // past its BEGIN: a statement now is part of it
	trxStart Position
	trxGTID  string // the transaction's GTID, added to gtids at its end
	trxRows  bool   // the transaction has had rows events
	dirty    bool   // safe moved past the checkpoint with nothing to apply

	schemaChanged bool // a DDL changed the schema map since the last commit

	buf   []byte     // statements not yet sent to the target
	net   netChanges // end states of rows not yet in buf (netchange.go)
	sent  *inflight  // the statements the target is executing, if any
	spare []byte     // the buffer sent before, for reuse
	open  bool       // the target transaction has begun
	stmt  openStatement
	// expects are the checks of the statements in buf (divergence.go),
	// numbered from checkNo up in the session.
	expects   []expectation
	checkNo   int64
	spareCond []byte
	// segs are the packets of the batch before buf, when it has been cut
	// (a prepared statement, a large batch).
	segs   []segment
	limits packetLimits
	// checks is the session's foreign_key_checks and unique_checks as the
	// statements in buf leave them: each rows event is applied under the
	// settings its flags say the source session had. bufChecks is what
	// they are where buf begins.
	checks, bufChecks sessionChecks
	batch             batchStats
}

// mappedTable is a TABLE_MAP resolved against the schema map.
type mappedTable struct {
	table     *catalog.Table // nil: not replicated
	fixes     rowFixes       // what its row images need mended (rowimage.go)
	heartbeat bool           // the replicator's own heartbeat table
}

type batchStats struct {
	transactions int
	rows         int
	started      time.Time
	eventTime    uint32 // source timestamp of the last transaction
	heartbeat    int64  // µs timestamp of the last heartbeat row, 0 if none
}

// openStatement is the multi-row statement being built, written into buf
// when closed.
type openStatement struct {
	kind  byte // 'i' insert, 'n' insert of net rows, 'r' replace of net rows, 'd' delete by key
	table *catalog.Table
	rows  []keyedRow
	body  []byte // an insert's VALUES tuples
	args  []any  // the parameters of a big row's values in body
	// size is the text size of the values a delete's rows put in it and
	// its check (keys, or whole before-images to compare).
	size int
	// errorValues counts the ENUM error values in body (sqlmode.go).
	errorValues int
}

// statementRows bounds the rows of a multi-row statement.
const statementRows = 1000

// packetLimits bound what the applier sends in one packet, from the
// target's max_allowed_packet (4 MB on MySQL 5.6, 16 MB on MariaDB, 64 MB
// on Aurora; the driver reads it at connect): a batch is sent when its
// text holds flush bytes, and cut into another packet there while it is
// built; a multi-row statement is closed at statement bytes; a row whose
// values would take more than bigRow bytes as literals (hex doubles
// their size) is written on its own, its values sent as parameters of a
// prepared statement, in their raw bytes — so any row the target can take
// in a packet is applied.
type packetLimits struct {
	packet, flush, statement, bigRow int
}

func limitsFor(maxPacket int) packetLimits {
	l := packetLimits{packet: maxPacket, flush: min(1<<20, maxPacket/4), statement: min(256<<10, maxPacket/8)}
	l.bigRow = l.statement / 2
	return l
}

// largest returns the size of the largest part of a prepared statement
// — its text, or one of its parameters, each sent in packets of its own
// (long data) — when it does not fit max_allowed_packet, else 0.
func (l packetLimits) largest(text int, args []any) int {
	size := text
	for _, p := range args {
		size = max(size, len(p.([]byte)))
	}
	if size > l.packet-1024 {
		return size
	}
	return 0
}

// segment is a part of a batch sent as one packet: statements as text, or
// one prepared statement and its parameters.
type segment struct {
	text  []byte
	query string
	args  []any
}

func newApplier(r *Replicator, conn *sql.Conn, cp *Checkpoint, window *copyWindow) (*applier, error) {
	gtids, err := gomysql.ParseGTIDSet(r.source.flavor, cp.GTID)
	if err != nil {
		return nil, fmt.Errorf("checkpoint GTID set %q: %w", cp.GTID, err)
	}
	return &applier{
		r:      r,
		conn:   conn,
		checks: defaultChecks, bufChecks: defaultChecks,
		cp:      *cp,
		window:  window,
		gtids:   gtids,
		tables:  map[uint64]*mappedTable{},
		sql:     map[catalog.TableName]*tableSQL{},
		dialect: dialectFor(r.target.kind),
		file:    cp.Position.File,
		safe:    cp.Position,
	}, nil
}

// pending reports whether the applier holds work the target has not
// committed.
func (a *applier) pending() bool {
	return a.open || len(a.buf) > 0 || len(a.segs) > 0 || a.net.size > 0 || a.batch.transactions > 0 || a.dirty
}

// dueForCommit reports whether the batch should be committed now, given
// whether another event is already waiting.
func (a *applier) dueForCommit(eventWaiting bool) bool {
	if a.inTrx || !a.pending() {
		return false
	}
	rep := a.r.cfg.Replication
	return !eventWaiting || a.batch.rows >= rep.ApplyBatchRows || time.Since(a.batch.started) >= rep.ApplyBatchDelay
}

// handle applies one binlog event.
func (a *applier) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	h := ev.Header
	next := Position{File: a.file, Pos: h.LogPos}
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		a.file = string(e.NextLogName)
		if !a.inTrx {
			a.advance(Position{File: a.file, Pos: uint32(e.Position)})
		}
		return nil
	case *replication.GTIDEvent:
		a.begin(h)                                         // a BEGIN, or a DDL statement, follows
		if !bytes.Equal(e.SID, make([]byte, len(e.SID))) { // not an anonymous GTID
			a.trxGTID = fmt.Sprintf("%s:%d", uuidString(e.SID), e.GNO)
		}
		return nil
	case *replication.MariadbGTIDEvent:
		a.begin(h)
		a.inBody = !e.IsStandalone() // MariaDB's GTID event is the BEGIN
		a.trxGTID = e.GTID.String()
		return nil
	case *replication.QueryEvent:
		return a.query(ctx, e, h, next)
	case *replication.TableMapEvent:
		return a.mapTable(ctx, e, next)
	case *replication.RowsEvent:
		a.begin(h)
		a.inBody = true
		a.trxRows = true
		return a.rows(ctx, e, h, next)
	case *replication.XIDEvent:
		return a.end(h, next)
	case *replication.TransactionPayloadEvent:
		for _, inner := range e.Events {
			if err := a.handle(ctx, inner); err != nil {
				return err
			}
		}
		return nil
	case *replication.HeartbeatEvent:
		return nil
	case *replication.GenericEvent:
		if h.EventType == replication.INCIDENT_EVENT {
			// The source lost changes it could not log (a native replica
			// stops here too): nothing after this point can be trusted;
			// everything before it is, and is committed first (a source
			// transaction it interrupts is not).
			if !a.inTrx {
				if err := a.commit(ctx); err != nil {
					return err
				}
				if err := a.settle(); err != nil {
					return err
				}
			}
			return &StopError{Position: Position{File: a.file, Pos: h.LogPos - h.EventSize},
				Reason: "the source's binlog holds an incident event: " + incidentText(e.Data),
				Fix:    "changes made on the source around this point are not in its binlog; the target cannot be made identical by replication: restart the copy (drop the target's tables and the checkpoint schema), or repair by hand and start from a later position"}
		}
	}
	// Anything else (format description, previous GTIDs, binlog
	// checkpoints, ...) between transactions moves the boundary, so that a
	// fenced source's final position is reached.
	if !a.inTrx && h.LogPos > 0 {
		a.advance(next)
	}
	return nil
}

func (a *applier) begin(h *replication.EventHeader) {
	if a.inTrx {
		return
	}
	a.inTrx = true
	a.trxStart = a.safe
	a.trxRows = false
	if a.batch.started.IsZero() {
		a.batch.started = time.Now()
	}
	a.batch.eventTime = h.Timestamp
}

func (a *applier) end(h *replication.EventHeader, next Position) error {
	if a.trxGTID != "" {
		if err := a.gtids.Update(a.trxGTID); err != nil {
			return fmt.Errorf("GTID %s at %s: %w", a.trxGTID, next, err)
		}
	}
	a.inTrx, a.inBody, a.trxGTID = false, false, ""
	a.batch.transactions++
	a.batch.eventTime = h.Timestamp
	a.safe = next
	return nil
}

// advance moves the boundary outside any transaction.
func (a *applier) advance(p Position) {
	if p.Pos == 0 || p.Compare(a.safe) <= 0 {
		return
	}
	a.safe = p
	a.dirty = true
	if a.batch.started.IsZero() {
		a.batch.started = time.Now()
	}
}

func (a *applier) query(ctx context.Context, e *replication.QueryEvent, h *replication.EventHeader, next Position) error {
	q := strings.TrimSpace(string(e.Query))
	switch strings.ToUpper(q) {
	case "BEGIN", "XA START":
		a.begin(h)
		a.inBody = true
		return nil
	case "COMMIT", "ROLLBACK", "XA END", "XA COMMIT":
		// A ROLLBACK ends a transaction whose non-transactional changes
		// were logged anyway: they happened, so they are applied.
		return a.end(h, next)
	}
	vars, _ := parseStatusVars(e.StatusVars)
	vars.when = h.Timestamp
	if a.inBody {
		if !a.trxRows { // a CREATE TABLE ... SELECT opens its transaction
			if st, ok := parseDDLIn(string(e.Schema), q, a.r.lexMode(vars)); ok && st.kind == ddlCreateTable {
				return a.createTableSelect(ctx, e, q, vars, next)
			}
		}
		// A statement inside a transaction: a SAVEPOINT, or DML logged as
		// a statement by a session that chose binlog_format=STATEMENT.
		return a.r.statementInTransaction(e, q, next)
	}
	// Any other statement is a transaction of its own (DDL commits
	// implicitly): what came before it is committed first, at the boundary
	// before it.
	a.inTrx = false
	if err := a.commit(ctx); err != nil {
		return err
	}
	if err := a.settle(); err != nil { // the DDL uses the connection
		return err
	}
	a.inTrx = true
	a.trxStart = a.safe
	if err := a.r.ddl(ctx, a, string(e.Schema), q, vars, next); err != nil {
		return err
	}
	if err := a.end(h, next); err != nil {
		return err
	}
	return a.commit(ctx)
}

// createTableSelect applies the CREATE TABLE that opens the transaction of
// a CREATE TABLE ... SELECT (a row-based binlog holds the table's
// definition, then its rows, then the commit): what came before is
// committed, the table is created (recorded as a pending schema change at
// the transaction's start, so a crash before the rows commit replays
// nothing twice), and the rows follow in a target transaction that
// commits with the source's.
func (a *applier) createTableSelect(ctx context.Context, e *replication.QueryEvent, q string, vars sessionVars, next Position) error {
	if err := a.commit(ctx); err != nil {
		return err
	}
	if err := a.settle(); err != nil { // the DDL uses the connection
		return err
	}
	return a.r.ddl(ctx, a, string(e.Schema), q, vars, next)
}

func (a *applier) mapTable(ctx context.Context, e *replication.TableMapEvent, at Position) error {
	name := catalog.TableName{DB: string(e.Schema), Table: string(e.Table)}
	m := &mappedTable{}
	switch {
	case name.DB == a.r.cfg.Replication.CheckpointSchema && name.Table == heartbeatTable:
		m.heartbeat = true
	case a.r.filter.Includes(name):
		t := a.cp.Schema[name]
		if t == nil {
			return &StopError{Position: at, Reason: fmt.Sprintf("the binlog changes rows of %s, a table the replicator does not know", name),
				Fix: "it was probably created while replication.ddl was ignore or stop; create it on the target, or restart the copy"}
		}
		if err := checkTableMap(t, e); err != nil {
			adopted, aerr := a.tableFromTarget(ctx, t, e)
			switch {
			case aerr != nil:
				return aerr
			case adopted == nil:
				return &StopError{Position: at, Reason: err.Error(),
					Fix: "the source's schema changed in a way the replicator did not follow (replication.ddl ignore?); make the target's table match the source's (same columns, in the same character sets) and restart, or restart the copy"}
			}
			t = adopted
		}
		fixes, err := fixesFor(t, e)
		if err != nil {
			return &StopError{Position: at, Reason: err.Error()}
		}
		if err := a.checkPrecision(ctx, t, at); err != nil {
			return err
		}
		m.table, m.fixes = t, fixes
	}
	a.tables[e.TableID] = m
	return nil
}

// tableFromTarget reads t again from the target when the binlog's
// TABLE_MAP no longer matches it: a schema change that was not followed
// (replication.ddl: ignore) and that the operator then made on the target
// by hand. The target's definition replaces t in the schema map (stored
// with the next commit) when it matches the TABLE_MAP and differs from t
// only in its columns' types: the same columns, in the same order and
// character sets, the same key. nil otherwise.
func (a *applier) tableFromTarget(ctx context.Context, t *catalog.Table, e *replication.TableMapEvent) (*catalog.Table, error) {
	dst := a.r.filter.Target(t.Name)
	loaded, err := catalog.LoadTables(ctx, a.r.target.db, []catalog.TableName{dst})
	if err != nil {
		return nil, nil // no such table, or unreadable: the stop says what to do
	}
	tt := loaded[dst]
	same := tt != nil && slices.Equal(tt.Key, t.Key) && slices.EqualFunc(tt.Columns, t.Columns, func(d, c catalog.Column) bool {
		return strings.EqualFold(d.Name, c.Name) && d.Charset == c.Charset && d.Generated == c.Generated
	})
	if !same {
		return nil, nil
	}
	tt.Name = t.Name
	if checkTableMap(tt, e) != nil {
		return nil, nil
	}
	a.r.log.Warn().Stringer("table", t.Name).Msg("the binlog's columns no longer match the schema map but match the target's table: its definition is read from the target")
	a.cp.Schema[t.Name] = tt
	delete(a.sql, t.Name)
	a.schemaChanged = true
	return tt, nil
}

func (a *applier) rows(ctx context.Context, e *replication.RowsEvent, h *replication.EventHeader, at Position) error {
	m := a.tables[e.TableID]
	if m == nil {
		return fmt.Errorf("rows event at %s for table id %d without a table map", at, e.TableID)
	}
	if m.heartbeat {
		if n := len(e.Rows); n > 0 && len(e.Rows[n-1]) > 1 {
			if ts, ok := e.Rows[n-1][1].(int64); ok {
				a.batch.heartbeat = ts
			}
		}
		return nil
	}
	t := m.table
	if t == nil {
		return nil
	}
	for _, skipped := range e.SkippedColumns {
		if len(skipped) > 0 {
			return &StopError{Position: at, Reason: fmt.Sprintf("a row event for %s lacks columns (binlog_row_image is not FULL)", t.Name),
				Fix: "set binlog_row_image=FULL on the source"}
		}
	}
	if _, err := a.netEligible(ctx, t); err != nil {
		return err
	}
	if err := a.setChecks(checksOf(e.Flags)); err != nil {
		return stopAt(at, err)
	}
	for _, row := range e.Rows {
		if err := m.fixes.apply(row); err != nil {
			return &StopError{Position: at, Reason: fmt.Sprintf("a row of %s: %v", t.Name, err)}
		}
	}
	var err error
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		for _, row := range e.Rows {
			if err = a.insertRow(t, row); err != nil {
				break
			}
		}
	case replication.EnumRowsEventTypeDelete:
		for _, row := range e.Rows {
			if err = a.deleteRow(t, row); err != nil {
				break
			}
		}
	case replication.EnumRowsEventTypeUpdate:
		for i := 0; i+1 < len(e.Rows); i += 2 {
			if err = a.updateRow(t, e.Rows[i], e.Rows[i+1]); err != nil {
				break
			}
		}
	default:
		return &StopError{Position: at, Reason: fmt.Sprintf("unsupported rows event %s for %s", h.EventType, t.Name),
			Fix: "set binlog_row_value_options='' on the source (partial JSON updates are not supported)"}
	}
	if err != nil {
		return stopAt(at, err)
	}
	if a.net.size >= netRows {
		if err := a.writeNet(); err != nil {
			return stopAt(at, err)
		}
	}
	if len(a.buf) >= a.limits.flush || len(a.segs) > 0 {
		return a.flush(ctx)
	}
	return nil
}

// stopAt makes err a stop at the rows event at, unless it is one already
// (which names the change's own position).
func stopAt(at Position, err error) error {
	if stop, ok := errors.AsType[*StopError](err); ok {
		return stop
	}
	return &StopError{Position: at, Reason: err.Error()}
}

// sessionChecks are the two session settings a rows event's flags carry.
type sessionChecks struct {
	foreignKeys, unique bool
}

// defaultChecks is what every applier session starts with.
var defaultChecks = sessionChecks{foreignKeys: true, unique: true}

// Rows event flags (log_event.h): the source session had
// foreign_key_checks=0 or unique_checks=0 when it wrote the rows.
const (
	rowsFlagNoForeignKeyChecks  = 0x0002
	rowsFlagRelaxedUniqueChecks = 0x0004
)

func checksOf(flags uint16) sessionChecks {
	return sessionChecks{foreignKeys: flags&rowsFlagNoForeignKeyChecks == 0, unique: flags&rowsFlagRelaxedUniqueChecks == 0}
}

// setChecks makes the statements that follow in buf run under c, as a
// native replica applies each rows event under its flags: a parent
// deleted with foreign_key_checks=0 does not cascade, children loaded
// before their parent are accepted.
func (a *applier) setChecks(c sessionChecks) error {
	if c == a.checks {
		return nil
	}
	if err := a.closeStatement(); err != nil {
		return err
	}
	a.buf = fmt.Appendf(a.buf, "SET SESSION foreign_key_checks=%d,unique_checks=%d;", boolInt(c.foreignKeys), boolInt(c.unique))
	a.checks = c
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// copied reports whether a row's change belongs on the target: false only
// while the stream replays changes that a later copy snapshot already holds.
func (a *applier) copied(t *catalog.Table, row []any) (bool, error) {
	if a.window == nil {
		return true, nil
	}
	return a.window.applies(t, row, a.trxStart)
}

func (a *applier) insertRow(t *catalog.Table, row []any) error {
	if ok, err := a.copied(t, row); !ok || err != nil {
		return err
	}
	a.batch.rows++
	if a.sqlFor(t).net {
		return a.netPut(t, netRow{row: row}, nil)
	}
	return a.appendRow(t, keyedRow{row: row, at: a.trxStart}, 'i')
}

// openFor makes the statement being built one of kind for t with room for
// a row, closing the one before if it is not.
func (a *applier) openFor(t *catalog.Table, kind byte) error {
	if a.stmt.kind == kind && a.stmt.table == t && len(a.stmt.rows) < statementRows && len(a.stmt.body) < a.limits.statement && a.stmt.size < a.limits.statement && a.stmt.args == nil {
		return nil
	}
	if err := a.closeStatement(); err != nil {
		return err
	}
	a.stmt.kind, a.stmt.table = kind, t
	return nil
}

// appendRow adds a row to the multi-row INSERT or REPLACE of kind being
// built, or starts one; a big row gets a statement of its own.
func (a *applier) appendRow(t *catalog.Table, r keyedRow, kind byte) error {
	writable := a.sqlFor(t).writable
	big := a.big(t, writable, r.row)
	if big {
		if err := a.closeStatement(); err != nil {
			return err
		}
	}
	if err := a.openFor(t, kind); err != nil {
		return err
	}
	if len(a.stmt.rows) > 0 {
		a.stmt.body = append(a.stmt.body, ',')
	}
	a.stmt.rows = append(a.stmt.rows, r)
	a.stmt.body = append(a.stmt.body, '(')
	var err error
	for i, c := range writable {
		if i > 0 {
			a.stmt.body = append(a.stmt.body, ',')
		}
		if a.stmt.body, a.stmt.args, err = appendValue(a.dialect, a.stmt.body, a.stmt.args, big, &t.Columns[c], r.row[c]); err != nil {
			return err
		}
	}
	a.stmt.body = append(a.stmt.body, ')')
	if kind == 'r' && a.r.cfg.Replication.CompareBeforeImage { // its check holds the before-image
		a.stmt.size += textSize(writable, r.beforeImage())
	}
	a.stmt.errorValues += errorValues(t, writable, r.row)
	if big {
		return a.closeStatement()
	}
	return nil
}

// big reports whether a row's values, in cols, would take more than
// limits.bigRow bytes as literals.
func (a *applier) big(t *catalog.Table, cols []int, row []any) bool {
	return textSize(cols, row) > a.limits.bigRow
}

// textSize is the size of a row's values in cols, as text.
func textSize(cols []int, row []any) int {
	n := 0
	for _, c := range cols {
		n += catalog.TextSize(row[c])
	}
	return n
}

// appendValue writes v as a literal in dialect d, or as a parameter
// (added to args) when param is set and its kind allows.
func appendValue(d catalog.Dialect, b []byte, args []any, param bool, c *catalog.Column, v any) ([]byte, []any, error) {
	if param {
		if p, ok := catalog.Param(v); ok {
			if sql, ok := d.Parameter(c); ok {
				return append(b, sql...), append(args, p), nil
			}
		}
	}
	b, err := d.AppendLiteral(b, c, v)
	return b, args, err
}

// written ends a statement written into buf from mark on: one with
// parameters becomes a segment of its own, and a buffer that reached
// limits.flush is cut, so that no packet outgrows the target's
// max_allowed_packet.
func (a *applier) written(mark int, args []any, at Position) error {
	if args != nil {
		if size := a.limits.largest(len(a.buf)-mark, args); size > 0 {
			return a.r.tooLarge("a value of a row change", size, a.limits.packet, at)
		}
		q := strings.TrimSuffix(string(a.buf[mark:]), ";")
		a.segs = append(a.segs, segment{text: a.buf[:mark]}, segment{query: q, args: args})
		a.buf = nil
		return nil
	}
	if len(a.buf) >= a.limits.flush {
		a.segs = append(a.segs, segment{text: a.buf})
		a.buf = nil
	}
	return nil
}

func (a *applier) deleteRow(t *catalog.Table, row []any) error {
	if ok, err := a.copied(t, row); !ok || err != nil {
		return err
	}
	a.batch.rows++
	if a.sqlFor(t).net {
		return a.netPut(t, netRow{row: row, deleted: true}, row)
	}
	return a.appendDelete(t, keyedRow{row: row, at: a.trxStart})
}

// appendDelete adds a row to the multi-row DELETE being built, or starts
// one; a row of a table without a key is deleted on its own, matched by
// every column, and so is a row whose before-image is to be compared and
// is too big for literals.
func (a *applier) appendDelete(t *catalog.Table, r keyedRow) error {
	writable := a.sqlFor(t).writable
	compare := a.r.cfg.Replication.CompareBeforeImage
	if len(t.Key) > 0 && !(compare && a.big(t, writable, r.beforeImage())) {
		if err := a.openFor(t, 'd'); err != nil {
			return err
		}
		a.stmt.rows = append(a.stmt.rows, r)
		if compare {
			a.stmt.size += textSize(writable, r.beforeImage())
		} else {
			a.stmt.size += textSize(t.Key, r.row)
		}
		return nil
	}
	if err := a.closeStatement(); err != nil {
		return err
	}
	e := a.expect(t, "DELETE", true, []keyedRow{r})
	big := a.big(t, writable, r.beforeImage())
	return a.rowStatement(e, big, 0, func(b []byte) ([]byte, []any, error) {
		b = append(b, a.sqlFor(t).delete...)
		b, args, err := a.appendFind(b, nil, big, e, r.beforeImage())
		if len(t.Key) == 0 {
			b = append(b, " LIMIT 1"...)
		}
		return append(b, ';'), args, err
	})
}

// rowStatement writes the statement changing the one row of e, which
// writes errorValues ENUM error values, and its check: ROW_COUNT() after
// it (the statement finds the row by key, or by its before-image with
// replication.compare_before_image); or a count before it, when the
// statement cannot find the row by its before-image: for a big row whose
// values go as parameters (the session's character set changes around
// them), and in a careful batch, whose statements find rows by key.
func (a *applier) rowStatement(e *expectation, big bool, errorValues int, write func([]byte) ([]byte, []any, error)) error {
	countBefore := big || e.byImage && !a.findsByImage(e, big)
	if countBefore {
		if err := a.guardCount(e, 1, big); err != nil {
			return err
		}
	}
	mark := a.startStatement(errorValues)
	b, args, err := write(a.buf)
	a.buf = b
	if err != nil {
		return err
	}
	if err := a.written(mark, args, e.rows[0].at); err != nil {
		return err
	}
	rows := a.endStatement(e, errorValues, args != nil)
	if !countBefore {
		a.guardRowCount(e, rows)
	}
	return nil
}

// startStatement begins a statement that writes errorValues ENUM error
// values, with strict mode off when there are any (sqlmode.go), and
// returns where the statement proper begins in buf.
func (a *applier) startStatement(errorValues int) int {
	if errorValues > 0 {
		a.buf = relax(a.buf)
	}
	return len(a.buf)
}

// endStatement follows a statement begun with startStatement, once it is
// written: with strict mode off, its counts are saved (by withBinaryClient
// for one sent with params), strict mode goes back on and its warnings are
// checked. It returns the expression of the statement's row count for the
// checks that follow.
func (a *applier) endStatement(e *expectation, errorValues int, params bool) string {
	if errorValues == 0 {
		return "ROW_COUNT()"
	}
	if !params {
		a.buf = append(a.buf, "SET "+saveCounts+";"...)
	}
	a.buf = withChecksOn(a.buf, a.checks, func(b []byte) []byte {
		return unrelax(b, a.r.cfg.Replication.CheckpointSchema, -e.no, errorValues)
	})
	return savedRows
}

func (a *applier) updateRow(t *catalog.Table, before, after []any) error {
	if a.window != nil {
		// A change that moves a row between ranges copied under different
		// snapshots applies as a delete, an insert, or both.
		b, err := a.window.applies(t, before, a.trxStart)
		if err != nil {
			return err
		}
		aft, err := a.window.applies(t, after, a.trxStart)
		if err != nil {
			return err
		}
		switch {
		case !b && !aft:
			return nil
		case b && !aft:
			return a.deleteRow(t, before)
		case !b && aft:
			return a.insertRow(t, after)
		}
	}
	a.batch.rows++
	if a.sqlFor(t).net {
		return a.netUpdate(t, before, after)
	}
	if err := a.closeStatement(); err != nil {
		return err
	}
	e := a.expect(t, "UPDATE", true, []keyedRow{{row: before, at: a.trxStart}})
	writable := a.sqlFor(t).writable
	big := a.big(t, writable, after) || (len(t.Key) == 0 || e.byImage) && a.big(t, writable, before)
	var changed []int
	for _, c := range writable {
		if t.Columns[c].OnUpdate || !sameValue(before[c], after[c]) {
			changed = append(changed, c)
		}
	}
	if len(changed) == 0 { // nothing to write: the row must still be there
		return a.guardCount(e, 1, big)
	}
	return a.rowStatement(e, big, errorValues(t, changed, after), func(b []byte) ([]byte, []any, error) {
		b = append(b, a.sqlFor(t).update...)
		var args []any
		var err error
		for i, c := range changed {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, catalog.QuoteIdent(t.Columns[c].Name)...)
			b = append(b, '=')
			if b, args, err = appendValue(a.dialect, b, args, big, &t.Columns[c], after[c]); err != nil {
				return b, args, err
			}
		}
		b = append(b, " WHERE "...)
		if b, args, err = a.appendFind(b, args, big, e, before); err != nil {
			return b, args, err
		}
		if len(t.Key) == 0 {
			b = append(b, " LIMIT 1"...)
		}
		return append(b, ';'), args, nil
	})
}

// closeStatement writes the multi-row statement being built, if any,
// with its check, into buf.
func (a *applier) closeStatement() error {
	st := a.stmt
	a.stmt = openStatement{body: st.body[:0]}
	if st.kind == 0 {
		return nil
	}
	t, s, log := st.table, a.sqlFor(st.table), a.logDivergence()
	var mark int // where the statement proper begins, after its check
	var e *expectation
	switch st.kind {
	case 'd':
		e = a.expect(t, "DELETE", true, st.rows)
		careful := a.careful()
		if careful {
			if err := a.guardCount(e, len(st.rows), a.bigImages(e)); err != nil {
				return err
			}
		}
		a.buf = append(a.buf, s.delete...)
		var err error
		if a.buf, _, err = a.appendKeySet(a.buf, nil, false, t, st.rows, e.byImage && !careful); err != nil {
			return err
		}
		a.buf = append(a.buf, ';')
		if !careful {
			a.guardAffected(e, len(st.rows), "ROW_COUNT()")
		}
		return a.written(len(a.buf), nil, st.rows[0].at)
	case 'r':
		e = a.expect(t, "UPDATE", true, st.rows)
		// Rows compared with their before-images are counted before the
		// REPLACE, which cannot find them by their images itself.
		if careful := a.careful() || st.args != nil || e.byImage; !careful {
			a.startStatement(st.errorValues)
			a.buf = append(a.buf, s.replace...)
			a.buf = append(a.buf, st.body...)
			a.buf = append(a.buf, ';')
			a.guardAffected(e, 2*len(st.rows), a.endStatement(e, st.errorValues, false))
			return a.written(len(a.buf), nil, st.rows[0].at)
		}
		if err := a.guardCount(e, len(st.rows), a.bigImages(e)); err != nil {
			return err
		}
		mark = a.startStatement(st.errorValues)
		a.buf = append(a.buf, s.replace...)
		a.buf = append(a.buf, st.body...)
	case 'i', 'n':
		// Keys that must be free: the server's duplicate-key error checks
		// them, unless divergences are logged.
		e = a.expect(t, "INSERT", false, st.rows)
		if !log {
			mark = a.startStatement(st.errorValues)
			a.buf = append(a.buf, s.insert...)
			a.buf = append(a.buf, st.body...)
			break
		}
		if len(t.Key) > 0 { // duplicate rows are legal without a key
			if err := a.guardCount(e, 0, false); err != nil {
				return err
			}
		}
		mark = a.startStatement(st.errorValues)
		if st.kind == 'n' {
			a.buf = append(a.buf, s.replace...)
			a.buf = append(a.buf, st.body...)
			break
		}
		a.buf = append(a.buf, s.insert...)
		a.buf = append(a.buf, st.body...)
		a.buf = append(a.buf, s.upsert...)
	}
	a.buf = append(a.buf, ';')
	if err := a.written(mark, st.args, st.rows[0].at); err != nil {
		return err
	}
	a.endStatement(e, st.errorValues, st.args != nil)
	return nil
}

// flush sends the buffered statements inside the open target transaction.
func (a *applier) flush(ctx context.Context) error {
	if err := a.writeNet(); err != nil {
		return err
	}
	if err := a.closeStatement(); err != nil {
		return err
	}
	if len(a.buf) == 0 && len(a.segs) == 0 {
		return nil
	}
	if !a.open {
		a.beginTarget()
	}
	if err := a.send(ctx, nil); err != nil {
		return err
	}
	a.open = true
	return nil
}

// commit sends what is buffered, moves the checkpoint to the last
// transaction boundary and commits, all in one round trip when the batch
// is small.
func (a *applier) commit(ctx context.Context) error {
	if !a.pending() {
		return nil
	}
	if err := a.writeNet(); err != nil {
		return err
	}
	if err := a.closeStatement(); err != nil {
		return err
	}
	if !a.open {
		a.beginTarget()
	}
	gtid := a.gtids.String()
	a.buf = fmt.Appendf(a.buf, "UPDATE %s.checkpoint SET binlog_file=", catalog.QuoteIdent(a.r.cfg.Replication.CheckpointSchema))
	a.buf = catalog.AppendString(a.buf, a.safe.File)
	a.buf = fmt.Appendf(a.buf, ",binlog_pos=%d,gtid=", a.safe.Pos)
	a.buf = catalog.AppendString(a.buf, gtid)
	a.buf = fmt.Appendf(a.buf, ",event_time=%d,transactions=transactions+%d,row_changes=row_changes+%d,updated_at=UTC_TIMESTAMP(6)",
		max(int64(a.batch.eventTime), unixOrZero(a.cp.EventTime)), a.batch.transactions, a.batch.rows)
	if a.schemaChanged {
		sj, err := a.schemaJSON()
		if err != nil {
			return err
		}
		a.buf = append(a.buf, ",pending_ddl=NULL,schema_json="...)
		a.buf = catalog.AppendString(a.buf, sj)
	}
	a.buf = append(a.buf, " WHERE id=1;COMMIT"...)
	// The checkpoint as it will be once this commits; a failure ends the
	// session, and the next reads the checkpoint from the target again.
	a.cp.Position, a.cp.GTID = a.safe, gtid
	if a.batch.eventTime > 0 {
		a.cp.EventTime = time.Unix(int64(a.batch.eventTime), 0)
	}
	a.cp.Transactions += uint64(a.batch.transactions)
	a.cp.RowChanges += uint64(a.batch.rows)
	if a.schemaChanged {
		a.cp.PendingDDL = ""
	}
	batch, safe, eventTime := a.batch, a.safe, a.cp.EventTime
	faultpoint.Hit(faultpoint.BeforeBatchCommit)
	if err := a.send(ctx, func() {
		a.r.progress.applied(batch.transactions, batch.rows, batch.heartbeat, time.Now())
		a.r.progress.setPosition(safe, eventTime)
	}); err != nil {
		return err
	}
	faultpoint.Hit(faultpoint.AfterBatchCommit)
	a.open, a.dirty, a.schemaChanged, a.batch = false, false, false, batchStats{}
	if a.window != nil && a.safe.Compare(a.window.until) >= 0 {
		a.window = nil // every later change applies to every row
	}
	return nil
}

// beginTarget starts the target transaction with the batch's first
// packet, which first claims the checkpoint row (divergence.go).
func (a *applier) beginTarget() {
	head := a.claimCheckpoint()
	if len(a.segs) > 0 {
		a.segs[0].text = append(head, a.segs[0].text...)
		return
	}
	a.buf = append(head, a.buf...)
}

// rollback abandons the open target transaction; the stream restarts from
// the checkpoint. The ROLLBACK is sent whatever the applier believes: a
// batch that failed part way (a lock wait timeout ends only the statement)
// leaves its transaction open, and the next BEGIN on this connection
// would commit its first half.
func (a *applier) rollback() {
	_ = a.settle() // may take up to the statement timeout: before the ROLLBACK's own deadline
	ctx, cancel := context.WithTimeout(a.watch.statements, 10*time.Second)
	defer cancel()
	_, _ = a.conn.ExecContext(ctx, "ROLLBACK")
	a.buf, a.segs, a.open, a.stmt, a.batch, a.expects = a.buf[:0], nil, false, openStatement{}, batchStats{}, a.expects[:0]
	a.net.reset()
}

// inflight is a buffer of statements the target is executing. The applier
// builds the next batch meanwhile, so decoding and writing SQL overlap the
// target's work; anything else that uses the connection settles it first.
type inflight struct {
	segs    []segment // the last one's text is buf
	buf     []byte
	expects []expectation
	done    chan error
	then    func() // after it succeeded: progress of a commit
}

// send hands the buffer to the target, after the one sent before has
// succeeded, and gives the applier a fresh buffer.
func (a *applier) send(ctx context.Context, then func()) error {
	if err := a.settle(); err != nil {
		return err
	}
	f := &inflight{segs: append(a.segs, segment{text: a.buf}), buf: a.buf, expects: a.expects, done: make(chan error, 1), then: then}
	at := a.trxStart
	// Not cancelled with the session: a stop lets the statements finish
	// (within the statement timeout) and commits up to the boundary. Only
	// the target's watchdog cancels them, when the target stops answering.
	go func() { f.done <- a.exec(a.watch.statements, f, at) }()
	a.sent, a.buf, a.segs, a.expects, a.bufChecks = f, a.spare[:0], nil, nil, a.checks
	return nil
}

// settle waits for the statements in flight and returns their error.
func (a *applier) settle() error {
	f := a.sent
	if f == nil {
		return nil
	}
	err := <-f.done
	a.sent, a.spare = nil, f.buf
	if err != nil {
		return err
	}
	if f.then != nil {
		f.then()
	}
	return nil
}

// exec runs statements of the transaction that began at position at.
func (a *applier) exec(ctx context.Context, f *inflight, at Position) error {
	ctx, cancel := context.WithTimeout(ctx, a.r.statementTimeout())
	defer cancel()
	a.watch.busySince.Store(time.Now().UnixNano())
	defer a.watch.busySince.Store(0)
	if err := a.execSegments(ctx, f.segs); err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errTargetStalled) {
			return fmt.Errorf("target: %w", cause)
		}
		if transient(err) {
			return fmt.Errorf("target: %w", err)
		}
		if stop := a.divergence(ctx, err, f.expects); stop != nil {
			return stop
		}
		return &StopError{Position: at, Reason: "the target rejected a change: " + err.Error(),
			Fix: "the target's data or schema differs from the source's; run switcharoo verify, repair the target, then restart replicate"}
	}
	return nil
}

// execSegments sends a batch's packets in order.
func (a *applier) execSegments(ctx context.Context, segs []segment) error {
	for _, s := range segs {
		var err error
		switch {
		case s.query != "":
			err = withBinaryClient(ctx, a.conn, func() error {
				_, err := a.conn.ExecContext(ctx, s.query, s.args...)
				return err
			})
		case len(s.text) > 0:
			_, err = a.conn.ExecContext(ctx, string(s.text))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// withBinaryClient runs f, whose statements have parameters of raw bytes,
// under character_set_client=binary: the server then takes them as they
// are (in the client's character set, bytes invalid in it would become
// '?'), and the parameters' SQL says what character set they are in. The
// statement that sets it back saves f's last statement's counts first
// (sqlmode.go).
func withBinaryClient(ctx context.Context, conn *sql.Conn, f func() error) error {
	if _, err := conn.ExecContext(ctx, "SET @switcharoo_client = @@character_set_client, character_set_client = binary"); err != nil {
		return err
	}
	err := f()
	if _, rerr := conn.ExecContext(ctx, "SET "+saveCounts+", character_set_client = @switcharoo_client"); err == nil {
		err = rerr
	}
	return err
}

// tooLarge stops at a row the target cannot take in a packet.
func (r *Replicator) tooLarge(what string, size, packet int, at Position) error {
	var source int64
	_ = r.source.db.QueryRow("SELECT @@global.max_allowed_packet").Scan(&source)
	return &StopError{Position: at, Reason: fmt.Sprintf("%s takes %d bytes, more than the target's max_allowed_packet (%d bytes; the source's is %d)", what, size, packet, source),
		Fix: "raise max_allowed_packet on the target (Aurora: in the DB cluster parameter group, up to 1 GB) to more than the largest row, then restart replicate"}
}

// sameValue reports whether two decoded column values are equal.
func sameValue(x, y any) bool {
	switch xv := x.(type) {
	case []byte:
		yv, ok := y.([]byte)
		return ok && bytes.Equal(xv, yv)
	case string:
		yv, ok := y.(string)
		return ok && xv == yv
	case nil:
		return y == nil
	}
	return reflect.DeepEqual(x, y)
}

// tableSQL holds a table's statement prefixes, and whether its changes
// are applied as net changes.
type tableSQL struct {
	writable []int
	insert   string // INSERT INTO `db`.`t` (`a`,`b`) VALUES
	replace  string // REPLACE INTO `db`.`t` (`a`,`b`) VALUES
	upsert   string //  ON DUPLICATE KEY UPDATE `a`=VALUES(`a`),`b`=VALUES(`b`), or with a row alias (upsertRow)
	update   string // UPDATE `db`.`t` SET
	delete   string // DELETE FROM `db`.`t` WHERE
	net      bool   // netEligible, once netKnown
	netKnown bool
	// precise: the target's columns were compared with t's (precision.go).
	precise bool
}

func (a *applier) sqlFor(t *catalog.Table) *tableSQL {
	if s, ok := a.sql[t.Name]; ok {
		return s
	}
	target := catalog.QuoteName(a.r.filter.Target(t.Name))
	s := &tableSQL{writable: t.Writable()}
	cols := make([]string, len(s.writable))
	for i, c := range s.writable {
		cols[i] = catalog.QuoteIdent(t.Columns[c].Name)
	}
	s.insert = "INSERT INTO " + target + " (" + strings.Join(cols, ",") + ") VALUES "
	s.replace = "REPLACE" + strings.TrimPrefix(s.insert, "INSERT")
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + "=VALUES(" + c + ")"
		if a.dialect.RowAlias {
			set[i] = c + "=" + upsertRow + "." + c
		}
	}
	s.upsert = " ON DUPLICATE KEY UPDATE " + strings.Join(set, ",")
	if a.dialect.RowAlias {
		s.upsert = " AS " + upsertRow + s.upsert
	}
	s.update = "UPDATE " + target + " SET "
	s.delete = "DELETE FROM " + target + " WHERE "
	a.sql[t.Name] = s
	return s
}

// upsertRow is the alias of an upsert's new row, in the dialects that
// name it (catalog.Dialect.RowAlias): a name no replicated table is
// likely to have, so that it cannot be mistaken for the table's.
const upsertRow = "`switcharoo_new`"

// incidentText renders an incident event's body: its type (1 is
// LOST_EVENTS) and message.
func incidentText(data []byte) string {
	if len(data) < 2 {
		return "no details"
	}
	kind := "LOST_EVENTS"
	if t := binary.LittleEndian.Uint16(data); t != 1 {
		kind = fmt.Sprintf("type %d", t)
	}
	if len(data) >= 3 && len(data) >= 3+int(data[2]) && data[2] > 0 {
		return fmt.Sprintf("%s (%q)", kind, data[3:3+int(data[2])])
	}
	return kind
}

func uuidString(b []byte) string {
	if len(b) != 16 {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
