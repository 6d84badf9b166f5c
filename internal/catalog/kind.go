package catalog

// Kind is how a column's values are encoded: as SQL literals by the
// replicator, canonically by the verifier.
type Kind uint8

const (
	KindInt Kind = iota
	KindFloat
	KindDecimal
	KindText // character data in Charset: CHAR, VARCHAR, TEXT, ENUM and SET labels
	KindEnum // ENUM: text labels from a SELECT, 1-based indexes from the binlog
	KindSet  // SET: text labels from a SELECT, bitmaps from the binlog
	KindBinary
	KindBit
	KindTemporal // DATE, DATETIME, TIMESTAMP, TIME: ASCII text
	KindYear
	KindJSON
	KindGeometry
)

// Kind classifies the column by how its values are encoded.
func (c Column) Kind() Kind {
	switch c.DataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		return KindInt
	case "float", "double", "real", "double precision":
		return KindFloat
	case "decimal", "numeric":
		return KindDecimal
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		if c.Charset == "" || c.Charset == "binary" {
			return KindBinary
		}
		return KindText
	case "enum":
		return KindEnum
	case "set":
		return KindSet
	case "bit":
		return KindBit
	case "date", "datetime", "timestamp", "time":
		return KindTemporal
	case "year":
		return KindYear
	case "json":
		return KindJSON
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection":
		return KindGeometry
	default: // binary, varbinary, *blob, and anything unknown: bytes, exactly
		return KindBinary
	}
}
