package dnsswap

import (
	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// RefusedError means the swap was refused before anything changed: a TTL
// that has not expired since it was lowered, a record someone else changed,
// a reverse with nothing recorded to restore. Exit code 2.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

// ExitCode implements exitcode.Coder.
func (e *RefusedError) ExitCode() int { return exitcode.Usage }

// PropagationError means the change was made but not every authoritative
// server answered it within dns.propagation_timeout. Exit code 1.
type PropagationError struct {
	Report *SwapReport
}

func (e *PropagationError) Error() string {
	return "the change was applied, but not every authoritative server answers it yet (dns.propagation_timeout)"
}

// ExitCode implements exitcode.Coder.
func (e *PropagationError) ExitCode() int { return exitcode.Problem }
