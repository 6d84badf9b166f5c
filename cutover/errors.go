package cutover

import "github.com/switcharoo/switcharoo/internal/exitcode"

// RefusedError means the runbook refused before changing anything: a
// preflight problem, a plan that differs from the reviewed one, another
// run holding the lock. Exit code 2.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

// ExitCode implements exitcode.Coder.
func (e *RefusedError) ExitCode() int { return exitcode.Usage }

// UndoneError means a step failed before the point of no return and
// everything done was undone: the source is writable and the application
// runs on it again. Exit code 3.
type UndoneError struct {
	Step string
	Err  error
}

func (e *UndoneError) Error() string {
	return "step " + e.Step + " failed: " + e.Err.Error() + "; everything done was undone: the source is writable and the application runs on it"
}

func (e *UndoneError) Unwrap() error { return e.Err }

// ExitCode implements exitcode.Coder.
func (e *UndoneError) ExitCode() int { return exitcode.Failed }

// HumanError means the night stopped in a state a person must look at: a
// failure after the point of no return (roll back, or fix and resume), an
// undo that failed, a pause. Exit code 4.
type HumanError struct {
	Reason string
	Err    error
}

func (e *HumanError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *HumanError) Unwrap() error { return e.Err }

// ExitCode implements exitcode.Coder.
func (e *HumanError) ExitCode() int { return exitcode.NeedsHuman }
