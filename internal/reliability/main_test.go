package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tallies of several tests are summed by kind, with the tests named; a
// file without any is refused rather than turned into an empty report.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	log, out := filepath.Join(dir, "tally.jsonl"), filepath.Join(dir, "reliability.md")
	lines := `{"test":"TestA","kind":"network fault: source reset","n":3}
{"test":"TestB/sub","kind":"network fault: source reset","n":4}
{"test":"TestB/sub","kind":"bad inputs tried","n":45}
`
	if err := os.WriteFile(log, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(log, out, "go tool task chaos"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| bad inputs tried | 45 | `TestB` |", "| network fault: source reset | 7 | `TestA`, `TestB` |", "| **data lost**"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the report lacks %q:\n%s", want, b)
		}
	}
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(log, out, "x"); err == nil || !strings.Contains(err.Error(), "holds no tallies") {
		t.Errorf("an empty tally file: %v", err)
	}
}
