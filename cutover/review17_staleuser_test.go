package cutover

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// review17: endStaleLocks ends a journaled lock connection only if it
// belongs to the user the *current* runbook connects as
// (USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)). The night's lock was
// taken by the user of the run; an operator who rolls back with another
// account — the documented fix for an undo that failed on a privilege is
// "fix what the errors name, then run `switcharoo rollback` again", and an
// admin account is the quickest fix — leaves the run's stale lock alone:
// the rollback reports the source open (exit 0) while every write there
// waits on it. The journaled id is switcharoo's own; matching it against
// the journaled user (or the lock's own user, journaled with the id)
// would end it.
func TestReview17StaleLockOfAnotherUserSurvivesRollback(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	root := rootDB(t, sb.Source)
	exec1(t, root, "CREATE USER admin@'%' IDENTIFIED BY 'admin-pw'", "GRANT ALL ON *.* TO admin@'%' WITH GRANT OPTION")
	sb.Config.Cutover.SuperUsers = append(sb.Config.Cutover.SuperUsers, "admin@%")
	pool := sandboxtest.Open(t, sb.Config.Source) // the run's user
	var stale *sql.Conn
	var staleID int64
	var rb *Runbook
	rb = newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool {
		if step != "verify" {
			return false
		}
		if at == beforeApply {
			// As TestStaleSourceLockEndedAtRollback: a lock connection of
			// the run's user that switcharoo lost and the server keeps.
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
	cfg := copyConfig(sb)
	cfg.Source.User, cfg.Source.Password = "admin", secret.New("admin-pw")
	if _, err := newRunbook(t, sb, cfg, nil).Rollback(ctx); err != nil {
		t.Fatalf("rollback as admin: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := root.Conn(wctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(wctx, "SET SESSION lock_wait_timeout = 3"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(wctx, "CREATE DATABASE stale_lock_probe"); err != nil {
		t.Errorf("the rollback (as another user) said the source is open, but a write fails: %v; the run's journaled lock connection %d is still there (%s)",
			err, staleID, query(t, root, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", staleID))
	}
	if n := query(t, root, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ?", staleID); n != "0" {
		t.Errorf("the stale lock's connection %d is still there after the rollback", staleID)
		exec1(t, root, "KILL "+strconv.FormatInt(staleID, 10))
	}
	stopWatch()
}
