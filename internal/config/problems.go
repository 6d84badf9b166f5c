package config

import (
	"fmt"
	"strings"

	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	Key string // key path, e.g. "source.port" or "dns.records[1].type"
	Env string // the SWITCHAROO_* variable the value came from, if any
	Msg string // what is expected, and what was found
}

func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	if p.Env != "" {
		return fmt.Sprintf("%s (from %s): %s", p.Key, p.Env, p.Msg)
	}
	return p.Key + ": " + p.Msg
}

// Error is every problem found in one configuration. It means exit code 2.
type Error struct {
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return fmt.Sprintf("config %s: %s", e.File, e.Problems[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config %s has %d problems:", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.String())
	}
	return b.String()
}

// ExitCode implements exitcode.Coder: a bad config is a usage error.
func (e *Error) ExitCode() int { return exitcode.Usage }

// report collects problems, one per key: the first found (a value that
// could not be decoded) hides later ones (that it is then missing).
type report struct {
	fromEnv  func(key string) string
	problems []Problem
}

func (r *report) add(key, format string, args ...any) {
	for _, p := range r.problems {
		if p.Key == key {
			return
		}
	}
	r.problems = append(r.problems, Problem{Key: key, Env: r.fromEnv(key), Msg: fmt.Sprintf(format, args...)})
}
