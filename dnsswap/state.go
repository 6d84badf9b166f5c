package dnsswap

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
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
	// LoweredAt and OldTTL: the TTL was lowered from OldTTL at LoweredAt.
	LoweredAt time.Time `json:"lowered_at,omitzero"`
	OldTTL    uint32    `json:"old_ttl"`
	SwappedAt time.Time `json:"swapped_at,omitzero"`
}

func loadState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &state{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read DNS state: %w", err)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read DNS state %s: %w", filepath.Join(dir, stateFile), err)
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

// save writes the state durably: a new file, synced, renamed over the old
// one, and the directory synced, so a crash leaves the old or the new
// state, never half of one.
func (s *state) save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state_dir: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("write DNS state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write DNS state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write DNS state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write DNS state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write DNS state: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
