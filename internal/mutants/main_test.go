package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const sample = `package p

func f(a, b int, ok bool) (int, error) {
	x := 0
	if a == b && ok {
		x++
	}
	if ok {
		g()
	}
	x = a
	g()
	return x, nil
}

func g() {}
`

// Every operator produces its mutants, each one still parses, and every
// id is distinct (ids key the cache and the explanations).
func TestMutants(t *testing.T) {
	ms, err := Mutants("p.go", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
		if _, err := parser.ParseFile(token.NewFileSet(), "p.go", m.Apply([]byte(sample)), 0); err != nil {
			t.Errorf("%s does not parse: %v", m.ID, err)
		}
	}
	want := []string{
		"f: return early with *new(int), nil",
		"f: flip == → != in a == b",
		"f: flip && → || in a == b && ok",
		"f: not negate ok",
		"f: delete x++",
		"f: delete g()",
		"f: delete g() #2",
		"f: delete x = a",
		"f: swap x = a ⇄ g()",
		"f: swap if ok { g() } ⇄ x = a",
	}
	for _, w := range want {
		if !slices.Contains(ids, w) {
			t.Errorf("no mutant %q among %q", w, ids)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
		t.Errorf("ids repeat: %q", ids)
	}
	m := ms[slices.Index(ids, "f: flip == → != in a == b")]
	if got := string(m.Apply([]byte(sample))); !strings.Contains(got, "if a != b && ok {") {
		t.Errorf("flip applied:\n%s", got)
	}
}

// A filled-in explanation survives a regeneration, pipes included; a
// placeholder stays a placeholder.
func TestExplanationsKept(t *testing.T) {
	files := []fileState{{file: "a/b.go", mutants: 3, results: []Result{
		{File: "a/b.go", ID: "f: flip || → && in x || y", Line: 7, Status: survived},
		{File: "a/b.go", ID: "f: delete g()", Line: 9, Status: survived},
		{File: "a/b.go", ID: "f: delete h()", Line: 10, Status: caught},
	}}}
	why := "harmless: x | y are equal here"
	doc := render(files, map[string]string{"a/b.go\x00f: flip || → && in x || y": why}, "cmd")
	path := filepath.Join(t.TempDir(), "m.md")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readExplanations(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["a/b.go\x00f: flip || → && in x || y"] != why {
		t.Errorf("explanations read back: %q\nfrom:\n%s", got, doc)
	}
	if !strings.Contains(doc, "| a/b.go | 3 | 3 | 1 | 0 | 2 | 0 | 0 | 33 % |") {
		t.Errorf("score row missing:\n%s", doc)
	}
}
