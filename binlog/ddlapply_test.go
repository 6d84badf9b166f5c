package binlog

import "testing"

// Only a statement that gives one of its renames' old names to another
// counts as a swap (which could leave the definitions as they were).
func TestDDLSwaps(t *testing.T) {
	for q, want := range map[string]bool{
		"RENAME TABLE a TO tmp, b TO a, tmp TO b":                  true,
		"RENAME TABLE a TO b":                                      false,
		"ALTER TABLE t CHANGE a b INT, CHANGE b a INT":             true,
		"ALTER TABLE t CHANGE COLUMN a b INT, CHANGE b a INT":      true,
		"ALTER TABLE t CHANGE c c BIGINT":                          false,
		"ALTER TABLE t CHANGE b bb VARCHAR(10)":                    false,
		"ALTER TABLE t RENAME COLUMN a TO b, RENAME COLUMN b TO a": true,
		"ALTER TABLE t RENAME TO u":                                false,
		"ALTER TABLE t ADD COLUMN c INT":                           false,
	} {
		st, ok := parseDDL("app", q)
		if !ok {
			t.Fatalf("%s: not parsed", q)
		}
		if got := st.swaps(); got != want {
			t.Errorf("%s: swaps %v, want %v", q, got, want)
		}
	}
}
