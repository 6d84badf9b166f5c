package binlog_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// typesTable has a column of every type, with edge values below.
const typesTable = `CREATE TABLE app.types (
	id INT NOT NULL PRIMARY KEY,
	ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
	mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
	d DECIMAL(65,30), dn DECIMAL(10,0), f FLOAT, dbl DOUBLE,
	b1 BIT(1), b8 BIT(8), b64 BIT(64),
	e ENUM('a','b','ç'), s SET('x','y','z'),
	c_latin CHAR(10) CHARACTER SET latin1, v_latin VARCHAR(100) CHARACTER SET latin1, t_latin TEXT CHARACTER SET latin1,
	c_utf CHAR(10) CHARACTER SET utf8mb4, v_utf VARCHAR(100) CHARACTER SET utf8mb4, t_utf MEDIUMTEXT CHARACTER SET utf8mb4,
	bin BINARY(8), vbin VARBINARY(100), blb BLOB, lblb LONGBLOB,
	dt DATE, dtm DATETIME, dtm6 DATETIME(6), ts TIMESTAMP NULL DEFAULT NULL, ts6 TIMESTAMP(6) NULL DEFAULT NULL,
	tm TIME, tm3 TIME(3), yr YEAR,
	js JSON,
	pt POINT
) DEFAULT CHARSET=latin1`

// typeRows are edge values: minimums, maximums, zero dates, high bytes,
// 4-byte characters, zero bytes, and NULL in every nullable column.
var typeRows = []string{
	// minimums
	`(%d, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
	  '-99999999999999999999999999999999999.999999999999999999999999999999', -9999999999, -3.40282e38, -1.7976931348623157e308,
	  b'0', b'00000000', b'0', 'a', '', '', '', '', '', '', '', x'0000000000000000', '', '', '',
	  '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01', '1970-01-01 00:00:01.000000',
	  '-838:59:59', '-838:59:59.000', 1901, '[]', ST_GeomFromText('POINT(0 0)'))`,
	// maximums
	`(%d, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
	  '99999999999999999999999999999999999.999999999999999999999999999999', 9999999999, 3.40282e38, 1.7976931348623157e308,
	  b'1', b'11111111', b'1111111111111111111111111111111111111111111111111111111111111111', 'ç', 'x,y,z',
	  'ÿÿÿÿÿÿÿÿÿÿ', CONCAT('é', REPEAT('ÿ', 99)), REPEAT('Ã©', 1000), '😀😀😀😀😀😀😀😀😀😀', REPEAT('𝄞', 100), REPEAT('日本語😀', 10000),
	  x'ffffffffffffffff', REPEAT(x'00ff', 50), REPEAT(x'00', 1000), REPEAT(x'01020300', 100000),
	  '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07', '2038-01-19 03:14:07.999999',
	  '838:59:59', '838:59:59.999', 2155, '{"a": [1, 2.5, "x", null, true], "b": {"c": "😀"}}', ST_GeomFromText('POINT(-180.5 90.25)'))`,
	// zero dates, odd values
	`(%d, 0, 1, -1, 1, -1, 1, -1, 1, -1, 9223372036854775808,
	  '0.000000000000000000000000000001', 0, 1.2345678, 0.30000000000000004,
	  b'0', b'10000000', b'1000000000000000000000000000000000000000000000000000000000000000', 'b', 'y',
	  'a ', 'trailing  ', 'a\nb\tc\\d''e"f', 'ab', 'line\r\n', 'quote '' and backslash \\',
	  x'0001', x'00', x'5c27225c', '',
	  '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000',
	  '00:00:00', '-00:00:01.500', 0, 'null', NULL)`,
	// NULL everywhere
	`(%d, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
}

func insertTypeRows(r *rig, base int) {
	for i, row := range typeRows {
		r.source("INSERT INTO app.types VALUES " + fmt.Sprintf(row, base+i))
	}
}

// Every column type survives the copy and the stream unchanged: inserted,
// updated (including the primary key), deleted, in multi-statement and
// rolled-back transactions.
func TestTypeFidelity(t *testing.T) {
	r := newRig(t, "sql_mode=''") // the source accepts zero dates, as 5.6 does
	r.source("CREATE DATABASE app", typesTable)
	insertTypeRows(r, 1) // copied

	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.assertSame("app")

	insertTypeRows(r, 101) // streamed
	r.source(
		// An update of every column to the values of another row, both ways.
		"UPDATE app.types t JOIN app.types u ON u.id = 102 SET "+setAll("t", "u")+" WHERE t.id = 103",
		"UPDATE app.types t JOIN app.types u ON u.id = 101 SET "+setAll("t", "u")+" WHERE t.id = 104",
		"UPDATE app.types SET id = 200 WHERE id = 101",           // primary key change
		"UPDATE app.types SET id = id + 1000 WHERE id IN (1, 2)", // multi-row key change
		"UPDATE app.types SET f = f WHERE id = 3",                // no change
		"DELETE FROM app.types WHERE id = 4",
		"START TRANSACTION; INSERT INTO app.types (id, ti) VALUES (300, 1); UPDATE app.types SET ti = 2 WHERE id = 300; "+
			"DELETE FROM app.types WHERE id = 102; INSERT INTO app.types (id, v_utf) VALUES (301, 'multi'); COMMIT",
		"START TRANSACTION; INSERT INTO app.types (id, ti) VALUES (400, 1); DELETE FROM app.types WHERE id = 200; ROLLBACK",
	)
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	r.assertSame("app")
	// FLOAT and DOUBLE widened to DOUBLE print all their bits.
	exact := "SELECT id, f + 0e0, dbl + 0e0 FROM app.types ORDER BY id"
	if want, got := sandboxtest.Dump(t, r.srcDB, exact), sandboxtest.Dump(t, r.dstDB, exact); !slices.Equal(want, got) {
		t.Errorf("floating-point values differ:\n%s", firstDifference(want, got))
	}
	// assertSame has compared everything; spell out the rolled-back case.
	if n := targetCount(t, r, "SELECT COUNT(*) FROM app.types WHERE id = 400"); n != 0 {
		t.Errorf("a rolled-back insert reached the target")
	}
	if n := targetCount(t, r, "SELECT COUNT(*) FROM app.types WHERE id = 200"); n != 1 {
		t.Errorf("a rolled-back delete reached the target")
	}
}

// setAll sets every column but id of alias t from alias u.
func setAll(t, u string) string {
	cols := []string{"ti", "tiu", "si", "siu", "mi", "miu", "i", "iu", "bi", "biu", "d", "dn", "f", "dbl", "b1", "b8", "b64",
		"e", "s", "c_latin", "v_latin", "t_latin", "c_utf", "v_utf", "t_utf", "bin", "vbin", "blb", "lblb",
		"dt", "dtm", "dtm6", "ts", "ts6", "tm", "tm3", "yr", "js", "pt"}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%s.%s = %s.%s", t, c, u, c)
	}
	return strings.Join(parts, ", ")
}

func targetCount(t *testing.T, r *rig, q string) int {
	t.Helper()
	var n int
	if err := r.dstDB.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
