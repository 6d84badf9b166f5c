package catalog

import (
	"testing"

	"github.com/switcharoo/switcharoo/internal/config"
)

func TestAppendLiteral(t *testing.T) {
	col := func(dataType, typ, charset string) *Column {
		return &Column{Name: "c", DataType: dataType, Type: typ, Charset: charset}
	}
	for _, tc := range []struct {
		col  *Column
		v    any
		want string
	}{
		{col("int", "int(10) unsigned", ""), int32(-1), "4294967295"},
		{col("mediumint", "mediumint(8) unsigned", ""), int32(-1), "16777215"},
		{col("bigint", "bigint(20) unsigned", ""), int64(-1), "18446744073709551615"},
		{col("tinyint", "tinyint(4)", ""), int8(-128), "-128"},
		{col("float", "float", ""), float32(0.1), "0.10000000149011612"},
		{col("double", "double", ""), -0.0 * -1, "0"},
		{col("decimal", "decimal(5,2)", ""), "-1.50", "-1.50"},
		{col("varchar", "varchar(10)", "latin1"), "é", "_latin1 X'c3a9'"},
		{col("varchar", "varchar(10)", "utf8mb3"), []byte("a"), "_utf8 X'61'"},
		{col("blob", "blob", ""), []byte{0, 1}, "X'0001'"},
		{col("bit", "bit(64)", ""), int64(-1), "18446744073709551615"},
		{col("datetime", "datetime(6)", ""), "0000-00-00 00:00:00.000000", "'0000-00-00 00:00:00.000000'"},
		{col("set", "set('a','b')", "utf8mb4"), int64(3), "3"},
		{col("json", "json", "utf8mb4"), "{}", "_utf8mb4 X'7b7d'"},
		{col("int", "int(11)", ""), nil, "NULL"},
	} {
		got, err := AppendLiteral(nil, tc.col, tc.v)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s %v: got %q, %v; want %q", tc.col.Type, tc.v, got, err, tc.want)
		}
	}
	// utf8mb3 text (named utf8 by MySQL 5.6, utf8mb3 by MariaDB 10.6 and
	// MySQL 8.0.30) in the dialect of MySQL 8.0, which warns at either
	// name: as utf8mb4; other character sets as they are.
	mysql8 := Dialect{Utf8mb3AsUtf8mb4: true}
	for _, tc := range []struct {
		col        *Column
		d          Dialect
		lit, param string
	}{
		{col("varchar", "varchar(10)", "utf8"), Dialect{}, "_utf8 X'61'", "CONVERT(CAST(? AS BINARY) USING utf8)"},
		{col("varchar", "varchar(10)", "utf8"), mysql8, "_utf8mb4 X'61'", "CONVERT(CAST(? AS BINARY) USING utf8mb4)"},
		{col("text", "text", "utf8mb3"), mysql8, "_utf8mb4 X'61'", "CONVERT(CAST(? AS BINARY) USING utf8mb4)"},
		{col("enum", "enum('a')", "utf8"), mysql8, "_utf8mb4 X'61'", ""},
		{col("varchar", "varchar(10)", "latin1"), mysql8, "_latin1 X'61'", "CONVERT(CAST(? AS BINARY) USING latin1)"},
		{col("varchar", "varchar(10)", "utf8mb4"), mysql8, "_utf8mb4 X'61'", "CONVERT(CAST(? AS BINARY) USING utf8mb4)"},
	} {
		got, err := tc.d.AppendLiteral(nil, tc.col, "a")
		if err != nil || string(got) != tc.lit {
			t.Errorf("%s %s in %+v: got %q, %v; want %q", tc.col.Type, tc.col.Charset, tc.d, got, err, tc.lit)
		}
		if p, _ := tc.d.Parameter(tc.col); p != tc.param {
			t.Errorf("%s %s in %+v: parameter %q, want %q", tc.col.Type, tc.col.Charset, tc.d, p, tc.param)
		}
	}
	// Text that is not what the column's type says is refused, never
	// written into the statement.
	for _, tc := range []struct {
		col *Column
		v   any
	}{
		{col("decimal", "decimal(5,2)", ""), "1; DROP TABLE x"},
		{col("datetime", "datetime", ""), "2024-01-01' OR '1"},
		{col("int", "int(11)", ""), struct{}{}},
	} {
		if got, err := AppendLiteral(nil, tc.col, tc.v); err == nil {
			t.Errorf("%s %q: accepted as %q", tc.col.Type, tc.v, got)
		}
	}
}

func TestFilter(t *testing.T) {
	f := NewFilter(config.Replication{
		Databases:        []string{"app", "shop_*"},
		Tables:           []string{"app.*", "shop_*.orders*"},
		ExcludeTables:    []string{"app.tmp_*"},
		AllowNoKey:       []string{"app.log"},
		DatabaseMap:      []config.Rename{{Source: "shop_eu", Target: "shop"}},
		CheckpointSchema: "_switcharoo",
	})
	for _, tc := range []struct {
		t    TableName
		want bool
	}{
		{TableName{"app", "users"}, true},
		{TableName{"app", "tmp_x"}, false},
		{TableName{"shop_eu", "orders_2024"}, true},
		{TableName{"shop_eu", "customers"}, false},
		{TableName{"other", "users"}, false},
		{TableName{"_switcharoo", "heartbeat"}, false},
	} {
		if got := f.Includes(tc.t); got != tc.want {
			t.Errorf("Includes(%s) = %v, want %v", tc.t, got, tc.want)
		}
	}
	if got := f.Target(TableName{"shop_eu", "orders"}); got != (TableName{"shop", "orders"}) {
		t.Errorf("Target = %s", got)
	}
	if !f.AllowsNoKey(TableName{"app", "log"}) || f.AllowsNoKey(TableName{"app", "users"}) {
		t.Errorf("AllowsNoKey")
	}
}

// information_schema.COLUMNS.EXTRA as MySQL 5.6, 5.7, 8.0 (Aurora 3) and
// MariaDB write it: only VIRTUAL/STORED/PERSISTENT columns are generated;
// MySQL 8.0's DEFAULT_GENERATED is an expression default.
func TestGeneratedExtra(t *testing.T) {
	for extra, want := range map[string]bool{
		"":                            false,
		"auto_increment":              false,
		"on update current_timestamp": false,
		"default_generated":           false,
		"default_generated on update current_timestamp": false,
		"default_generated invisible":                   false,
		"virtual generated":                             true,
		"stored generated":                              true,
		"stored generated invisible":                    true,
		"persistent":                                    true,
		"virtual":                                       true,
	} {
		if got := generatedExtra(extra); got != want {
			t.Errorf("EXTRA %q: generated=%v, want %v", extra, got, want)
		}
	}
}
