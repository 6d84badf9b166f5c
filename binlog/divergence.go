package binlog

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
)

// Divergence. A native replica stops when a row change finds the target in
// a state the source did not have: an UPDATE or DELETE whose row is missing
// (error 1032), an INSERT whose key is taken (1062). The applier does the
// same, without giving up its multi-row statements: each statement of a
// batch carries an expectation — these rows exist, or these keys are free
// — checked by the server inside the batch's transaction, in the same
// round trip:
//
//   - after a multi-row DELETE, ROW_COUNT() must be its number of rows;
//     after a multi-row REPLACE of rows that must exist, twice that (a
//     replaced row counts 2: deleted and inserted). A REPLACE also counts 1
//     for a row replaced by identical values, so these counts are
//     optimistic: when one falls short the batch is applied again
//     (careful), and then the rows are counted by key before the statement
//     (a primary-key lookup each, no write), which tells a missing row
//     from an unchanged one;
//   - after an UPDATE of one row, ROW_COUNT() must be 1 (the pool's
//     CLIENT_FOUND_ROWS makes it count the row matched, changed or not);
//   - an INSERT of keys that must be free is a plain INSERT: the server's
//     own duplicate-key error is the check.
//
// A failed count inserts the check's number twice into the checkpoint
// schema's divergence table, whose unique key rejects the second copy: the
// batch stops at that statement with an error naming the check. Before
// each checked statement, SET @switcharoo_check names it too, so an error
// of the statement itself (a duplicate key) is attributed as well. Except
// after an optimistic count, the target's transaction is then still open,
// just before the statement: the applier looks up each of its rows to
// name the first one out of place, with the binlog position of its
// change, and stops.
//
// With replication.on_divergence: log, a failed count instead inserts a
// row describing it into the divergence table (committed with the batch,
// counted by status and the metrics), inserts become REPLACE (or, where a
// second unique key or a foreign key makes REPLACE unsafe, INSERT ... ON
// DUPLICATE KEY UPDATE), and the batch goes on: like a native replica's
// slave_exec_mode=IDEMPOTENT, with a record of what it met.
//
// What is checked is the key: a row found by its key is not compared column
// by column with the change's before-image (neither does a native replica
// find rows by primary key any other way); `switcharoo verify` compares
// every column. With replication.compare_before_image, an UPDATE or DELETE
// finds its rows by their whole before-images — the key, and every other
// stored column but JSON ones, text and binary byte for byte — so that the
// checks above count rows equal to the image: a statement of one row, or a
// multi-row DELETE, has the images in its WHERE; a net change's REPLACE,
// which cannot, is preceded by a count of the rows equal to their images,
// each key's first in the batch (netchange.go). In a careful batch the
// count by image runs ahead of every such statement, which then finds its
// rows by key: a logged divergence is still applied.

// divergenceTable holds the divergences found (log) and takes the stop
// mode's failed checks.
func divergenceTable(q string) string {
	return `CREATE TABLE IF NOT EXISTS ` + q + `.divergence (
			id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
			check_no BIGINT NULL,
			binlog_file VARCHAR(255) NOT NULL DEFAULT '',
			binlog_pos BIGINT UNSIGNED NOT NULL DEFAULT 0,
			table_name VARCHAR(200) NOT NULL DEFAULT '',
			problem TEXT NOT NULL,
			detected_at DATETIME(6) NOT NULL,
			UNIQUE KEY ` + checkKeyName + ` (check_no)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
}

// checkKeyName is the divergence table's unique key, which a failed check
// collides with.
const checkKeyName = "switcharoo_divergence_check"

// expectation is what the target must hold just before one statement of a
// batch: its rows present (an UPDATE's, a DELETE's) or their keys free (an
// INSERT's).
type expectation struct {
	no      int64
	table   *catalog.Table
	verb    string // the source's change: INSERT, UPDATE or DELETE
	present bool
	rows    []keyedRow
	// optimistic: checked by the count after the statement, which cannot
	// tell an identical row from a missing one.
	optimistic bool
	// byImage: rows that must be present are matched by their whole
	// before-image (replication.compare_before_image).
	byImage bool
}

// keyedRow is a row image and the start of the source transaction that
// changed it; and, when it is not the image itself, the before-image the
// target's row must equal: a net change's first (netchange.go).
type keyedRow struct {
	row   []any
	at    Position
	image []any
}

// beforeImage is the row the target must hold before the change.
func (r keyedRow) beforeImage() []any {
	if r.image != nil {
		return r.image
	}
	return r.row
}

// expect records an expectation for the statement that follows in buf and
// names it in the session (SET @switcharoo_check), so that an error of
// that statement is attributed to it.
func (a *applier) expect(t *catalog.Table, verb string, present bool, rows []keyedRow) *expectation {
	a.checkNo++
	a.expects = append(a.expects, expectation{no: a.checkNo, table: t, verb: verb, present: present, rows: rows,
		byImage: present && a.r.cfg.Replication.CompareBeforeImage})
	a.buf = fmt.Appendf(a.buf, "SET @switcharoo_check=%d;", a.checkNo)
	return &a.expects[len(a.expects)-1]
}

func (a *applier) logDivergence() bool {
	return a.r.cfg.Replication.OnDivergence == config.DivergenceLog
}

// guardCount appends a check that the target holds exactly want of e's
// rows (counted by key; with parameters for a big row without a key).
func (a *applier) guardCount(e *expectation, want int, param bool) error {
	cond := append(a.spareCond[:0], "(SELECT COUNT(*) FROM "...)
	cond = append(cond, catalog.QuoteName(a.r.filter.Target(e.table.Name))...)
	cond = append(cond, " WHERE "...)
	cond, args, err := a.appendKeySet(cond, nil, param, e.table, e.rows, e.byImage)
	if err != nil {
		return err
	}
	switch {
	case len(e.table.Key) > 0:
		cond = fmt.Appendf(cond, ")<>%d", want)
	case want > 0: // identical rows are legal without a key: at least one
		cond = append(cond, ")<1"...)
	default:
		cond = append(cond, ")>0"...)
	}
	// With parameters the guard is a prepared statement of its own: the
	// checks are turned on around it, not within it.
	on, back := checksOn(a.checks)
	a.buf = append(a.buf, on...)
	mark := len(a.buf)
	a.buf = a.guardStatement(a.buf, e, cond)
	a.spareCond = cond
	if err := a.written(mark, args, e.rows[0].at); err != nil {
		return err
	}
	a.buf = append(a.buf, back...)
	return nil
}

// guardRowCount appends a check that the statement before matched one
// row, as rows (ROW_COUNT(), or where it was saved) says.
func (a *applier) guardRowCount(e *expectation, rows string) {
	a.appendGuard(e, []byte(rows+"<>1"))
}

// careful reports whether the batch counts the rows it replaces or
// deletes before writing them: with on_divergence: log, and when a batch
// is applied again after its optimistic check failed. Otherwise the
// server's own count after the statement is checked: a DELETE's rows,
// and a REPLACE's, which counts 2 for a row it replaced with different
// values and 1 for a new row or one replaced by identical values — a
// mismatch then has the batch applied again, carefully, to tell the two
// apart and name the row.
func (a *applier) careful() bool {
	return a.logDivergence() || !a.r.carefulUntil.IsZero() && a.cp.Position.Compare(a.r.carefulUntil) <= 0
}

// findsByImage reports whether the statement of e's one row finds it by
// its whole before-image, so that its row count checks the image too: a
// keyed row compared with its before-image, small enough for literals,
// outside a careful batch (whose statements find rows by key, counted by
// image before, so that a logged divergence is still applied).
func (a *applier) findsByImage(e *expectation, big bool) bool {
	return e.byImage && len(e.table.Key) > 0 && !big && !a.careful()
}

// appendFind writes the condition that finds e's one row, row being its
// before-image: by the image where findsByImage, else by key (or every
// column, without a key).
func (a *applier) appendFind(b []byte, args []any, big bool, e *expectation, row []any) ([]byte, []any, error) {
	if a.findsByImage(e, big) {
		return a.appendImageMatch(b, args, false, e.table, row)
	}
	return a.appendRowMatch(b, args, big, e.table, row)
}

// bigImages reports whether any of the before-images e compares is too
// big for literals.
func (a *applier) bigImages(e *expectation) bool {
	writable := a.sqlFor(e.table).writable
	return e.byImage && slices.ContainsFunc(e.rows, func(r keyedRow) bool { return a.big(e.table, writable, r.beforeImage()) })
}

// guardAffected appends the optimistic check of a multi-row statement:
// its row count, rows (ROW_COUNT(), or where it was saved), must be want.
func (a *applier) guardAffected(e *expectation, want int, rows string) {
	e.optimistic = true
	a.appendGuard(e, fmt.Appendf(nil, "%s<>%d", rows, want))
}

// recountError ends a session whose optimistic check failed; the next
// applies the batch again with careful checks, up to until.
type recountError struct{ until Position }

func (e *recountError) Error() string {
	return "a batch's rows did not count as expected; applying it again with a count before each statement, up to " + e.until.String()
}

// appendGuard appends the statement that acts on a failed check: a
// duplicate key (stop) or a row in the divergence table (log).
func (a *applier) appendGuard(e *expectation, cond []byte) {
	// With unique_checks (and foreign_key_checks) off, InnoDB need not
	// check a secondary unique key, and MariaDB loads an empty table in
	// bulk, reporting no duplicate at all: the guard runs with them on.
	// ROW_COUNT() is the statement before's until the next statement:
	// across the SET that turns them on, a variable keeps it.
	if a.checks != defaultChecks && bytes.Contains(cond, []byte("ROW_COUNT()")) {
		a.buf = append(a.buf, "SET @switcharoo_rows=ROW_COUNT();"...)
		cond = bytes.ReplaceAll(cond, []byte("ROW_COUNT()"), []byte("@switcharoo_rows"))
	}
	a.buf = withChecksOn(a.buf, a.checks, func(b []byte) []byte { return a.guardStatement(b, e, cond) })
}

// guardStatement appends the one statement that acts on e's check failing
// (cond true).
func (a *applier) guardStatement(b []byte, e *expectation, cond []byte) []byte {
	q := catalog.QuoteIdent(a.r.cfg.Replication.CheckpointSchema)
	if !a.logDivergence() {
		return appendFailCheck(b, q, e.no, string(cond))
	}
	return a.appendLoggedGuard(b, q, e, cond)
}

// withChecksOn writes what f writes under foreign_key_checks and
// unique_checks on, the session being at in.
func withChecksOn(b []byte, in sessionChecks, f func([]byte) []byte) []byte {
	on, back := checksOn(in)
	return append(f(append(b, on...)), back...)
}

// checksOn returns the statements that turn foreign_key_checks and
// unique_checks on, the session being at in, and back: none when they
// are on.
func checksOn(in sessionChecks) (on, back string) {
	if in == defaultChecks {
		return "", ""
	}
	return "SET SESSION foreign_key_checks=1,unique_checks=1;",
		fmt.Sprintf("SET SESSION foreign_key_checks=%d,unique_checks=%d;", boolInt(in.foreignKeys), boolInt(in.unique))
}

// appendLoggedGuard writes the guard of on_divergence: log, which records
// a failed check in the divergence table.
func (a *applier) appendLoggedGuard(b []byte, q string, e *expectation, cond []byte) []byte {
	at := e.rows[0].at
	b = fmt.Appendf(b, "INSERT INTO %s.divergence (binlog_file,binlog_pos,table_name,problem,detected_at) SELECT ", q)
	b = catalog.AppendString(b, at.File)
	b = fmt.Appendf(b, ",%d,", at.Pos)
	b = catalog.AppendString(b, e.table.Name.String())
	b = append(b, ',')
	b = catalog.AppendString(b, truncate(e.describe(), 2000))
	return fmt.Appendf(b, ",UTC_TIMESTAMP(6) FROM DUAL WHERE %s;", cond)
}

// describe says what e expected, for the divergence table: the verb, and
// the keys.
func (e *expectation) describe() string {
	what := "missing"
	switch {
	case !e.present:
		what = "already present"
	case e.byImage:
		what = "absent, or not equal to its before-image"
	}
	var keys []byte
	for i, r := range e.rows {
		if i > 0 {
			keys = append(keys, "; "...)
		}
		if len(keys) > 1500 {
			keys = fmt.Appendf(keys, "... (%d rows in all)", len(e.rows))
			break
		}
		keys = append(keys, keyText(e.table, r.row)...)
	}
	return fmt.Sprintf("%s: a row among these was %s: %s", e.verb, what, keys)
}

// appendKeySet writes a condition matching rows by key: k IN (...) for a
// one-column key, (a=1 AND b=2) OR (...) for a compound one (range access
// on MySQL 5.6 too, which does not optimise row constructors in IN), and a
// NULL-safe match on every column for a table without a key. byImage
// matches each row's whole image (appendImageMatch).
func (a *applier) appendKeySet(b []byte, args []any, param bool, t *catalog.Table, rows []keyedRow, byImage bool) ([]byte, []any, error) {
	var err error
	if len(t.Key) == 1 && !byImage {
		c := &t.Columns[t.Key[0]]
		b = append(b, catalog.QuoteIdent(c.Name)...)
		b = append(b, " IN ("...)
		for i, r := range rows {
			if i > 0 {
				b = append(b, ',')
			}
			if b, args, err = appendValue(a.dialect, b, args, false, c, r.row[t.Key[0]]); err != nil {
				return b, args, err
			}
		}
		return append(b, ')'), args, nil
	}
	for i, r := range rows {
		if i > 0 {
			b = append(b, " OR "...)
		}
		b = append(b, '(')
		if byImage {
			b, args, err = a.appendImageMatch(b, args, param, t, r.beforeImage())
		} else {
			b, args, err = a.appendRowMatch(b, args, param, t, r.row)
		}
		if err != nil {
			return b, args, err
		}
		b = append(b, ')')
	}
	return b, args, nil
}

// appendImageMatch writes the condition that finds a row equal to a
// before-image: its key, by the key's index, and then every stored column
// NULL-safe, text byte for byte (the key's too: its index compares under
// the collation). JSON columns are left out: MySQL compares JSON by
// value, not with the text the image holds.
func (a *applier) appendImageMatch(b []byte, args []any, param bool, t *catalog.Table, row []any) ([]byte, []any, error) {
	var err error
	and := false
	// A key's value is a literal, compared under its column's collation
	// (a parameter's CONVERT would bring the character set's default
	// collation: an illegal mix with another).
	appendCompare := func(c int, op string, param bool) {
		col := &t.Columns[c]
		if and {
			b = append(b, " AND "...)
		}
		and = true
		b = appendColumn(b, col, op == "<=>")
		b = append(b, op...)
		b, args, err = appendValue(a.dialect, b, args, param, col, row[c])
	}
	for _, c := range t.Key {
		if appendCompare(c, "=", false); err != nil {
			return b, args, err
		}
	}
	for _, c := range t.Writable() {
		if t.Columns[c].Kind() == catalog.KindJSON {
			continue
		}
		if appendCompare(c, "<=>", param); err != nil {
			return b, args, err
		}
	}
	return b, args, nil
}

// appendRowMatch writes the condition that finds one row: its key, or
// every stored column of a table without one (with parameters when param
// is set: a big row).
//
// A key is small: it is always written as literals, compared under the
// column's collation, by its index. Without a key, text is compared in
// binary: under the collation, 'a' and 'A' (or 'b' and 'b ') are equal,
// and LIMIT 1 could pick the wrong one of two such rows. (CAST(c AS
// BINARY), not BINARY c: MySQL 8.0.27 and later warn at the operator.)
func (a *applier) appendRowMatch(b []byte, args []any, param bool, t *catalog.Table, row []any) ([]byte, []any, error) {
	cols, op := t.Key, "="
	if len(cols) == 0 {
		cols, op = t.Writable(), "<=>" // not sqlFor: divergence calls this from the exec goroutine
	} else {
		param = false
	}
	var err error
	for i, c := range cols {
		if i > 0 {
			b = append(b, " AND "...)
		}
		b = appendColumn(b, &t.Columns[c], len(t.Key) == 0)
		b = append(b, op...)
		if b, args, err = appendValue(a.dialect, b, args, param, &t.Columns[c], row[c]); err != nil {
			return b, args, err
		}
	}
	return b, args, nil
}

// appendColumn writes a column's name for a comparison, cast to binary
// when binaryText and it holds text.
func appendColumn(b []byte, c *catalog.Column, binaryText bool) []byte {
	if !binaryText || c.Kind() != catalog.KindText {
		return append(b, catalog.QuoteIdent(c.Name)...)
	}
	b = append(b, "CAST("...)
	b = append(b, catalog.QuoteIdent(c.Name)...)
	return append(b, " AS BINARY)"...)
}

// keyText renders a row's key for a message: `id`=42.
func keyText(t *catalog.Table, row []any) string {
	cols := t.Key
	if len(cols) == 0 {
		cols = t.Writable()
	}
	var b []byte
	for i, c := range cols {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, catalog.QuoteIdent(t.Columns[c].Name)...)
		b = append(b, '=')
		var err error
		if b, err = catalog.AppendLiteral(b, &t.Columns[c], row[c]); err != nil {
			b = fmt.Appendf(b, "%v", row[c])
		}
	}
	return string(b)
}

// claimCheckpoint is the start of every batch: BEGIN, then a lock on the
// checkpoint row, which must still be where this session read it. A batch
// of a killed predecessor (SIGKILL, or a session the watchdog gave up on)
// may still be queued in its server session, behind a row lock: the
// server does not notice the client is gone until it answers. Whichever
// batch claims the row first is applied whole and moves the checkpoint;
// the other then finds it moved and is rolled back (errCheckpointMoved,
// retried from the new checkpoint), or deadlocks and is rolled back. So a
// zombie batch and its re-application never both commit.
func (a *applier) claimCheckpoint() []byte {
	q := catalog.QuoteIdent(a.r.cfg.Replication.CheckpointSchema)
	return withChecksOn([]byte("BEGIN;"), a.bufChecks, func(b []byte) []byte {
		b = fmt.Appendf(b, "UPDATE %s.checkpoint SET id=id WHERE id=1 AND binlog_file=", q)
		b = catalog.AppendString(b, a.cp.Position.File)
		b = fmt.Appendf(b, " AND binlog_pos=%d;", a.cp.Position.Pos)
		// ROW_COUNT() counts the row matched (CLIENT_FOUND_ROWS).
		return appendFailCheck(b, q, checkpointClaim, "ROW_COUNT()<>1")
	})
}

// checkpointClaim is the check number of claimCheckpoint's check.
const checkpointClaim = 0

// failedCheck matches the error of a failed check: the duplicate of its
// number in the divergence table.
var failedCheck = regexp.MustCompile(`Duplicate entry '(-?\d+)' for key '(?:[^']*\.)?` + checkKeyName + `'`)

// divergence explains an error of a batch whose statements carried
// expects: the statement it belongs to, and the first of its rows the
// target does not hold as expected. It runs on the session's connection,
// inside the batch's open transaction, which the error left just before
// that statement. nil when the error belongs to no checked statement.
func (a *applier) divergence(ctx context.Context, err error, expects []expectation) error {
	no, guard := int64(-1), false
	if m := failedCheck.FindStringSubmatch(err.Error()); m != nil {
		no, _ = strconv.ParseInt(m[1], 10, 64)
		guard = true
	}
	switch {
	case guard && no == checkpointClaim:
		return fmt.Errorf("target: %w", errCheckpointMoved)
	case len(expects) == 0:
		return nil
	case !guard:
		var n *int64
		if qerr := a.conn.QueryRowContext(ctx, "SELECT @switcharoo_check").Scan(&n); qerr != nil || n == nil {
			return nil
		}
		no = *n
	}
	warnings := guard && no < 0 // a statement's warnings guard (sqlmode.go)
	if warnings {
		no = -no
	}
	first := expects[0].no
	if no < first || no >= first+int64(len(expects)) {
		return nil
	}
	e := &expects[no-first]
	switch {
	case warnings:
		return &StopError{Position: e.rows[0].at, Reason: fmt.Sprintf("%s of %s (%s%s) wrote a value its column on the target cannot hold: "+truncatedWithErrorValues,
			article(e.verb), e.table.Name, keyText(e.table, e.rows[0].row), andMore(len(e.rows))), Fix: valueFix}
	case isValueError(err):
		r := e.rows[0]
		if m := atRow.FindStringSubmatch(err.Error()); m != nil {
			if i, _ := strconv.Atoi(m[1]); i >= 1 && i <= len(e.rows) {
				r = e.rows[i-1]
			}
		}
		return &StopError{Position: r.at, Reason: fmt.Sprintf("the target cannot hold a value of %s of %s (%s): %v", article(e.verb), e.table.Name, keyText(e.table, r.row), err), Fix: valueFix}
	}
	if guard && e.optimistic {
		until := e.rows[0].at
		for _, r := range e.rows {
			if r.at.Compare(until) > 0 {
				until = r.at
			}
		}
		return &recountError{until: until}
	}
	if !guard && mysqlErrno(err) != errDupEntry {
		return &StopError{Position: e.rows[0].at, Reason: fmt.Sprintf("the target rejected %s of %s: %v", article(e.verb), e.table.Name, err),
			Fix: "the target's data or schema differs from the source's; run switcharoo verify, repair the target, then restart replicate"}
	}
	for _, r := range e.rows {
		found, lerr := a.lookup(ctx, e.table, r.row, false)
		if lerr != nil {
			break
		}
		if found != e.present {
			return divergenceStop(e, r, found)
		}
		if e.byImage {
			if same, lerr := a.lookup(ctx, e.table, r.beforeImage(), true); lerr == nil && !same {
				return &StopError{Position: r.at, Reason: fmt.Sprintf("%s of %s (%s): the target's row differs from the source's before-image (replication.compare_before_image)",
					e.verb, e.table.Name, keyText(e.table, r.row)), Fix: divergenceFix}
			}
		}
	}
	// A collision on another unique key, or rows the lookups could not
	// single out: name the statement.
	return &StopError{Position: e.rows[0].at, Reason: fmt.Sprintf("%s of %d row(s) of %s found the target in a state the source did not have: %v", article(e.verb), len(e.rows), e.table.Name, err),
		Fix: divergenceFix}
}

// atRow finds the row of a multi-row statement that an error names.
var atRow = regexp.MustCompile(`at row (\d+)`)

// andMore says how many rows a statement held besides the one named.
func andMore(rows int) string {
	if rows > 1 {
		return fmt.Sprintf(", or one of the %d rows written with it", rows-1)
	}
	return ""
}

// article puts "a" or "an" before a verb.
func article(verb string) string {
	if strings.HasPrefix(verb, "I") || strings.HasPrefix(verb, "U") {
		return "an " + verb
	}
	return "a " + verb
}

const divergenceFix = "the target differs from the source (a write on the target, or a row changed outside replication); " +
	"run switcharoo verify, repair the target's rows, then restart replicate — or set replication.on_divergence: log to record such changes and go on"

func divergenceStop(e *expectation, r keyedRow, found bool) *StopError {
	problem := "the row is missing on the target"
	if found {
		problem = "the key is already taken on the target"
	}
	return &StopError{Position: r.at, Reason: fmt.Sprintf("%s of %s (%s): %s", e.verb, e.table.Name, keyText(e.table, r.row), problem), Fix: divergenceFix}
}

// lookup reports whether the target holds a row with row's key, or with
// row's whole image.
func (a *applier) lookup(ctx context.Context, t *catalog.Table, row []any, byImage bool) (bool, error) {
	q := []byte("SELECT COUNT(*) FROM ")
	q = append(q, catalog.QuoteName(a.r.filter.Target(t.Name))...)
	q = append(q, " WHERE "...)
	q, args, err := a.appendKeySet(q, nil, a.big(t, t.Writable(), row), t, []keyedRow{{row: row}}, byImage)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var n int
	err = withBinaryClient(ctx, a.conn, func() error { return a.conn.QueryRowContext(ctx, string(q), args...).Scan(&n) })
	return n > 0, err
}

// ReadDivergences counts the divergences a replicator with on_divergence:
// log has recorded on the target.
func ReadDivergences(ctx context.Context, target *sql.DB, schema string) (int64, error) {
	var n int64
	err := target.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+catalog.QuoteIdent(schema)+".divergence WHERE check_no IS NULL").Scan(&n)
	switch {
	case isNoSuchTable(err):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read divergences: %w", err)
	}
	return n, nil
}
