package cutover

import (
	"context"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// review17 (fixed: the lock's waiters are ended before it goes, so the
// write is refused, and a source that moved anyway stops the night before
// reverse replication starts): a write through read_only (a SUPER account, acknowledged in
// cutover.super_users, as root is in the sandbox) that reached the old
// master after the fence does not fail: it waits behind the global read
// lock (lock_wait_timeout is a year on 5.6, a day on MariaDB). When
// stop-replication releases the lock for reverse replication, it commits
// at once — after forward replication was paused, and before Seed reads
// the source's position for reverse replication and its write guard. So
// the old master holds an acknowledged write that the new primary lacks,
// that no replication brings, and that the guard (which starts at the
// seed) never records: N2/N4 say it must be found. The night reports
// "finished". (The same write as an INSERT with an AUTO_INCREMENT key
// is worse: the new primary hands the same id to the application's next
// row, reverse replication stops on the duplicate key, and the night
// fails at health, after the swap, saying only "reverse replication not
// streaming (stopped)".)
func TestReview17SuperWriteQueuedBehindFenceLost(t *testing.T) {
	sb := startSandbox(t)
	stopWatch := watchPrimaries(t, sb)
	ctx := context.Background()
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)
	done := make(chan error, 1)
	rb := newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool {
		if step != "verify" || at != afterStep {
			return false
		}
		// The source is fenced and locked; a SUPER client issues a write.
		go func() {
			_, err := src.ExecContext(ctx, "UPDATE app.customers SET name = 'super-queued' WHERE id = 5")
			done <- err
		}()
		waitFor(t, "the SUPER write waiting behind the global read lock", 10*time.Second, func() (bool, string) {
			n := query(t, src, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'UPDATE app.customers%super-queued%' AND STATE LIKE 'Waiting for %lock%'")
			return n == "1", query(t, src, "SELECT GROUP_CONCAT(CONCAT(ID, ' ', USER, ' ', COMMAND, ' ', IFNULL(STATE,''), ' ', IFNULL(INFO,'')) SEPARATOR ' | ') FROM information_schema.PROCESSLIST")
		})
		return false
	})
	if _, err := rb.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			// Ended before the lock went: never acknowledged, never written.
			if n := query(t, src, "SELECT COUNT(*) FROM app.customers WHERE name = 'super-queued'"); n != "0" {
				t.Errorf("the SUPER write failed (%v) but is on the old master", err)
			}
			stopWatch()
			return
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the SUPER write is still waiting after the night")
	}
	onSource := query(t, src, "SELECT COUNT(*) FROM app.customers WHERE name = 'super-queued'")
	if onSource != "1" {
		t.Fatalf("the SUPER write is not on the old master (%s rows): the test does not test what it means to", onSource)
	}
	reverse := sb.Config.Replication.CheckpointSchema + binlog.ReverseSuffix
	// The guard reads the old master's binlog every 2 s: give it time.
	deadline := time.Now().Add(10 * time.Second)
	var found int64
	var onTarget string
	for time.Now().Before(deadline) {
		onTarget = query(t, dst, "SELECT COUNT(*) FROM app.customers WHERE name = 'super-queued'")
		n, err := binlog.ReadDivergences(ctx, src, reverse)
		if err == nil {
			found = n
		}
		if onTarget == "1" || found > 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if onTarget != "1" && found == 0 {
		t.Errorf("an acknowledged write the old master took after the fence (committed when stop-replication released the global read lock) "+
			"is on the old master only: not on the new primary (%s rows), and reverse replication's guard recorded nothing (%d divergences); the night said finished", onTarget, found)
	}
	stopWatch()
}
