package binlog

import "github.com/switcharoo/switcharoo/internal/catalog"

// kind is how a column's values are written as SQL literals.
type kind uint8

const (
	kindInt kind = iota
	kindFloat
	kindDecimal
	kindText // character data in Charset: CHAR, VARCHAR, TEXT, ENUM and SET labels
	kindEnum // ENUM: text labels from a SELECT, 1-based indexes from the binlog
	kindSet  // SET: text labels from a SELECT, bitmaps from the binlog
	kindBinary
	kindBit
	kindTemporal // DATE, DATETIME, TIMESTAMP, TIME: ASCII text
	kindYear
	kindJSON
	kindGeometry
)

// kindOf classifies a column by how its values are written.
func kindOf(c *catalog.Column) kind {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return kindInt
	case "float", "double", "real", "double precision":
		return kindFloat
	case "decimal", "numeric":
		return kindDecimal
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		if c.Charset == "" || c.Charset == "binary" {
			return kindBinary
		}
		return kindText
	case "enum":
		return kindEnum
	case "set":
		return kindSet
	case "bit":
		return kindBit
	case "date", "datetime", "timestamp", "time":
		return kindTemporal
	case "year":
		return kindYear
	case "json":
		return kindJSON
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection":
		return kindGeometry
	default: // binary, varbinary, *blob, and anything unknown: bytes, exactly
		return kindBinary
	}
}
