package catalog_test

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Every value AppendLiteral writes is stored by a real server exactly as
// given: character data byte for byte in its column's character set
// (quotes, backslashes and NUL included), binary data, doubles bit for
// bit, 64-bit integers at their limits, decimals digit for digit;
// utf8mb3 text both as utf8 and as utf8mb4 (the dialect of MySQL 8.0,
// catalog.Dialect), the characters of the text it can hold. The seeds
// also run in every `go test`.
func FuzzLiteralRoundTrip(f *testing.F) {
	m := sandboxtest.Start(f)
	db := sandboxtest.Open(f, sandboxtest.Endpoint(m))
	sandboxtest.Exec(f, db, "CREATE DATABASE fz",
		"CREATE TABLE fz.v (id INT AUTO_INCREMENT PRIMARY KEY, t VARCHAR(300) CHARACTER SET utf8mb4, l VARCHAR(300) CHARACTER SET latin1, "+
			"b VARBINARY(300), d DOUBLE, i BIGINT, u BIGINT UNSIGNED, n DECIMAL(40,20), "+
			"m VARCHAR(300) CHARACTER SET utf8mb3, m8 VARCHAR(300) CHARACTER SET utf8mb3)")
	cols := []catalog.Column{
		{Name: "t", DataType: "varchar", Type: "varchar(300)", Charset: "utf8mb4"},
		{Name: "l", DataType: "varchar", Type: "varchar(300)", Charset: "latin1"},
		{Name: "b", DataType: "varbinary", Type: "varbinary(300)"},
		{Name: "d", DataType: "double", Type: "double"},
		{Name: "i", DataType: "bigint", Type: "bigint(20)"},
		{Name: "u", DataType: "bigint", Type: "bigint(20) unsigned"},
		{Name: "n", DataType: "decimal", Type: "decimal(40,20)"},
		{Name: "m", DataType: "varchar", Type: "varchar(300)", Charset: "utf8"},
		{Name: "m8", DataType: "varchar", Type: "varchar(300)", Charset: "utf8mb3"},
	}
	dialects := []catalog.Dialect{8: {Utf8mb3AsUtf8mb4: true}} // each column's: m8's is MySQL 8.0's
	f.Add("", []byte{}, 0.0, int64(0), uint64(0))
	f.Add("héllo 𝄞 'quote' \"dq\" \\ back\\", []byte{0, 1, '\'', '\\', '"', 0x1a, 0x80, 0xff}, math.MaxFloat64, int64(math.MinInt64), uint64(math.MaxUint64))
	f.Add("\x00nul\n\r\t", []byte("_utf8mb4 X'00'"), math.SmallestNonzeroFloat64, int64(-1), uint64(1))
	f.Add("-- comment */ /* ; DROP TABLE fz.v;", []byte{0x5c, 0x27}, -0.1, int64(math.MaxInt64), uint64(0))
	f.Add(strings.Repeat("ß", 300), []byte(strings.Repeat("\xe9", 300)), 1e-300, int64(42), uint64(1)<<63)

	id := 0
	f.Fuzz(func(t *testing.T, text string, raw []byte, d float64, i int64, u uint64) {
		if !utf8.ValidString(text) || utf8.RuneCountInString(text) > 300 || len(raw) > 300 || math.IsNaN(d) || math.IsInf(d, 0) {
			t.Skip("not a value the columns hold")
		}
		decimal := fmt.Sprintf("%d.%019d", i, u%10_000_000_000_000_000_000)
		bmp := strings.Map(func(r rune) rune { // what utf8mb3 holds
			if r > 0xFFFF {
				return -1
			}
			return r
		}, text)
		values := []any{text, raw, raw, d, i, u, decimal, bmp, []byte(bmp)}
		q := []byte("INSERT INTO fz.v (t, l, b, d, i, u, n, m, m8) VALUES (")
		for k, v := range values {
			if k > 0 {
				q = append(q, ',')
			}
			var err error
			if q, err = dialects[k].AppendLiteral(q, &cols[k], v); err != nil {
				t.Fatalf("column %s, value %#v: %v", cols[k].Name, v, err)
			}
		}
		q = append(q, ')')
		if _, err := db.Exec(string(q)); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		id++
		got := sandboxtest.Dump(t, db, fmt.Sprintf("SELECT t, l, b, d, i, u, n, m, m8 FROM fz.v WHERE id = %d", id))
		if len(got) != 1 {
			t.Fatalf("row %d: %v", id, got)
		}
		cell := strings.Split(got[0], "|")
		text64 := func(k int) string {
			b, _ := hex.DecodeString(cell[k])
			return string(b)
		}
		want := []string{hex.EncodeToString([]byte(text)), hex.EncodeToString(raw), hex.EncodeToString(raw)}
		for k, w := range want {
			if cell[k] != w {
				t.Errorf("column %s: stored %s, want %s", cols[k].Name, cell[k], w)
			}
		}
		if back, err := strconv.ParseFloat(text64(3), 64); err != nil || back != d {
			t.Errorf("double %v stored as %q", d, text64(3))
		}
		if text64(4) != strconv.FormatInt(i, 10) || text64(5) != strconv.FormatUint(u, 10) {
			t.Errorf("integers %d, %d stored as %q, %q", i, u, text64(4), text64(5))
		}
		if text64(6) != decimal+"0" {
			t.Errorf("decimal %s stored as %q", decimal, text64(6))
		}
		for k := 7; k <= 8; k++ {
			if w := hex.EncodeToString([]byte(bmp)); cell[k] != w {
				t.Errorf("column %s: stored %s, want %s", cols[k].Name, cell[k], w)
			}
		}
	})
}
