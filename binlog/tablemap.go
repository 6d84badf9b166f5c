package binlog

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/switcharoo/switcharoo/internal/catalog"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// checkTableMap compares a TABLE_MAP event with the schema map. Row events
// identify columns by position only, so a schema map that no longer matches
// the source (a DDL that was ignored, or missed) must stop replication
// before a value lands in the wrong column.
func checkTableMap(t *catalog.Table, e *replication.TableMapEvent) error {
	if int(e.ColumnCount) != len(t.Columns) {
		return fmt.Errorf("table %s has %d columns in the binlog but %d in the schema map", t.Name, e.ColumnCount, len(t.Columns))
	}
	unsigned := e.UnsignedMap() // MySQL 8.0's optional metadata; nil when absent
	for i, c := range t.Columns {
		typ := realType(e.ColumnType[i], e.ColumnMeta[i])
		if !binlogTypeFits(c.DataType, typ) {
			return fmt.Errorf("table %s column %d (%s) is %s in the schema map but has binlog type %d", t.Name, i+1, c.Name, c.Type, typ)
		}
		if got, want, ok := binlogSize(c, typ, e.ColumnMeta[i]); ok && got != want {
			return fmt.Errorf("table %s column %d (%s) is %s in the schema map, but the binlog says %s", t.Name, i+1, c.Name, c.Type, got)
		}
		if u, known := unsigned[i]; known && u != c.Unsigned() {
			return fmt.Errorf("table %s column %d (%s) is %s in the schema map, but the binlog says unsigned=%v", t.Name, i+1, c.Name, c.Type, u)
		}
	}
	return nil
}

// binlogSize compares what a column's TABLE_MAP metadata says of its size
// with what the schema map's type says: a VARCHAR's or CHAR's length in
// bytes, a DECIMAL's precision and scale, a BIT's width, a BLOB's or
// TEXT's length bytes, a temporal type's fractional digits. A change of
// any of them that replication did not follow (replication.ddl: ignore)
// would write values the target truncates or reads differently. ok is
// false where nothing can be compared.
func binlogSize(c catalog.Column, typ byte, meta uint16) (got, want string, ok bool) {
	args := typeArgs(c.Type)
	switch typ {
	case gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING, gomysql.MYSQL_TYPE_STRING:
		maxLen, known := maxBytesPerChar[c.Charset]
		if c.Charset == "" {
			maxLen, known = 1, true // binary strings
		}
		if len(args) != 1 || !known {
			return "", "", false
		}
		bytes := int(meta)
		if typ == gomysql.MYSQL_TYPE_STRING {
			bytes = int((((meta >> 4) & 0x300) ^ 0x300) + (meta & 0xff))
		}
		return fmt.Sprintf("%d bytes", bytes), fmt.Sprintf("%d bytes", args[0]*maxLen), true
	case gomysql.MYSQL_TYPE_NEWDECIMAL:
		scale := 0
		if len(args) == 2 {
			scale = args[1]
		}
		if len(args) == 0 {
			return "", "", false
		}
		return fmt.Sprintf("decimal(%d,%d)", meta>>8, meta&0xff), fmt.Sprintf("decimal(%d,%d)", args[0], scale), true
	case gomysql.MYSQL_TYPE_BIT:
		if len(args) != 1 {
			return "", "", false
		}
		return fmt.Sprintf("bit(%d)", int(meta>>8)*8+int(meta&0xff)), fmt.Sprintf("bit(%d)", args[0]), true
	case gomysql.MYSQL_TYPE_BLOB:
		want, known := blobLengthBytes[c.DataType]
		if !known {
			return "", "", false
		}
		return fmt.Sprintf("%d length bytes", meta), fmt.Sprintf("%d length bytes", want), true
	case gomysql.MYSQL_TYPE_DATETIME2, gomysql.MYSQL_TYPE_TIMESTAMP2, gomysql.MYSQL_TYPE_TIME2:
		fsp := 0
		if len(args) == 1 {
			fsp = args[0]
		}
		return fmt.Sprintf("%d fractional digits", meta), fmt.Sprintf("%d fractional digits", fsp), true
	}
	return "", "", false
}

// typeArgs are the numbers in a COLUMN_TYPE's parentheses: varchar(50)
// gives [50], decimal(12,4) [12 4]; none for enum('a') and the like.
func typeArgs(columnType string) []int {
	open, end := strings.IndexByte(columnType, '('), strings.IndexByte(columnType, ')')
	if open < 0 || end < open {
		return nil
	}
	var args []int
	for part := range strings.SplitSeq(columnType[open+1:end], ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return nil
		}
		args = append(args, n)
	}
	return args
}

// maxBytesPerChar of the character sets a 5.6 or 8.0 server offers most.
var maxBytesPerChar = map[string]int{
	"latin1": 1, "latin2": 1, "latin5": 1, "latin7": 1, "ascii": 1, "binary": 1, "cp1250": 1, "cp1251": 1, "cp1256": 1, "cp1257": 1,
	"cp850": 1, "cp852": 1, "cp866": 1, "greek": 1, "hebrew": 1, "koi8r": 1, "koi8u": 1, "tis620": 1, "swe7": 1, "dec8": 1,
	"armscii8": 1, "geostd8": 1, "keybcs2": 1, "macce": 1, "macroman": 1, "hp8": 1,
	"utf8": 3, "utf8mb3": 3, "ujis": 3, "eucjpms": 3, "utf8mb4": 4, "utf16": 4, "utf16le": 4, "utf32": 4, "gb18030": 4,
	"ucs2": 2, "gbk": 2, "gb2312": 2, "big5": 2, "sjis": 2, "cp932": 2, "euckr": 2,
}

// blobLengthBytes is how many bytes hold a BLOB's or TEXT's length.
var blobLengthBytes = map[string]uint16{
	"tinyblob": 1, "tinytext": 1, "blob": 2, "text": 2, "mediumblob": 3, "mediumtext": 3, "longblob": 4, "longtext": 4,
}

// realType undoes the packing of CHAR, ENUM and SET into MYSQL_TYPE_STRING.
func realType(typ byte, meta uint16) byte {
	if typ != gomysql.MYSQL_TYPE_STRING || meta < 256 {
		return typ
	}
	b0 := byte(meta >> 8)
	if b0&0x30 != 0x30 {
		return b0 | 0x30
	}
	return b0
}

func binlogTypeFits(dataType string, typ byte) bool {
	switch dataType {
	case "tinyint":
		return typ == gomysql.MYSQL_TYPE_TINY
	case "smallint":
		return typ == gomysql.MYSQL_TYPE_SHORT
	case "mediumint":
		return typ == gomysql.MYSQL_TYPE_INT24
	case "int", "integer":
		return typ == gomysql.MYSQL_TYPE_LONG
	case "bigint":
		return typ == gomysql.MYSQL_TYPE_LONGLONG
	case "float":
		return typ == gomysql.MYSQL_TYPE_FLOAT
	case "double", "real", "double precision":
		return typ == gomysql.MYSQL_TYPE_DOUBLE
	case "decimal", "numeric":
		return typ == gomysql.MYSQL_TYPE_NEWDECIMAL || typ == gomysql.MYSQL_TYPE_DECIMAL
	case "char", "binary":
		return typ == gomysql.MYSQL_TYPE_STRING
	case "varchar", "varbinary":
		return typ == gomysql.MYSQL_TYPE_VARCHAR || typ == gomysql.MYSQL_TYPE_VAR_STRING
	case "tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob":
		return typ == gomysql.MYSQL_TYPE_BLOB
	case "enum":
		return typ == gomysql.MYSQL_TYPE_ENUM
	case "set":
		return typ == gomysql.MYSQL_TYPE_SET
	case "bit":
		return typ == gomysql.MYSQL_TYPE_BIT
	case "date":
		return typ == gomysql.MYSQL_TYPE_DATE || typ == gomysql.MYSQL_TYPE_NEWDATE
	case "datetime":
		return typ == gomysql.MYSQL_TYPE_DATETIME || typ == gomysql.MYSQL_TYPE_DATETIME2
	case "timestamp":
		return typ == gomysql.MYSQL_TYPE_TIMESTAMP || typ == gomysql.MYSQL_TYPE_TIMESTAMP2
	case "time":
		return typ == gomysql.MYSQL_TYPE_TIME || typ == gomysql.MYSQL_TYPE_TIME2
	case "year":
		return typ == gomysql.MYSQL_TYPE_YEAR
	case "json":
		return typ == gomysql.MYSQL_TYPE_JSON || typ == gomysql.MYSQL_TYPE_BLOB
	}
	// Geometry and types this table does not list: no check.
	return true
}
