package cutover

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// A connection of switcharoo's that took the source's global read lock and
// that the server still keeps after switcharoo lost it (a network drop
// leaves the server's session; so does a process killed with its TCP
// connection half-open) would go on blocking every write on the source
// though a rollback says the source is open. The lock's connection ids are
// journaled, and the rollback ends the ones still there before it opens
// the source: writes go through after it, and the stale session is gone.
func TestStaleSourceLockEndedAtRollback(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	pool := sandboxtest.Open(t, sb.Config.Source) // switcharoo's own user
	var stale *sql.Conn
	var staleID int64
	var rb *Runbook
	rb = newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool {
		if step != "verify" {
			return false
		}
		if at == beforeApply {
			// As if an earlier lock's connection had been lost by
			// switcharoo and kept by the server (opened after the fence,
			// which kills client connections).
			var err error
			if stale, err = pool.Conn(ctx); err != nil {
				t.Fatal(err)
			}
			staleID = journalLockSession(t, rb, stale)
			if _, err := stale.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
				t.Error(err)
			}
		}
		return at == insideStep // the process dies in verify
	})
	if _, err := rb.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the simulated crash", err)
	}
	rb.Close()
	if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	onSource(t, sb)
	root := rootDB(t, sb.Source)
	var alive int
	if err := root.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", staleID).Scan(&alive); err != nil || alive != 0 {
		t.Errorf("the stale lock's connection %d is still there (%v)", staleID, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := root.Conn(wctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(wctx, "SET SESSION lock_wait_timeout = 5"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(wctx, "CREATE DATABASE stale_lock_probe"); err != nil {
		t.Errorf("a write on the source after the rollback: %v (a global read lock still held?)", err)
	}
	noneLost(t, sb, sb.Source)
	stopWatch()
}

// journalLockSession journals conn as a connection that takes the
// source's global read lock, as takeSourceLock journals its own, and
// returns its id.
func journalLockSession(t *testing.T, rb *Runbook, conn *sql.Conn) int64 {
	t.Helper()
	l, err := readLockSession(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := rb.recordFact(sourceLockSessions, rb.facts[sourceLockSessions]+","+l.String()); err != nil {
		t.Fatal(err)
	}
	return l.id
}

// journaledLockIDs are the ids of the lock connections events journal.
func journaledLockIDs(events []Event) []int64 {
	var ids []int64
	for _, e := range events {
		if v, ok := e.Data[sourceLockSessions]; ok {
			ids = nil
			for entry := range strings.SplitSeq(v, ",") {
				if l, ok := parseLockSession(entry); ok {
					ids = append(ids, l.id)
				}
			}
		}
	}
	return ids
}
