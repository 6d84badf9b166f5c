package checks

import (
	"strings"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

// canonical returns a SQL expression that renders column c the same way on
// MySQL 5.6, 5.7, 8.0 and MariaDB for the same data, whatever the column's
// declared character set or scale:
//
//   - character data converted to utf8mb4 (the same text in latin1 and in
//     utf8mb4 columns reads the same), binary data as stored;
//   - DECIMAL without trailing fractional zeros (1.0 and 1.00 are the same
//     number in columns of different scale);
//   - DATETIME, TIMESTAMP and TIME with six fractional digits, TIMESTAMP in
//     the session's UTC (the same instant, whatever zone wrote it);
//   - ENUM and SET with their index or bitmap, YEAR(2) as four digits;
//   - FLOAT and DOUBLE as DOUBLE, multiplied rather than added so that −0
//     stays −0 (it is stored, and printed, apart from 0).
//
// Variable-length values are prefixed with their length, so that no two
// different rows concatenate to the same text.
func canonical(c *catalog.Column) string {
	q := catalog.QuoteIdent(c.Name)
	switch c.Kind() {
	case catalog.KindInt:
		return q
	case catalog.KindYear:
		if c.Type == "year(2)" { // four digits, as on a YEAR(4) column
			return "IF(" + q + "+0 < 70, " + q + "+2000, IF(" + q + "+0 < 100, " + q + "+1900, " + q + "+0))"
		}
		return q + "+0"
	case catalog.KindFloat:
		return q + " * 1e0"
	case catalog.KindDecimal:
		return "IF(INSTR(" + q + ", '.'), TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM " + q + ")), " + q + ")"
	case catalog.KindTemporal:
		switch c.DataType {
		case "datetime", "timestamp":
			return "CAST(" + q + " AS DATETIME(6))"
		case "time":
			return "CAST(" + q + " AS TIME(6))"
		}
		return q
	case catalog.KindEnum, catalog.KindSet:
		// The index or bitmap too: an ENUM's error value and a member ''
		// read alike, and so do SET values with and without a member ''.
		return "CONCAT(" + q + "+0, ':', CHAR_LENGTH(" + q + "), ':', CONVERT(" + q + " USING utf8mb4))"
	case catalog.KindText, catalog.KindJSON:
		// The length in characters is the same in any character set.
		return "CONCAT(CHAR_LENGTH(" + q + "), ':', CONVERT(" + q + " USING utf8mb4))"
	default: // binary, bit, geometry: the bytes
		return "CONCAT(LENGTH(" + q + "), ':', " + q + ")"
	}
}

// rowHash is a SQL expression: the CRC32 of a row's canonical columns and
// of which of them are NULL (CONCAT_WS skips NULLs, so NULL and the empty string would
// otherwise look alike).
func rowHash(t *catalog.Table, columns []int) string {
	parts := make([]string, 0, len(columns)+1)
	var nulls []string
	for _, i := range columns {
		c := &t.Columns[i]
		parts = append(parts, canonical(c))
		if c.Nullable {
			nulls = append(nulls, "ISNULL("+catalog.QuoteIdent(c.Name)+")")
		}
	}
	if len(nulls) > 0 {
		parts = append(parts, "CONCAT("+strings.Join(nulls, ",")+")")
	}
	return "CRC32(CONCAT_WS('#', " + strings.Join(parts, ", ") + "))"
}
