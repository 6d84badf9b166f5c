package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// width is the bar's length in cells.
const width = 30

// Bar is a progress line at the bottom of a terminal. A nil *Bar draws
// nothing.
type Bar struct {
	mu      sync.Mutex
	out     io.Writer
	label   string
	unit    string
	done    int64
	total   int64
	started time.Time
	drawn   time.Time
	shown   bool
	now     func() time.Time
}

// New returns a bar drawing on out, a terminal.
func New(out io.Writer) *Bar { return &Bar{out: out, now: time.Now} }

// Terminal tells the logger that what it writes reaches a terminal.
func (b *Bar) Terminal() bool { return true }

// Set updates the bar: label (copy, verify), done of total units. A new
// label starts a new bar.
func (b *Bar) Set(label, unit string, done, total int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if label != b.label || b.started.IsZero() || done < b.done {
		b.label, b.unit, b.started = label, unit, now
	}
	b.done, b.total = done, total
	if now.Sub(b.drawn) < 100*time.Millisecond && done < total {
		return
	}
	b.clear()
	b.draw(now)
}

// Complete draws the bar full — the work is done, whatever the last count
// or the estimate of the total said — and leaves it above what follows.
func (b *Bar) Complete() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.done = max(b.done, b.total)
	b.total = b.done
	b.mu.Unlock()
	b.Finish()
}

// Finish draws the bar a last time and leaves it above what follows.
func (b *Bar) Finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.shown {
		return
	}
	b.clear()
	b.draw(b.now())
	fmt.Fprint(b.out, "\n")
	b.shown, b.label = false, ""
}

// Write writes log output above the bar.
func (b *Bar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	shown := b.shown
	b.clear()
	n, err := b.out.Write(p)
	if shown {
		b.draw(b.now())
	}
	return n, err
}

func (b *Bar) clear() {
	if b.shown {
		fmt.Fprint(b.out, "\r\x1b[K")
		b.shown = false
	}
}

func (b *Bar) draw(now time.Time) {
	if b.label == "" {
		return
	}
	frac := 0.0
	if b.total > 0 {
		frac = min(float64(b.done)/float64(b.total), 1)
	}
	filled := int(frac * width)
	eta := "—"
	if elapsed := now.Sub(b.started); frac > 0 && frac < 1 {
		eta = (time.Duration(float64(elapsed) * (1 - frac) / frac)).Round(time.Second).String()
	} else if frac >= 1 {
		eta = "0s"
	}
	fmt.Fprintf(b.out, "%-7s ▕%s%s▏ %5.1f%%  %s / %s %s  ETA %s", b.label, strings.Repeat("█", filled), strings.Repeat("░", width-filled),
		frac*100, thousands(b.done), thousands(b.total), b.unit, eta)
	b.shown, b.drawn = true, now
}

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
