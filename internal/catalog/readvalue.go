package catalog

import (
	"fmt"
	"strconv"
)

// The copy reads rows with SELECT, the stream gets them from row events,
// and both must write the same stored value. For most types the text a
// SELECT returns is that value; for three it is ambiguous, so the copy
// reads them as the numbers the binlog carries:
//
//   - ENUM: the error value (index 0, stored for an invalid value in a
//     non-strict session) and a member '' both read as ''; the index does
//     not.
//   - SET: a member '' reads as nothing, and ",x" as "x"; the bitmap does
//     not.
//   - YEAR(2) (MySQL 5.6 and MariaDB): 2000 reads as "00", which written
//     back as a number is 0000 on a YEAR(4) target (MySQL 8.0 has no
//     YEAR(2)); it is read as the four-digit year the binlog carries.

// SelectExpr is the expression the copy reads column c with.
func (c *Column) SelectExpr() string {
	q := QuoteIdent(c.Name)
	switch {
	case c.Kind() == KindEnum || c.Kind() == KindSet:
		return q + "+0"
	case c.DataType == "uuid" || c.DataType == "inet6" || c.DataType == "inet4":
		// MariaDB's: their stored bytes, as the binlog has them, not
		// their text.
		return "CAST(" + q + " AS BINARY)"
	}
	return q
}

// FromSelect turns a value read with SelectExpr into the form the binlog
// gives the same stored value.
func (c *Column) FromSelect(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Kind() {
	case KindEnum, KindSet:
		n, err := unsignedValue(v)
		if err != nil {
			return nil, fmt.Errorf("column %s (%s): index %v: %w", c.Name, c.Type, v, err)
		}
		return n, nil
	case KindYear:
		if c.Type != "year(2)" {
			return v, nil
		}
		n, err := unsignedValue(v)
		if err != nil {
			return nil, fmt.Errorf("column %s (%s): %v: %w", c.Name, c.Type, v, err)
		}
		switch {
		case n < 70:
			n += 2000
		case n < 100:
			n += 1900
		}
		return n, nil
	}
	return v, nil
}

// IsErrorValue reports whether v, a value of c as the binlog or FromSelect
// gives it, is an ENUM's error value: index 0, which a non-strict session
// stores for a label the ENUM does not have, and which only a non-strict
// session can write.
func (c *Column) IsErrorValue(v any) bool {
	if c.Kind() != KindEnum {
		return false
	}
	switch n := v.(type) {
	case int64:
		return n == 0
	case uint64:
		return n == 0
	}
	return false
}

// unsignedValue reads a non-negative integer that the driver returned as
// an integer or as its text.
func unsignedValue(v any) (uint64, error) {
	switch n := v.(type) {
	case int64:
		if n >= 0 {
			return uint64(n), nil
		}
	case uint64:
		return n, nil
	case float64:
		if n >= 0 && n == float64(uint64(n)) {
			return uint64(n), nil
		}
	case []byte:
		return strconv.ParseUint(string(n), 10, 64)
	case string:
		return strconv.ParseUint(n, 10, 64)
	}
	return 0, fmt.Errorf("not a non-negative integer (%T)", v)
}
