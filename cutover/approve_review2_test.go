package cutover

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// `resume` after a crash past fence-source asks the approvals left (the
// swap); answered "n", it changes nothing more, but the night it leaves
// is not "nothing changed": the source is fenced and the application
// stopped. The refusal must say so and name the ways out.
func TestResumeApprovalRefusedNamesTheInterruptedNight(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	rb := newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool { return step == "fence-source" && at == afterStep })
	if _, err := rb.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the simulated crash after fence-source", err)
	}
	rb.Close()
	var asked []string
	rb, err := New(ctx, sb.Config, testLogger(t), Options{StartReverse: sb.StartReverse, Approve: func(_ context.Context, q string) (bool, error) {
		asked = append(asked, q)
		return false, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	_, err = rb.Resume(ctx)
	var refused *RefusedError
	if !errors.As(err, &refused) || len(asked) != 1 {
		t.Fatalf("resume answered no: %v (asked %q), want a refusal", err, asked)
	}
	if strings.Contains(err.Error(), "nothing was changed") || !strings.Contains(err.Error(), "switcharoo rollback") || !strings.Contains(err.Error(), "fence-source") {
		t.Fatalf("resume answered no: %q; want it to say the interrupted night stays after fence-source, and name `switcharoo rollback`", err)
	}
	if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	onSource(t, sb)
}
