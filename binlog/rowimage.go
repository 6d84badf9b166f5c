package binlog

import (
	"fmt"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/switcharoo/switcharoo/internal/catalog"
)

// A row image, as go-mysql decodes it, differs from the value the source
// stored in two cases, which rowFixes mends before the applier looks at a
// row (for keys, net changes, full-row matching and the copy window alike):
//
//   - BINARY(n): MySQL 5.6 and MariaDB write the value with its trailing
//     0x00 bytes stripped; a native replica pads it back to n bytes when it
//     unpacks the row, and so does this.
//   - TIME in the format of tables created before MySQL 5.6.4
//     (MYSQL_TYPE_TIME, three bytes, signed): go-mysql reads the bytes as
//     unsigned, so -01:00:00 arrives as 1677:47:16-like nonsense; it is
//     read back as the signed value it is.
//
// Every other type is decoded exactly (types_test.go holds the proof).
type rowFixes []columnFix

type columnFix struct {
	col int
	fix func(v any) (any, error)
}

// fixesFor lists the fixes the table's row images need, given the column
// types and metadata of its TABLE_MAP event; nil when none.
func fixesFor(t *catalog.Table, e *replication.TableMapEvent) (rowFixes, error) {
	var fixes rowFixes
	for i, c := range t.Columns {
		switch typ, meta := e.ColumnType[i], e.ColumnMeta[i]; {
		case typ == gomysql.MYSQL_TYPE_STRING && realType(typ, meta) == gomysql.MYSQL_TYPE_STRING && c.Kind() == catalog.KindBinary:
			n := stringLength(meta)
			fixes = append(fixes, columnFix{col: i, fix: func(v any) (any, error) { return padBinary(v, n), nil }})
		case typ == gomysql.MYSQL_TYPE_TIME:
			if strings.Contains(c.Type, "(") {
				// MariaDB 5.3's own fractional TIME, which go-mysql cannot
				// decode: refused rather than guessed.
				return nil, fmt.Errorf("table %s column %s is %s in MariaDB 5.3's temporal format, which replicate cannot read; "+
					"convert it on the source (SET GLOBAL mysql56_temporal_format=ON, then ALTER TABLE ... FORCE)", t.Name, c.Name, c.Type)
			}
			fixes = append(fixes, columnFix{col: i, fix: signedTime})
		case (typ == gomysql.MYSQL_TYPE_DATETIME || typ == gomysql.MYSQL_TYPE_TIMESTAMP) && strings.Contains(c.Type, "("):
			return nil, fmt.Errorf("table %s column %s is %s in MariaDB 5.3's temporal format, which replicate cannot read; "+
				"convert it on the source (SET GLOBAL mysql56_temporal_format=ON, then ALTER TABLE ... FORCE)", t.Name, c.Name, c.Type)
		}
	}
	return fixes, nil
}

// apply mends one row image in place.
func (f rowFixes) apply(row []any) error {
	for _, c := range f {
		if c.col >= len(row) || row[c.col] == nil {
			continue
		}
		v, err := c.fix(row[c.col])
		if err != nil {
			return err
		}
		row[c.col] = v
	}
	return nil
}

// stringLength is the maximum length in bytes of a MYSQL_TYPE_STRING
// column, from its TABLE_MAP metadata (as the server's own unpacking reads
// it: lengths over 255 borrow two bits of the type byte).
func stringLength(meta uint16) int {
	if meta < 256 {
		return int(meta)
	}
	b0, b1 := byte(meta>>8), byte(meta)
	if b0&0x30 != 0x30 {
		return int(uint16(b1) | uint16((b0&0x30)^0x30)<<4)
	}
	return int(b1)
}

// padBinary pads a BINARY value with 0x00 to n bytes.
func padBinary(v any, n int) any {
	switch s := v.(type) {
	case string:
		if len(s) < n {
			return s + strings.Repeat("\x00", n-len(s))
		}
	case []byte:
		if len(s) < n {
			return append(append(make([]byte, 0, n), s...), make([]byte, n-len(s))...)
		}
	}
	return v
}

// signedTime reads go-mysql's rendering of an old-format TIME ("%02d:%02d:
// %02d" of the three bytes taken as unsigned) back into the signed value
// the bytes hold: hhh*10000 + mm*100 + ss, negative when the top bit of the
// 24 is set.
func signedTime(v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return v, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("TIME value %q: not hh:mm:ss", s)
	}
	var n [3]int64
	for i, p := range parts {
		x, err := strconv.ParseInt(p, 10, 64)
		if err != nil || x < 0 {
			return nil, fmt.Errorf("TIME value %q: not hh:mm:ss", s)
		}
		n[i] = x
	}
	packed := n[0]*10000 + n[1]*100 + n[2]
	if packed < 1<<23 {
		return s, nil
	}
	packed = 1<<24 - packed // the magnitude of the negative value
	return fmt.Sprintf("-%02d:%02d:%02d", packed/10000, packed%10000/100, packed%100), nil
}
