package binlog

import (
	"fmt"
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
	for i, c := range t.Columns {
		typ := realType(e.ColumnType[i], e.ColumnMeta[i])
		if !binlogTypeFits(c.DataType, typ) {
			return fmt.Errorf("table %s column %d (%s) is %s in the schema map but has binlog type %d", t.Name, i+1, c.Name, c.Type, typ)
		}
	}
	return nil
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
