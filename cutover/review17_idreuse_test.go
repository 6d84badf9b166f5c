package cutover

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// review17: connection ids start again from 1 when a server restarts.
// endStaleLocks kills every journaled lock id that is now an idle session
// of switcharoo's user — after a restart of the old master (a maintenance
// restart, or a DBA clearing a stuck lock), that is someone else's
// session: reverse replication's applier, another tool's or another
// migration's session, the application's if it shares the account (as
// 5.6 sites using root do). Here a session of switcharoo's user holding
// a named lock of its own (another runbook's lease would be one) is
// killed by the rollback. The journal should tie the ids to the server's
// lifetime (its start time: NOW() - Uptime) and leave them alone after a
// restart.
func TestReview17StaleLockIDReusedAfterRestart(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	rb := newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool {
		return step == "verify" && at == insideStep // the process dies in verify
	})
	if _, err := rb.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v, want the simulated crash", err)
	}
	rb.Close()
	events, err := readLastRun(sb.Config.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	ids := journaledLockIDs(events)
	if len(ids) == 0 {
		t.Fatal("no lock connection journaled")
	}
	// The old master restarts (read_only from its configuration, as a
	// fenced master's my.cnf would have it).
	closeRootDBs(sb)
	if err := sb.Source.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	src := rootDB(t, sb.Source)
	exec1(t, src, "SET GLOBAL read_only = ON")
	stopWatch := watchPrimaries(t, sb)
	// Sessions of switcharoo's user come and go; one gets a journaled id.
	pool := sandboxtest.Open(t, sb.Config.Source)
	pool.SetMaxIdleConns(0)
	var victim *sql.Conn
	var victimID int64
	for victim == nil {
		c, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := c.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
			t.Fatal(err)
		}
		switch {
		case slices.Contains(ids, id):
			victim, victimID = c, id
		case id > slices.Max(ids):
			t.Fatalf("connection ids passed the journaled ones %v without meeting one", ids)
		default:
			c.Close() // no idle connections kept: closed for good
		}
	}
	var got int
	if err := victim.QueryRowContext(ctx, "SELECT GET_LOCK('another-tool', 0)").Scan(&got); err != nil || got != 1 {
		t.Fatalf("GET_LOCK: %d %v", got, err)
	}
	t.Logf("journaled lock connections %v; after the restart, connection %d of switcharoo's user holds a named lock of its own", ids, victimID)
	if _, err := newRunbook(t, sb, sb.Config, nil).Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := victim.PingContext(pctx); err != nil {
		t.Errorf("the rollback killed connection %d, a session of switcharoo's user opened after the source restarted, whose id a lock connection of the night had had: %v (its named lock now held by %q)",
			victimID, err, query(t, src, "SELECT IS_USED_LOCK('another-tool')"))
	}
	victim.Close()
	stopWatch()
}
