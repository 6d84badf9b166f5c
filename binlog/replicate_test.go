package binlog_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
)

// A copy taken while the source is written to, then the stream, ends with
// identical tables.
func TestCopyAndStreamUnderWrites(t *testing.T) {
	r := newRig(t)
	r.source(
		"CREATE DATABASE app",
		"CREATE TABLE app.accounts (id INT PRIMARY KEY AUTO_INCREMENT, owner VARCHAR(40) NOT NULL, balance DECIMAL(12,2) NOT NULL, note TEXT)",
		"CREATE TABLE app.tags (name VARCHAR(30) PRIMARY KEY, hits BIGINT UNSIGNED NOT NULL)",
	)
	for i := range 20 {
		r.source(fmt.Sprintf("INSERT INTO app.accounts (owner, balance, note) SELECT CONCAT('o', seq), seq * 1.5, IF(seq %% 3 = 0, NULL, REPEAT('x', seq %% 50)) FROM mysql.seq_%d_to_%d", i*100+1, i*100+100))
	}
	r.source("INSERT INTO app.tags SELECT CONCAT('tag', seq), seq FROM mysql.seq_1_to_300")

	var stopWrites atomic.Bool
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for !stopWrites.Load() {
				id := rng.IntN(2500) + 1
				switch rng.IntN(4) {
				case 0:
					r.source(fmt.Sprintf("INSERT INTO app.accounts (owner, balance) VALUES ('new%d', %d)", id, id))
				case 1:
					r.source(fmt.Sprintf("UPDATE app.accounts SET balance = balance + 1, note = 'touched' WHERE id = %d", id))
				case 2:
					r.source(fmt.Sprintf("DELETE FROM app.accounts WHERE id = %d", id))
				case 3:
					r.source(fmt.Sprintf("START TRANSACTION; UPDATE app.tags SET hits = hits + 1 WHERE name = 'tag%d'; "+
						"INSERT INTO app.tags VALUES ('t%d-%d', 1) ON DUPLICATE KEY UPDATE hits = hits + 1; COMMIT", id%300, w, id))
				}
				writes.Add(1)
			}
		})
	}

	run := r.run(binlog.RunOptions{})
	time.Sleep(time.Second) // let writes overlap the copy and the stream
	stopWrites.Store(true)
	wg.Wait()
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	t.Logf("%d writes during copy and stream", writes.Load())
	r.assertSame("app")
}
