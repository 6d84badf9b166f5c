package cutover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A server that stops answering switcharoo — a VPN that fails with its
// sockets left open, a firewall that drops — must not hold the night
// forever: the driver's reads wait as long as their context lets them,
// and most steps (verify, stop-replication, unfence-target) have no
// deadline of their own, since their work can legitimately take long on
// a large database. So while the runbook waits on servers it pings them
// on the side, and a server that has answered no ping for three times its
// connect_timeout ends the wait with an *unreachableError. The step (or
// undo) then fails like any other: before the point of no return the
// night is undone, and an undo that needs the server stops there, for a
// person; at a step boundary the one-writable check stops the night.

// answerFactor is how many connect_timeouts a server may answer nothing
// before the runbook takes it as unreachable.
const answerFactor = 3

// defaultAnswerWithin is a server's bound when its runbook did not set
// one (servers made by tests).
const defaultAnswerWithin = 30 * time.Second

// unreachableError says which server did not answer, for how long.
type unreachableError struct {
	server, addr string
	after        time.Duration
	err          error // the last ping's
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("the %s (%s) has answered nothing for %s (last ping: %v): switcharoo cannot reach it, though its clients may", e.server, e.addr, e.after, e.err)
}

// answerWithin is how long s may answer nothing.
func (s *server) answerWithin() time.Duration {
	if s.answer > 0 {
		return s.answer
	}
	return defaultAnswerWithin
}

// watch returns a context that ends, with an *unreachableError as its
// cause, once one of servers has answered no ping for its answerWithin;
// stop ends the watch.
func watch(ctx context.Context, servers ...*server) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var watching []*server
	for _, s := range servers {
		if s != nil && !slices.Contains(watching, s) {
			watching = append(watching, s)
		}
	}
	for _, s := range watching {
		go func() {
			defer func() { done <- struct{}{} }()
			within := s.answerWithin()
			answered := time.Now()
			for {
				pctx, pcancel := context.WithTimeout(ctx, within)
				err := s.db.PingContext(pctx)
				pcancel()
				switch {
				case ctx.Err() != nil:
					return
				case err == nil:
					answered = time.Now()
				case time.Since(answered) >= within:
					cancel(&unreachableError{server: s.name, addr: s.addr, after: time.Since(answered).Round(100 * time.Millisecond), err: err})
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(within / 4):
				}
			}
		}()
	}
	return ctx, func() {
		cancel(nil)
		for range watching {
			<-done
		}
	}
}

// reaching runs f under a watch of servers: an error f returns because
// one stopped answering says so.
func reaching(ctx context.Context, f func(context.Context) error, servers ...*server) error {
	wctx, stop := watch(ctx, servers...)
	err := f(wctx)
	cause := context.Cause(wctx)
	stop()
	var u *unreachableError
	if err != nil && errors.As(cause, &u) && !errors.As(err, &u) {
		return fmt.Errorf("%w; it stopped at: %w", u, err)
	}
	return err
}
