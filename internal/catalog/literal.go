package catalog

import (
	"encoding/hex"
	"fmt"
	"strconv"
)

// Values reach the replicator from two decoders: go-sql-driver (the copy reads
// with prepared statements, whose binary protocol carries floats exactly)
// and go-mysql (row events). AppendLiteral writes either as a SQL literal
// that stores exactly the source's bytes and numbers on the target:
//
//   - character data as _charset X'..', so the bytes are taken as they are,
//     in the column's character set, whatever the connection's, and a key
//     comparison still uses the column's collation (and its index);
//   - binary data, BIT and geometry as X'..';
//   - numbers in their shortest exact decimal form (a FLOAT's value is
//     written as the double it widens to, so comparisons match exactly);
//   - ENUM and SET from the binlog as their index and bitmap;
//   - temporal values as the quoted text both decoders produce.
//
// No value is ever interpolated unchecked: text of numeric and temporal
// columns is validated character by character.

// Dialect is how the text of a statement is spelt for one server: the
// spelling its version takes without a warning. The replicator checks a
// statement it sends with strict mode off by the statement's warning
// count (binlog/sqlmode.go), so a warning the text itself raised would
// read as a value changed. The zero value is a spelling every MySQL and
// MariaDB version takes; MySQL 8.0 warns at some of it.
type Dialect struct {
	// Utf8mb3AsUtf8mb4 writes utf8mb3 text as utf8mb4 (_utf8mb4 X'..',
	// CONVERT(... USING utf8mb4)), for MySQL 8.0, which warns at a name
	// of utf8mb3, an introducer's included: 3719 at utf8 (WL#10778), and
	// in later releases 1287 at utf8mb3. The bytes are the same (utf8mb4
	// holds every utf8mb3 character as the same bytes); a literal is
	// coercible, so a comparison with a utf8mb3 column is made in the
	// column's collation, by its index, and a value stored in the column
	// is converted back.
	Utf8mb3AsUtf8mb4 bool
	// RowAlias names an upsert's new row by an alias, INSERT ... VALUES
	// (...) AS new ON DUPLICATE KEY UPDATE c=new.c (MySQL 8.0.19 and
	// later), rather than VALUES(c), which MySQL 8.0.20 and later warn at
	// (1287). MariaDB and MySQL 5.x have no row alias.
	RowAlias bool
}

// AppendLiteral appends v, a value of column c as go-sql-driver or
// go-mysql decoded it, as a SQL literal that every server takes (for a
// message, a key in memory, a query outside the replicator's guarded
// statements).
func AppendLiteral(b []byte, c *Column, v any) ([]byte, error) {
	return Dialect{}.AppendLiteral(b, c, v)
}

// AppendLiteral appends v, a value of column c as go-sql-driver or
// go-mysql decoded it, as a SQL literal in d's spelling.
func (d Dialect) AppendLiteral(b []byte, c *Column, v any) ([]byte, error) {
	k := c.Kind()
	switch v := v.(type) {
	case nil:
		return append(b, "NULL"...), nil
	case int8:
		if c.Unsigned() {
			return strconv.AppendUint(b, uint64(uint8(v)), 10), nil
		}
		return strconv.AppendInt(b, int64(v), 10), nil
	case int16:
		if c.Unsigned() {
			return strconv.AppendUint(b, uint64(uint16(v)), 10), nil
		}
		return strconv.AppendInt(b, int64(v), 10), nil
	case int32:
		if c.Unsigned() {
			if c.DataType == "mediumint" {
				return strconv.AppendUint(b, uint64(uint32(v)&0xFFFFFF), 10), nil
			}
			return strconv.AppendUint(b, uint64(uint32(v)), 10), nil
		}
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		if c.Unsigned() || k == KindBit || k == KindSet {
			return strconv.AppendUint(b, uint64(v), 10), nil
		}
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case float32:
		return strconv.AppendFloat(b, float64(v), 'g', -1, 64), nil
	case float64:
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case string:
		return appendText(d, b, c, k, v)
	case []byte:
		return appendText(d, b, c, k, v)
	}
	return b, fmt.Errorf("column %s (%s): unexpected value of Go type %T", c.Name, c.Type, v)
}

// appendText writes a value that arrived as bytes.
func appendText[T string | []byte](d Dialect, b []byte, c *Column, k Kind, v T) ([]byte, error) {
	switch k {
	case KindText, KindEnum, KindSet:
		b = append(b, '_')
		b = append(b, d.charset(c.Charset)...)
		return appendHex(append(b, ' '), v), nil
	case KindJSON:
		return appendHex(append(b, "_utf8mb4 "...), v), nil
	case KindInt, KindFloat, KindDecimal, KindYear:
		if !isNumber(v) {
			return b, fmt.Errorf("column %s (%s): %q is not a number", c.Name, c.Type, v)
		}
		return append(b, v...), nil
	case KindTemporal:
		if !isTemporal(v) {
			return b, fmt.Errorf("column %s (%s): %q is not a date or time", c.Name, c.Type, v)
		}
		b = append(b, '\'')
		b = append(b, v...)
		return append(b, '\''), nil
	default: // binary, bit, geometry
		return appendHex(b, v), nil
	}
}

// charset is the name under which text of a column in charset is
// written (an introducer, a CONVERT ... USING): utf8mb3 is spelt "utf8",
// which every MySQL and MariaDB version knows as utf8mb3 (MySQL 5.6 and
// MariaDB before 10.6 name it so in information_schema), or written as
// utf8mb4 in a dialect that must not name it.
func (d Dialect) charset(charset string) string {
	switch {
	case charset != "utf8mb3" && charset != "utf8":
		return charset
	case d.Utf8mb3AsUtf8mb4:
		return "utf8mb4"
	}
	return "utf8"
}

func appendHex[T string | []byte](b []byte, v T) []byte {
	b = append(b, "X'"...)
	n := len(b)
	b = append(b, make([]byte, 2*len(v))...)
	hex.Encode(b[n:], []byte(v))
	return append(b, '\'')
}

func isNumber[T string | []byte](v T) bool {
	if len(v) == 0 {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

func isTemporal[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= '0' && c <= '9', c == '-', c == ':', c == '.', c == ' ':
		default:
			return false
		}
	}
	return true
}

// AppendString appends s as a utf8mb4 string literal.
func AppendString(b []byte, s string) []byte {
	return appendHex(append(b, "_utf8mb4 "...), s)
}

// Parameter returns the SQL for a value of column c sent as a parameter of
// a prepared statement in its raw bytes (Param), for values too large to
// double as hex text in a packet; false for kinds always written as
// literals (numbers, temporal values, ENUM and SET). Character data is
// taken as bytes in the column's character set (as d spells it), as a
// literal is, whatever the connection's.
func (d Dialect) Parameter(c *Column) (string, bool) {
	switch c.Kind() {
	case KindText:
		return "CONVERT(CAST(? AS BINARY) USING " + d.charset(c.Charset) + ")", true
	case KindJSON:
		return "CONVERT(CAST(? AS BINARY) USING utf8mb4)", true
	case KindBinary, KindGeometry:
		return "?", true
	}
	return "", false
}

// Param is the argument for a value written as Parameter: its bytes.
func Param(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return []byte(v), true
	case []byte:
		return v, true
	}
	return nil, false
}

// TextSize estimates the length of v as a literal.
func TextSize(v any) int {
	switch v := v.(type) {
	case string:
		return 2*len(v) + 16
	case []byte:
		return 2*len(v) + 16
	}
	return 24
}
