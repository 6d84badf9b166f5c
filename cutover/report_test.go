package cutover

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The report survives a crash: the runbook dies after the switch (health
// done, not yet finished) and a new process resumes; its report gives the
// write-unavailability window the dead process's probe saw, not "no
// switch". Then the rollback dies right after it swapped DNS back (the
// target already closed to the probe) and another rollback finishes it:
// its report still measures the switch back, from the last write on the
// target to the first on the source.
func TestReportSurvivesCrash(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	crashAt := func(step string, at hookPoint) func(string, hookPoint) bool {
		return func(s string, p hookPoint) bool { return s == step && p == at }
	}
	ids := func(rb *Runbook) (source, target uint32) {
		s, _ := strconv.ParseUint(rb.facts["source_server_id"], 10, 32)
		d, _ := strconv.ParseUint(rb.facts["target_server_id"], 10, 32)
		return uint32(s), uint32(d)
	}

	rb := newRunbook(t, sb, sb.Config, crashAt("health", afterStep))
	if _, err := rb.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the simulated crash", err)
	}
	src, dst := ids(rb)
	seen := rb.probe.unavailability(src, dst)
	rb.Close()
	if seen.WindowMS <= 0 {
		t.Fatalf("the process that died saw no switch: %+v", seen)
	}
	report, err := newRunbook(t, sb, sb.Config, nil).Resume(ctx)
	if err != nil || report.Outcome != "finished" {
		t.Fatalf("resume: %v", err)
	}
	checkReport(t, report, "run", "finished", nightSteps)
	w := report.Writes
	if w == nil || !w.LastOld.Equal(seen.LastOld) || !w.FirstNew.Equal(seen.FirstNew) || w.WindowMS != seen.WindowMS {
		t.Errorf("the resumed night's report: %+v, want the window the dead process saw: %+v", w, seen)
	}
	noSwitch(t, report)

	rb = newRunbook(t, sb, sb.Config, crashAt(undoHook+"dns-swap", afterStep))
	if _, err := rb.Rollback(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("rollback: %v, want the simulated crash", err)
	}
	rb.Close()
	back, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx)
	if err != nil || back.Outcome != "rolled back" {
		t.Fatalf("the second rollback: %v", err)
	}
	checkReport(t, back, "rollback", "rolled back", nil)
	var undone []string
	for _, s := range back.Steps {
		undone = append(undone, s.Step)
	}
	if want := []string{"dns-swap", "deploy", "unfence-target", "stop-replication", "fence-source", "stop-app"}; !slices.Equal(undone, want) {
		t.Errorf("the rollback's report undid %v, want %v", undone, want)
	}
	w = back.Writes
	if w == nil || w.WindowMS <= 0 || !w.LastOld.After(report.Writes.FirstNew) || !w.FirstNew.After(w.LastOld) {
		t.Errorf("the rollback's report after a crash: %+v, want the switch back from the target (first write there %s)", w, report.Writes.FirstNew)
	}
	noSwitch(t, back)
	onSource(t, sb)
	noneLost(t, sb, sb.Source)
}

// noSwitch fails t if the report's Markdown says the probe saw no switch.
func noSwitch(t *testing.T, r *Report) {
	t.Helper()
	b, err := os.ReadFile(r.Markdown)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "saw no switch") {
		t.Errorf("the %s report says:\n%s", r.Kind, b)
	}
}
