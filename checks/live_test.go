package checks_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/checks"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Verification while replication runs under concurrent writes reports no
// false difference: chunks caught between a write and its replication are
// compared again once the replicator has caught up.
func TestVerifyDuringReplication(t *testing.T) {
	p := newPair(t)
	sandboxtest.Exec(t, p.src, sampleTables)
	p.cfg.Replication.AllowNoKey = []string{"app.log"}
	rep, err := binlog.New(p.cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rep.Run(ctx, binlog.RunOptions{}); rep.Close(); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := binlog.ReadStatus(ctx, p.dst, "_switcharoo")
		if err == nil && st.State == binlog.StateStreaming {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("replicate ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("replication did not start streaming")
		}
		time.Sleep(50 * time.Millisecond)
	}

	var stop atomic.Bool
	var writes atomic.Int64
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for !stop.Load() {
				id := rng.IntN(1000) + 1
				q := fmt.Sprintf("UPDATE app.accounts SET balance = balance + 1 WHERE id = %d", id)
				if rng.IntN(3) == 0 {
					q = fmt.Sprintf("UPDATE app.tags SET hits = hits + 1 WHERE name = 'tag%d' AND shard = %d", id%100, id/100)
				}
				if _, err := p.src.Exec(q); err != nil {
					if !stop.Load() {
						t.Error(err)
					}
					return
				}
				writes.Add(1)
			}
		})
	}
	r := p.verify(func(o *checks.VerifyOptions) { o.MaxRate = 3000 }) // slow enough to overlap many writes
	stop.Store(true)
	wg.Wait()
	t.Logf("%d writes during verification; %d chunks re-checked", writes.Load(), r.Rechecks)
	if r.Mode != "live" || !r.Identical {
		t.Fatalf("mode %s, differences under live replication: %v", r.Mode, describe(r.Differences))
	}
}
