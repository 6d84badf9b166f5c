package binlog

import (
	"fmt"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"github.com/switcharoo/switcharoo/internal/privileges"
)

// Strict mode. The target's sessions (the stream's, the copy's) write
// under a strict sql_mode, so that a value the target's column cannot hold
// as the source stored it — too long, out of range, not in the column's
// character set — is an error that stops replication, never a warning
// and a truncated copy. Zero dates, dates with zero parts and invalid
// dates (2021-02-31, which a source with ALLOW_INVALID_DATES stores) are
// the source's data, and are accepted: no NO_ZERO_DATE, NO_ZERO_IN_DATE,
// and ALLOW_INVALID_DATES. (A schema change applied to the target runs
// under its source session's sql_mode instead: statusvars.go.)
//
// One value a non-strict source stores cannot be written in strict mode:
// an ENUM's error value (index 0), which every way of writing it (0, ”)
// makes an error. A statement that writes n of them runs with strict mode
// off, and the statement right after it saves its warning count (on MySQL
// 5.7 and later every statement clears the count of the one before, so
// nothing may come between them): each error value raises exactly one
// warning, so any other is a value truncated, and a guard then fails the
// batch as divergence.go's checks do, under the negated number of the
// statement's check. Fewer warnings than error values is no truncation:
// an UPDATE that found no row wrote nothing, which its row count check
// tells (a divergence, logged under on_divergence: log). @@warning_count counts every warning, unlike
// GET DIAGNOSTICS, which stops at max_error_count.
//
// It counts those the statement's own text raised too: MySQL 8.0 warns,
// as it parses, at deprecated syntax, and a warning there would read as
// a value truncated. So the statements are written in the target's
// dialect (dialectFor), which does not name utf8mb3 nor use VALUES() on
// MySQL 8.0, and the match of a row of a table without a key is CAST(c AS
// BINARY), not the BINARY operator (deprecated in 8.0.27). Not covered:
// the character sets 8.0.28 deprecated (ucs2, macroman, macce, dec8,
// hp8), whose introducers warn too (docs/replication.md).
const (
	strictMode  = "STRICT_ALL_TABLES,ALLOW_INVALID_DATES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"
	relaxedMode = "ALLOW_INVALID_DATES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"
	// saveCounts saves a statement's warning and row counts: the first
	// assignments of the SET right after it.
	saveCounts = "@switcharoo_warnings=@@warning_count,@switcharoo_rows=ROW_COUNT()"
	// savedRows is the row count saveCounts saved.
	savedRows = "@switcharoo_rows"
)

// targetSession are the target's session settings: those of every data
// session, in strict mode.
func targetSession() map[string]string {
	p := mysqlconn.DataSession()
	p["sql_mode"] = "'" + strictMode + "'"
	return p
}

// dialectFor is how the statements that write rows are spelt for target
// server f (catalog.Dialect): on MySQL 8.0 (Aurora MySQL 3) utf8mb3 text
// is written as utf8mb4, from 8.0.20 an upsert names its new row by an
// alias. MariaDB writes utf8mb3 text as utf8mb4 too: it takes either
// without a warning, and so the tests, which run on MariaDB, exercise
// that spelling on a real server. MySQL 5.6 and 5.7 (the source, written
// back by reverse replication) keep the spelling they have always taken.
func dialectFor(f privileges.Flavor) catalog.Dialect {
	mysql8 := !f.MariaDB && f.AtLeast(8, 0, 0)
	return catalog.Dialect{
		Utf8mb3AsUtf8mb4: mysql8 || f.MariaDB,
		RowAlias:         mysql8 && f.AtLeast(8, 0, 20),
	}
}

// relax appends what precedes a statement that writes ENUM error values:
// strict mode off.
func relax(b []byte) []byte {
	return append(b, "SET SESSION sql_mode='"+relaxedMode+"';"...)
}

// unrelax appends what follows a statement that wrote n ENUM error values,
// once its counts are saved: strict mode back on, and the guard that fails
// the batch with check number check when the statement warned more than
// n times.
func unrelax(b []byte, schema string, check int64, n int) []byte {
	b = append(b, "SET SESSION sql_mode='"+strictMode+"';"...)
	return appendFailCheck(b, catalog.QuoteIdent(schema), check, fmt.Sprintf("@switcharoo_warnings>%d", n))
}

// appendFailCheck appends the statement that fails the batch with an error
// naming check when cond holds: it inserts the check's number twice into
// the divergence table, whose unique key rejects the second.
func appendFailCheck(b []byte, schema string, check int64, cond string) []byte {
	return fmt.Appendf(b, "INSERT INTO %s.divergence (check_no,problem,detected_at) SELECT %d,'',UTC_TIMESTAMP(6) FROM (SELECT 1 UNION ALL SELECT 2) d WHERE %s;", schema, check, cond)
}

// errorValues counts the ENUM error values among a row's values in cols.
func errorValues(t *catalog.Table, cols []int, row []any) int {
	n := 0
	for _, c := range cols {
		if t.Columns[c].IsErrorValue(row[c]) {
			n++
		}
	}
	return n
}

// isValueError reports whether err is strict mode's refusal of a value the
// target's column cannot hold: out of range, truncated, incorrect for the
// column's type or character set, too long.
func isValueError(err error) bool {
	switch mysqlErrno(err) {
	case 1264, 1265, 1292, 1366, 1406:
		return true
	}
	return false
}

// valueFix says what to do when the target cannot hold a source's value.
const valueFix = "a column of the target's table cannot hold the source's values (changed on the target, or a schema change replication did not follow under replication.ddl: ignore); " +
	"make it as on the source (compare SHOW CREATE TABLE on both), then restart replicate"

// truncatedWithErrorValues explains a failed warnings guard.
const truncatedWithErrorValues = "the statement wrote an ENUM's error value (index 0), so it ran with strict mode off, and the target warned of more values changed than those"
