package cutover

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switcharoo/switcharoo/internal/traffic"
)

// Entry is one step (or its undo) in the timeline.
type Entry struct {
	Step   string    `json:"step"`
	Undo   bool      `json:"undo,omitempty"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Result string    `json:"result"`
	Error  string    `json:"error,omitempty"`
}

// Report is the timeline of a run, rehearsal or rollback.
type Report struct {
	Run     string          `json:"run"`
	Kind    string          `json:"kind"` // run, rollback, rehearse
	Outcome string          `json:"outcome"`
	Steps   []ReportStep    `json:"steps"`
	Writes  *Unavailability `json:"write_unavailability,omitempty"`
	// Users is what checks.http_probe's users saw, from the first step's
	// start to the last step's end.
	Users *traffic.Summary `json:"users,omitempty"`
	// Markdown and JSON are the report's files.
	Markdown string `json:"markdown_file"`
	JSON     string `json:"json_file"`
}

// ReportStep is an Entry with its duration.
type ReportStep struct {
	Entry
	DurationMS int64 `json:"duration_ms"`
}

func (rb *Runbook) record(e Entry) {
	rb.mu.Lock()
	rb.timeline = append(rb.timeline, e)
	rb.mu.Unlock()
	var err error
	if e.Error != "" {
		err = errors.New(e.Error)
	}
	rb.opts.Board.StepEnded(e.Step, e.Undo, err)
}

// journaledTimeline is the timeline of the steps (undos only, or all)
// that earlier processes of a run journaled as started and ended: the
// report of a resumed or rolled-back night begins with them. A step
// whose process died inside it has no end, and appears when it runs
// again.
func journaledTimeline(events []Event, undosOnly bool) []Entry {
	var out []Entry
	started := map[string]time.Time{}
	for _, e := range events {
		undo := e.Kind == evUndoIntent || e.Kind == evUndone || e.Kind == evUndoFailed
		key := e.Step
		if undo {
			key = undoHook + e.Step
		}
		switch e.Kind {
		case evIntent, evUndoIntent:
			started[key] = e.At
		case evDone, evFailed, evUndone, evUndoFailed:
			start, ok := started[key]
			if !ok || undosOnly && !undo {
				continue
			}
			delete(started, key)
			result := "done"
			if e.Kind == evFailed || e.Kind == evUndoFailed {
				result = "failed"
			}
			out = append(out, Entry{Step: e.Step, Undo: undo, Start: start, End: e.At, Result: result, Error: e.Error})
		}
	}
	return out
}

// report builds the timeline report and writes it, as Markdown and JSON,
// into state_dir/reports.
func (rb *Runbook) report(kind, outcome string) *Report {
	if rb.stopProbes != nil {
		rb.stopProbes()
	}
	rb.opts.Board.Ended(outcome)
	rb.mu.Lock()
	r := &Report{Run: rb.run, Kind: kind, Outcome: outcome}
	for _, e := range rb.timeline {
		r.Steps = append(r.Steps, ReportStep{Entry: e, DurationMS: e.End.Sub(e.Start).Milliseconds()})
	}
	rb.mu.Unlock()
	from, to := rb.facts["source_server_id"], rb.facts["target_server_id"]
	swap := swapFacts
	if kind == "rollback" {
		from, to, swap = to, from, swapBackFacts
	}
	if rb.probe != nil && from != "" {
		f, _ := strconv.ParseUint(from, 10, 32)
		t, _ := strconv.ParseUint(to, 10, 32)
		r.Writes = rb.probe.unavailability(uint32(f), uint32(t))
		ttl, _ := strconv.ParseInt(rb.facts[swap+"cache_ttl"], 10, 64)
		r.Writes.DNSCacheMS, r.Writes.DNSTTLRead = ttl*1000, rb.facts[swap+"ttl_read"]
	}
	if rb.users != nil && len(r.Steps) > 0 {
		u := rb.users.Summary(r.Steps[0].Start, r.Steps[len(r.Steps)-1].End)
		r.Users = &u
	}
	dir := filepath.Join(rb.cfg.StateDir, "reports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		rb.log.Warn().Err(err).Msg("report not written")
		return r
	}
	base := filepath.Join(dir, rb.run+"-"+kind)
	r.Markdown, r.JSON = base+".md", base+".json"
	if b, err := json.MarshalIndent(r, "", "  "); err == nil {
		_ = os.WriteFile(r.JSON, append(b, '\n'), 0o600)
	}
	_ = os.WriteFile(r.Markdown, []byte(r.markdown()), 0o600)
	return r
}

func (r *Report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# switcharoo %s %s: %s\n\n", r.Kind, r.Run, r.Outcome)
	fmt.Fprintf(&b, "| step | start | end | duration | result |\n|---|---|---|---|---|\n")
	for _, s := range r.Steps {
		name := s.Step
		if s.Undo {
			name = "undo " + name
		}
		result := s.Result
		if s.Error != "" {
			result += ": " + strings.ReplaceAll(s.Error, "|", "\\|")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, s.Start.UTC().Format("15:04:05.000"), s.End.UTC().Format("15:04:05.000"),
			time.Duration(s.DurationMS)*time.Millisecond, result)
	}
	if w := r.Writes; w != nil {
		b.WriteString("\n## Write unavailability\n\n")
		if w.WindowMS > 0 {
			fmt.Fprintf(&b, "Writes through the application's name were unavailable for **%s**: the last write on the old primary at %s, the first on the new one at %s (a client resolving the name afresh).\n\n",
				time.Duration(w.WindowMS)*time.Millisecond, w.LastOld.UTC().Format("15:04:05.000"), w.FirstNew.UTC().Format("15:04:05.000"))
		} else {
			b.WriteString("The probe saw no switch from the old primary to the new one.\n\n")
		}
		if w.DNSTTLRead != "" {
			fmt.Fprintf(&b, "A client that caches DNS may have kept the old address up to %s longer (the longest TTL read just before the swap: %s), shown apart from the window above.\n\n",
				time.Duration(w.DNSCacheMS)*time.Millisecond, w.DNSTTLRead)
		}
		fmt.Fprintf(&b, "Probe writes: %d taken, %d failed.\n", w.Writes, w.Failures)
	}
	if u := r.Users; u != nil {
		b.WriteString("\n## What users saw\n\n")
		fmt.Fprintf(&b, "checks.http_probe's users, from the first step to the last: %s.\n", u.Text())
	}
	return b.String()
}

// WriteText writes a summary of the report for the terminal.
func (r *Report) WriteText(w *strings.Builder) {
	fmt.Fprintf(w, "%s %s: %s\n", r.Kind, r.Run, r.Outcome)
	for _, s := range r.Steps {
		name := s.Step
		if s.Undo {
			name = "undo " + name
		}
		fmt.Fprintf(w, "  %-20s %8s  %s\n", name, time.Duration(s.DurationMS)*time.Millisecond, s.Result)
	}
	if wu := r.Writes; wu != nil && wu.WindowMS > 0 {
		fmt.Fprintf(w, "write unavailability: %s", time.Duration(wu.WindowMS)*time.Millisecond)
		if wu.DNSTTLRead != "" {
			fmt.Fprintf(w, " (clients caching DNS: up to %s more, the TTL read: %s)", time.Duration(wu.DNSCacheMS)*time.Millisecond, wu.DNSTTLRead)
		}
		fmt.Fprintln(w)
	}
	if r.Users != nil {
		fmt.Fprintf(w, "users: %s\n", r.Users.Text())
	}
	if r.Markdown != "" {
		fmt.Fprintf(w, "report: %s\n", r.Markdown)
	}
}
