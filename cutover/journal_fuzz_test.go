package cutover

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Whatever a crash, a full disk or a person left in the journal, reading
// it never panics, and an event appended afterwards is read back whole as
// the last one: a torn or garbled line never swallows the next event.
// The seeds (a real journal, torn at several places, and garbage) also
// run in every `go test`.
func FuzzJournal(f *testing.F) {
	dir := f.TempDir()
	j, err := openJournal(dir)
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range []Event{
		{Run: "r1", Kind: evStart},
		{Run: "r1", Step: "fence-source", Kind: "intent"},
		{Run: "r1", Step: "fence-source", Kind: "done", Data: map[string]string{"fence_position": "binlog.000001:4"}},
		{Run: "r1", Step: "catch-up", Kind: "failed", Error: "did not reach \"the\" position\n"},
	} {
		if err := j.append(e); err != nil {
			f.Fatal(err)
		}
	}
	j.close()
	real, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		f.Fatal(err)
	}
	for _, cut := range []int{len(real), len(real) - 1, len(real) / 2, 7, 1, 0} {
		f.Add(real[:cut])
	}
	f.Add([]byte("{\"run\":\"r\",\"event\":\"start\"}\n{\"run\":"))
	f.Add([]byte("\n\n\x00\x00\x00"))
	f.Add([]byte("not json at all"))
	f.Add([]byte("{\"at\":\"yesterday\"}\n"))
	f.Add([]byte("[1,2,3]\n{}\n"))

	next := Event{Run: "r2", Kind: evStart, Data: map[string]string{"k": "v"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, journalFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		events, err := readJournal(dir)
		if err != nil {
			return // a line longer than the reader takes: reported, not a panic
		}
		_ = lastRun(events)
		if _, err := LastRun(dir); err != nil {
			t.Fatalf("LastRun: %v", err)
		}
		j, err := openJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.append(next); err != nil {
			t.Fatal(err)
		}
		j.close()
		events, err = readJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		last := Event{}
		if len(events) > 0 {
			last = events[len(events)-1]
			last.At = next.At // append stamps its own time
		}
		if !reflect.DeepEqual(last, next) {
			t.Fatalf("the event appended after %q was not read back last: %+v", data, events)
		}
		if run := lastRun(events); len(run) != 1 {
			t.Fatalf("the last run should be the appended start alone, got %+v", run)
		}
	})
}
