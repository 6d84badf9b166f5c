package binlog

import (
	"encoding/binary"
	"testing"
)

// A status variable block as MySQL 5.6 writes it for a DDL, read whole;
// every truncation of it is read without a panic and said incomplete.
func TestParseStatusVars(t *testing.T) {
	var b []byte
	b = append(b, qFlags2, 0, 0, 0, 0)
	b = append(b, qSQLMode)
	b = binary.LittleEndian.AppendUint64(b, 1<<2|1<<21) // ANSI_QUOTES, STRICT_TRANS_TABLES
	b = append(b, qCatalogNZ, 3, 's', 't', 'd')
	b = append(b, qCharset, 8, 0, 8, 0, 33, 0) // latin1, latin1, utf8_general_ci
	b = append(b, qTimeZone, 6, '+', '0', '5', ':', '0', '0')
	b = append(b, qUpdatedDBNames, 1, 'a', 'p', 'p', 0)
	v, ok := parseStatusVars(b)
	if !ok || !v.lexMode().ansiQuotes || v.charsetClient != 8 || v.collationServer != 33 || v.timeZone != "+05:00" {
		t.Fatalf("parsed %+v (ok %v)", v, ok)
	}
	want := "SET SESSION sql_mode='ANSI_QUOTES,STRICT_TRANS_TABLES', character_set_client=8, collation_connection=8, collation_server=33, time_zone='+05:00'"
	if got := v.setStatement(); got != want {
		t.Errorf("setStatement:\n got %s\nwant %s", got, want)
	}
	for n := range len(b) {
		if _, ok := parseStatusVars(b[:n]); ok && n > 0 && b[n-1] != 0 {
			// Only block boundaries may read as complete.
			switch n {
			case 5, 14, 19, 26, 34:
			default:
				t.Errorf("a block cut at %d bytes read as complete", n)
			}
		}
	}
	if v, _ := parseStatusVars([]byte{qTimeZone, 5, '\'', ';', 'x', 'y', 'z'}); v.setStatement() != "" {
		t.Errorf("a time zone that is not a name or offset made it into SQL: %q", v.setStatement())
	}
}
