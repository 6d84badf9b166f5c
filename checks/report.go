package checks

import (
	"fmt"
	"io"
	"strings"
)

// Kinds of difference.
const (
	Missing   = "missing"   // on the source, not on the target
	Extra     = "extra"     // on the target, not on the source
	Different = "different" // on both, with other values
)

// Report is the outcome of one verification.
type Report struct {
	Identical bool `json:"identical"`
	// Mode is "fenced" (the source takes no writes: one pass), "live"
	// (replication runs: differing chunks re-checked once it caught up) or
	// "static" (no replication running).
	Mode          string       `json:"mode"`
	Tables        int          `json:"tables"`
	Rows          int64        `json:"rows"`
	Chunks        int          `json:"chunks"`
	Rechecks      int          `json:"rechecks"`
	Differences   []Difference `json:"differences"`
	DurationMS    int64        `json:"duration_ms"`
	RowsPerSecond float64      `json:"rows_per_second"`
}

// Difference is one table, chunk or row that differs. Key names the row by
// its key columns; it is null for a whole table or, with --fast, a chunk.
type Difference struct {
	Table  string         `json:"table"`
	Kind   string         `json:"kind"`
	Key    map[string]any `json:"key"`
	Detail string         `json:"detail,omitempty"`
}

// shownDifferences is how many differences the text summary lists.
const shownDifferences = 50

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := "identical"
	if !r.Identical {
		verdict = fmt.Sprintf("%d differences", len(r.Differences))
	}
	fmt.Fprintf(&b, "verified %d tables, %d rows in %d chunks in %.1fs (%.0f rows/s, %s): %s\n",
		r.Tables, r.Rows, r.Chunks, float64(r.DurationMS)/1000, r.RowsPerSecond, r.Mode, verdict)
	for i, d := range r.Differences {
		if i == shownDifferences {
			fmt.Fprintf(&b, "  ... and %d more (--output json lists them all)\n", len(r.Differences)-i)
			break
		}
		fmt.Fprintf(&b, "  %-9s %s", d.Kind, d.Table)
		if d.Key != nil {
			fmt.Fprintf(&b, " %s", formatKey(d.Key))
		}
		if d.Detail != "" {
			fmt.Fprintf(&b, ": %s", d.Detail)
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func formatKey(k map[string]any) string {
	parts := make([]string, 0, len(k))
	for name, v := range k {
		parts = append(parts, fmt.Sprintf("%s=%v", name, v))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
