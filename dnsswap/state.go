package dnsswap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/switcharoo/switcharoo/internal/statefile"
)

// stateFile, in state_dir, remembers what the DNS swap must not forget:
// when each record's TTL was lowered and from what (so that swap waits
// until clients can no longer cache the old value), and the value each
// record had on the old side (so that swap --reverse can restore it).
const stateFile = "dns.json"

type state struct {
	Records []*recordState `json:"records"`
}

// recordState is what is remembered of one record.
type recordState struct {
	Key
	// Source is the record's value on the old side, read when its TTL was
	// lowered and again just before the swap.
	Source *RecordSet `json:"source,omitempty"`
	// LoweredAt and OldTTL: the TTL was lowered from OldTTL at LoweredAt
	// (or, after a raise or a change seen since, was seen low again then).
	LoweredAt time.Time `json:"lowered_at,omitzero"`
	OldTTL    uint32    `json:"old_ttl"`
	SwappedAt time.Time `json:"swapped_at,omitzero"`
	// SeenTTL and SeenAt: the TTL last read (for an alias, its target's)
	// by lower-ttl, the night's checks or a swap, and when.
	SeenTTL uint32    `json:"seen_ttl,omitempty"`
	SeenAt  time.Time `json:"seen_at,omitzero"`
	// RaisedTTL and RaisedAt: the highest TTL read above dns.cutover_ttl
	// since the lowering, and when; cleared once it is seen low again.
	RaisedTTL uint32    `json:"raised_ttl,omitempty"`
	RaisedAt  time.Time `json:"raised_at,omitzero"`
	// Why says, when the wait counts from a raise or a change seen rather
	// than from lower-ttl, what was seen; lower-ttl clears it.
	Why string `json:"why,omitempty"`
}

func loadState(dir string) (*state, error) {
	var s state
	if _, err := statefile.Load(filepath.Join(dir, stateFile), &s); err != nil {
		return nil, fmt.Errorf("DNS state: %w", err)
	}
	return &s, nil
}

// record returns the state of k, creating it.
func (s *state) record(k Key) *recordState {
	for _, r := range s.Records {
		if r.Key == k {
			return r
		}
	}
	r := &recordState{Key: k}
	s.Records = append(s.Records, r)
	return r
}

// lookup returns the state of k, or nil.
func (s *state) lookup(k Key) *recordState {
	for _, r := range s.Records {
		if r.Key == k {
			return r
		}
	}
	return nil
}

// save writes the state durably.
func (s *state) save(dir string) error {
	return statefile.Save(filepath.Join(dir, stateFile), s)
}

// saveBeforeApply writes the state before changes are applied — after a
// crash in between, a later swap waits (at worst) for a TTL that was never
// lowered — and returns what to call with Apply's error: when the
// provider refused the changes (so nothing changed), the file is put back
// as it was.
func (s *state) saveBeforeApply(dir string) (func(error) error, error) {
	path := filepath.Join(dir, stateFile)
	old, err := os.ReadFile(path)
	existed := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("DNS state: %w", err)
	}
	if err := s.save(dir); err != nil {
		return nil, err
	}
	return func(applyErr error) error {
		var refused *RefusedError
		if !errors.As(applyErr, &refused) {
			return applyErr
		}
		var err error
		if existed {
			tmp := path + ".tmp"
			if err = os.WriteFile(tmp, old, 0o600); err == nil {
				err = os.Rename(tmp, path)
			}
		} else {
			err = os.Remove(path)
		}
		if err != nil {
			return fmt.Errorf("%w (and the DNS state could not be put back: %v)", applyErr, err)
		}
		return applyErr
	}, nil
}
