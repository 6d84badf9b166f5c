package progress

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// The bar shows the count, the percentage and the time left; a log line
// written meanwhile clears it first and is followed by it again.
func TestBarAndLogLines(t *testing.T) {
	var out bytes.Buffer
	clock := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	b := New(&out)
	b.now = func() time.Time { return clock }
	b.Set("copy", "rows", 0, 400_000)
	clock = clock.Add(10 * time.Second)
	b.Set("copy", "rows", 100_000, 400_000)
	if !strings.HasSuffix(out.String(), "\r\x1b[Kcopy    ▕███████░░░░░░░░░░░░░░░░░░░░░░░▏  25.0%  100,000 / 400,000 rows  ETA 30s") {
		t.Fatalf("bar at a quarter after 10 s: %q", out.String())
	}
	out.Reset()
	if _, err := io.WriteString(b, "12:00:10 INF copying\n"); err != nil {
		t.Fatal(err)
	}
	if want := "\r\x1b[K12:00:10 INF copying\ncopy    ▕"; !strings.HasPrefix(out.String(), want) {
		t.Fatalf("a log line over the bar: %q, want it to start %q", out.String(), want)
	}
	out.Reset()
	clock = clock.Add(50 * time.Millisecond)
	b.Set("copy", "rows", 100_500, 400_000) // within 100 ms of the last draw: not redrawn
	if out.Len() != 0 {
		t.Errorf("redrawn within 100 ms: %q", out.String())
	}
	clock = clock.Add(30 * time.Second)
	b.Set("copy", "rows", 400_000, 400_000)
	b.Finish()
	if !strings.HasSuffix(out.String(), "100.0%  400,000 / 400,000 rows  ETA 0s\n") {
		t.Errorf("finished bar: %q", out.String())
	}
	out.Reset()
	if _, err := io.WriteString(b, "after\n"); err != nil || out.String() != "after\n" {
		t.Errorf("after Finish the log is written as is: %q, %v", out.String(), err)
	}
}

// Complete draws the bar full, whatever the estimate of the total said.
func TestComplete(t *testing.T) {
	var out bytes.Buffer
	b := New(&out)
	b.Set("verify", "rows", 90, 120)
	b.Complete()
	if !strings.HasSuffix(out.String(), "100.0%  120 / 120 rows  ETA 0s\n") {
		t.Errorf("completed bar: %q", out.String())
	}
	var none *Bar // no terminal: nothing drawn, nothing fails
	none.Set("copy", "rows", 1, 2)
	none.Complete()
}
