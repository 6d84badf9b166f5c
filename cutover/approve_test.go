package cutover

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// Every approval is asked before the first step that changes anything:
// whichever question is answered "n" (or cannot be asked: no terminal),
// run and rehearse refuse (exit 2) and the world, the journal included,
// is as it was.
func TestApprovalsComeFirst(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	before := snapshot(t, sb)
	for _, tc := range []struct {
		name    string
		answers []bool // answers in the order asked; then an error (no terminal)
		night   func(*Runbook) error
	}{
		{"run: no to the fence", []bool{false}, func(rb *Runbook) error { _, err := rb.Run(ctx); return err }},
		{"run: yes to the fence, no to the swap", []bool{true, false}, func(rb *Runbook) error { _, err := rb.Run(ctx); return err }},
		{"run: no terminal", nil, func(rb *Runbook) error { _, err := rb.Run(ctx); return err }},
		{"rehearse: yes to the fence, no to the swap", []bool{true, false}, func(rb *Runbook) error { _, _, err := rb.Rehearse(ctx); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			approve := func(_ context.Context, question string) (bool, error) {
				asked = append(asked, question)
				if now := snapshot(t, sb); now != before {
					t.Errorf("%q asked after the night changed the world:\nbefore %+v\nnow    %+v", question, before, now)
				}
				if len(asked) > len(tc.answers) {
					return false, errors.New("stdin is not a terminal")
				}
				return tc.answers[len(asked)-1], nil
			}
			rb, err := New(ctx, sb.Config, testLogger(t), Options{Approve: approve, StartReverse: sb.StartReverse})
			if err != nil {
				t.Fatal(err)
			}
			defer rb.Close()
			err = tc.night(rb)
			var refused *RefusedError
			if !errors.As(err, &refused) || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("got %v (exit %d), want a refusal (exit 2) saying nothing was changed", err, exitcode.Of(err))
			}
			if len(asked) != max(1, len(tc.answers)) {
				t.Errorf("asked %q, want the questions up to the first not approved", asked)
			}
			if now := snapshot(t, sb); now != before {
				t.Errorf("the night changed the world:\nbefore %+v\nafter  %+v", before, now)
			}
			if last, err := LastRun(sb.Config.StateDir); err != nil || last.State != "none" {
				t.Errorf("the journal has a run: %+v, %v", last, err)
			}
		})
	}
}
