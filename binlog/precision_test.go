package binlog

import (
	"testing"

	"github.com/switcharoo/switcharoo/internal/catalog"
)

func TestRounds(t *testing.T) {
	col := func(dataType, typ string) catalog.Column { return catalog.Column{DataType: dataType, Type: typ} }
	cases := []struct {
		src, dst catalog.Column
		want     bool
	}{
		{col("decimal", "decimal(10,4)"), col("decimal", "decimal(10,2)"), true},
		{col("decimal", "decimal(10,4)"), col("decimal", "decimal(12,4)"), false},
		{col("decimal", "decimal(10,4)"), col("decimal", "decimal(8,4)"), true}, // fewer integer digits: an error, but said before the first row
		{col("datetime", "datetime(6)"), col("datetime", "datetime(3)"), true},
		{col("time", "time(2)"), col("time", "time"), true},
		{col("timestamp", "timestamp"), col("timestamp", "timestamp(6)"), false},
		{col("double", "double"), col("float", "float"), true},
		{col("float", "float"), col("double", "double"), false},
		{col("int", "int(11)"), col("float", "float"), true},
		{col("smallint", "smallint(6)"), col("float", "float"), false},
		{col("bigint", "bigint(20)"), col("double", "double"), true},
		{col("int", "int(11)"), col("double", "double"), false},
		{col("decimal", "decimal(30,10)"), col("double", "double"), true},
		{col("double", "double"), col("decimal", "decimal(30,10)"), true},
		{col("int", "int(11)"), col("decimal", "decimal(20,0)"), false},
		{col("double", "double"), col("double", "double(10,2)"), true},
		{col("float", "float(7,4)"), col("float", "float(7,2)"), true},
		{col("float", "float(7,2)"), col("float", "float"), false},
		{col("datetime", "datetime"), col("date", "date"), true},
		{col("date", "date"), col("datetime", "datetime"), true}, // not the same text
		{col("binary", "binary(4)"), col("binary", "binary(6)"), true},
		{col("binary", "binary(4)"), col("varbinary", "varbinary(4)"), false},
		{col("char", "char(4)"), col("varchar", "varchar(4)"), false},
		{col("varchar", "varchar(4)"), col("char", "char(4)"), true},
		{col("enum", "enum('a','b')"), col("enum", "enum('a','b','c')"), false},
		{col("enum", "enum('a','b')"), col("enum", "enum('b','a')"), true},
		{col("set", "set('x','y')"), col("set", "set('w','x','y')"), true},
		{col("mediumint", "mediumint(9)"), col("float", "float"), false},
		{col("decimal", "decimal(10,2)"), col("int", "int(11)"), true},
		{col("timestamp", "timestamp(6)"), col("datetime", "datetime"), true},
		{col("varchar", "varchar(10)"), col("varchar", "varchar(3)"), false}, // strict mode's error
		{col("int", "int(11)"), col("bigint", "bigint(20)"), false},
	}
	for _, c := range cases {
		if got := rounds(c.src, c.dst); got != c.want {
			t.Errorf("rounds(%s → %s) = %v, want %v", c.src.Type, c.dst.Type, got, c.want)
		}
	}
}
