// Package exitcode defines switcharoo's process exit codes, once, and the way
// an error carries one up to the CLI.
//
// Packages never call os.Exit. A failure that the operator must read as
// something other than a plain runtime failure is returned as (or wraps) an
// error with an ExitCode method; the CLI finds it with errors.As and exits
// with that code. docs/cli.md documents the same table.
package exitcode

import "errors"

// The exit codes. They are a contract with users' scripts: never renumber.
const (
	// OK: the command did what it was asked.
	OK = 0
	// Problem: a check ran and found a problem (differences, failed health).
	Problem = 1
	// Usage: the command line, the config or the servers' state is not
	// acceptable; nothing was started or changed.
	Usage = 2
	// Failed: a runtime failure happened and whatever had been done was undone.
	Failed = 3
	// NeedsHuman: a failure that could not be undone automatically (for
	// example a rollback that could not finish); read the report.
	NeedsHuman = 4
)

// Coder is implemented by errors that know which exit code they mean.
type Coder interface {
	error
	ExitCode() int
}

// Error attaches an exit code to an error.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode implements Coder.
func (e *Error) ExitCode() int { return e.Code }

// With wraps err so that the CLI exits with code. A nil err stays nil.
func With(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Of returns the exit code an error means: OK for nil, the code of the first
// Coder in its chain, and Failed for any other error.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return Failed
}
