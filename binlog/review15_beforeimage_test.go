package binlog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// review15Wide has a column of every kind a before-image is compared by,
// with the values the applier's literals must match exactly: FLOAT and
// DOUBLE edges (denormals, maxima, -0, FLOAT(M,D)), DECIMAL with trailing
// zeros, BIT(64), SET and ENUM error values and ” members, YEAR(2),
// negative TIME, zero and invalid dates, TIMESTAMP with fractions, CHAR
// with trailing spaces in single- and multi-byte character sets (ucs2,
// utf16, utf32, utf8mb3), NO PAD collations, BINARY and VARBINARY ending
// in zeros, geometry, generated columns and an ON UPDATE column.
var review15Wide = `CREATE TABLE app.wide (
	id INT NOT NULL PRIMARY KEY, n INT NOT NULL DEFAULT 0,
	f FLOAT, d DOUBLE, fm FLOAT(7,4), dm DOUBLE(12,3),
	dec4 DECIMAL(10,4), dec65 DECIMAL(65,30), b64 BIT(64), b5 BIT(5),
	s SET('', 'a', 'b'), e ENUM('', 'x', '1'), y2 YEAR(2), y4 YEAR,
	tm TIME, tm6 TIME(6), dt DATETIME, dt6 DATETIME(6), dte DATE, ts3 TIMESTAMP(3) NULL DEFAULT NULL,
	c CHAR(6) CHARACTER SET latin1, cu3 CHAR(6) CHARACTER SET utf8mb3, cucs CHAR(4) CHARACTER SET ucs2,
	v16 VARCHAR(10) CHARACTER SET utf16, c32 CHAR(3) CHARACTER SET utf32,
	vnp VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_nopad_ci,
	cnp CHAR(6) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
	bin BINARY(6), vbin VARBINARY(6), tx TEXT CHARACTER SET utf8mb4, bl BLOB,
	g GEOMETRY, pt POINT,
	gv INT AS (n * 2) VIRTUAL, gs VARCHAR(40) AS (CONCAT(vbin, '|', n)) PERSISTENT,
	upd TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) DEFAULT CHARSET=latin1`

const review15WideCols = `(id, f, d, fm, dm, dec4, dec65, b64, b5, s, e, y2, y4, tm, tm6, dt, dt6, dte, ts3, c, cu3, cucs, v16, c32, vnp, cnp, bin, vbin, tx, bl, g, pt)`

var review15WideRows = []string{
	`(%d, -0e0, -0e0, 1.2345, 1.5, 1.5000, '0.000000000000000000000000000010', b'1111111111111111111111111111111111111111111111111111111111111111', b'10101',
	  '', 'bogus', 2000, 0, '-838:59:59', '-00:00:00.000001', '0000-00-00 00:00:00', '2021-02-31 23:59:59.999999', '2021-00-00', '0000-00-00 00:00:00',
	  'a  ', 'é ', 'ab ', 'x  ', 'a ', 'a  ', 'n ', x'000000000000', x'0000', '', '', ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(0 0)'))`,
	`(%d, 1.401298464324817e-45, 4.9e-324, -999.9999, -123456789.125, -0.0010, '-99999999999999999999999999999999999.999999999999999999999999999999', b'0', b'0',
	  ',a,b', '', 1969, 2155, '-00:00:01', '838:59:59.999999', '9999-12-31 23:59:59', '0000-00-00 00:00:00.000000', '0000-00-00', '2038-01-19 03:14:07.999',
	  '', '日本 ', '  ', '😀 ', '😀', ' ', ' ', x'01', x'0100', 'é😀  ', x'00', ST_GeomFromText('LINESTRING(0 0, 1 1)'), ST_GeomFromText('POINT(-180.5 90.25)'))`,
	`(%d, 3.4028234663852886e38, 1.7976931348623157e308, 0.0001, 0.001, 99999.9990, '1.100000000000000000000000000000', b'1000000000000000000000000000000000000000000000000000000000000000', b'11111',
	  'b', 'x', 1970, 1901, '-01:00:00', '-838:59:59.000000', '1000-01-01 00:00:00', '2020-02-30 00:00:00.5', '2020-02-30', '1970-01-01 00:00:01.001',
	  'ÿ', 'x', 'é', 'a', 'abc', 'É', '', x'00000000000a', '', REPEAT('x', 1000), REPEAT(x'00', 100), ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'), ST_GeomFromText('POINT(3 4)'))`,
	`(%d, 1.1754943508222875e-38, 2.2250738585072014e-308, 0.1, 0.1, 0, 0, 0, 0,
	  'a', '1', 2069, 2000, '00:00:00', '00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00.000001', '2000-01-01', '2001-02-03 04:05:06.7',
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	`(%d, 0.1, 0.1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
}

// review15Mode is a source session as a MySQL 5.6 master's: not strict, so
// ENUM error values and invalid dates are stored.
const review15Mode = "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'; "

func review15Insert(r *rig, base int) {
	for i, row := range review15WideRows {
		r.source(review15Mode + "INSERT INTO app.wide " + review15WideCols + " VALUES " + fmt.Sprintf(row, base+i))
	}
}

// With replication.compare_before_image, a row that is on the target
// exactly as on the source matches its before-image, whatever its values:
// an UPDATE of a column every row has (so every other column is compared)
// and a DELETE of every row, copied or streamed, must replicate without a
// stop, and leave the target identical.
func TestReview15BeforeImageEveryTypeNoFalseStop(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.source("CREATE DATABASE app", review15Wide)
	review15Insert(r, 1) // copied
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	review15Insert(r, 101) // streamed
	r.waitCaughtUp(run)
	r.assertSame("app")
	for _, id := range []int{1, 2, 3, 4, 5, 101, 102, 103, 104, 105} {
		r.source(fmt.Sprintf("UPDATE app.wide SET n = n + 1 WHERE id = %d", id))
	}
	r.source("UPDATE app.wide SET n = n + 1") // one statement, every row
	r.waitCaughtUp(run)
	r.assertSame("app")
	r.source("DELETE FROM app.wide WHERE id < 100", "DELETE FROM app.wide WHERE id = 101", "DELETE FROM app.wide")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
	if strings.Contains(r.log.String(), "before-image") {
		t.Errorf("log mentions a before-image mismatch:\n%s", r.log)
	}
}

// The same values in a table without a key (allow_no_key), whose rows the
// applier finds by every column, and whose before-images it compares the
// same way; and in rows big enough to be sent as parameters.
func TestReview15BeforeImageEveryTypeNoKeyAndBig(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.CompareBeforeImage = true
	r.cfg.Replication.AllowNoKey = []string{"app.wide"}
	noKey := strings.Replace(review15Wide, "id INT NOT NULL PRIMARY KEY", "id INT NOT NULL", 1)
	noKey = strings.Replace(noKey, "tx TEXT CHARACTER SET utf8mb4, bl BLOB", "tx MEDIUMTEXT CHARACTER SET utf8mb4, bl MEDIUMBLOB", 1)
	r.source("CREATE DATABASE app", noKey)
	review15Insert(r, 1)
	r.source("UPDATE app.wide SET tx = REPEAT('é', 100000), bl = REPEAT(x'00', 200000) WHERE id = 3")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	review15Insert(r, 101)
	r.source("UPDATE app.wide SET tx = REPEAT('ü', 100000), bl = REPEAT(x'01', 200000) WHERE id = 103")
	r.waitCaughtUp(run)
	r.assertSameQuery("SELECT id, MD5(CONCAT_WS('|', HEX(f), HEX(d), tx, HEX(bl), HEX(cucs), HEX(c32), HEX(g))) FROM app.wide ORDER BY 1")
	for _, id := range []int{1, 2, 3, 4, 5, 101, 102, 103, 104, 105} {
		r.source(fmt.Sprintf("UPDATE app.wide SET n = n + 1 WHERE id = %d", id))
	}
	r.waitCaughtUp(run)
	r.source("DELETE FROM app.wide WHERE id IN (1, 3, 101, 103)", "DELETE FROM app.wide")
	r.waitCaughtUp(run)
	r.stopClean(run)
	if got := targetCount(t, r, "SELECT COUNT(*) FROM app.wide"); got != 0 {
		t.Errorf("target has %d rows left", got)
	}
}
