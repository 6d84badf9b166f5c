package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/faultpoint"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// With compare_before_image, replicate is SIGKILLed just before and just
// after a batch's commit, the batch changing keys several times (net
// changes, whose first before-images are counted, and the statement
// path, whose images are in the WHERE): started again, it applies every
// change once, with no false stop (a batch applied twice would find the
// rows unequal to their before-images), and the target ends as the
// source.
func TestReview15bCrashAtBatchCommitComparingImages(t *testing.T) {
	for _, point := range []string{faultpoint.BeforeBatchCommit, faultpoint.AfterBatchCommit} {
		t.Run(point, func(t *testing.T) {
			servers := sandboxtest.StartN(t, 2)
			src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
			sandboxtest.Exec(t, src, "CREATE DATABASE app",
				"CREATE TABLE app.net (id INT PRIMARY KEY, v INT, w VARCHAR(20))",
				"CREATE TABLE app.stmt (id INT PRIMARY KEY, v INT, u INT NULL, UNIQUE KEY (u))",
				"INSERT INTO app.net SELECT seq, seq, 'a' FROM mysql.seq_1_to_100",
				"INSERT INTO app.stmt SELECT seq, seq, NULL FROM mysql.seq_1_to_100")
			config := replicationConfig(t, servers[0], servers[1], "compare_before_image: true")
			first := startBinary(t, "-c", config, "replicate")
			first.waitFor(t, "a caught-up stream", time.Minute, caughtUp(src, dst))
			first.cmd.Process.Kill()
			<-first.exited

			sandboxtest.Exec(t, src, "START TRANSACTION; UPDATE app.net SET v = v + 1; UPDATE app.net SET v = v + 1 WHERE id < 50; DELETE FROM app.net WHERE id > 90; "+
				"UPDATE app.net SET id = id + 1000 WHERE id < 10; UPDATE app.stmt SET v = v + 1; UPDATE app.stmt SET v = v + 1 WHERE id < 50; DELETE FROM app.stmt WHERE id > 90; COMMIT")
			// The backlog is the armed process's first batch (before any heartbeat).
			armed := startBinaryEnv(t, []string{faultpoint.Env + "=" + point + ":kill"}, "-c", config, "replicate")
			select {
			case <-armed.exited:
			case <-time.After(time.Minute):
				t.Fatalf("replicate did not reach %s\n%s", point, armed.stderr.String())
			}
			if !strings.Contains(armed.stderr.String(), "faultpoint "+point+": SIGKILL") {
				t.Fatalf("replicate ended elsewhere than at %s:\n%s", point, armed.stderr.String())
			}
			if r := runBinary(t, "-c", config, "replicate", "--until-caught-up"); r.code != 0 {
				t.Fatalf("replicate after the crash: exit %d\n%s", r.code, r.stderr)
			}
			sandboxtest.Exec(t, src, "UPDATE app.net SET v = v + 1", "UPDATE app.stmt SET v = v + 1")
			if r := runBinary(t, "-c", config, "replicate", "--until-caught-up"); r.code != 0 {
				t.Fatalf("replicate: exit %d\n%s", r.code, r.stderr)
			}
			for _, table := range []string{"net", "stmt"} {
				q := fmt.Sprintf("SELECT * FROM app.%s ORDER BY 1", table)
				if want, got := sandboxtest.Dump(t, src, q), sandboxtest.Dump(t, dst, q); !slices.Equal(want, got) {
					t.Errorf("app.%s differs: source %v, target %v", table, want, got)
				}
			}
		})
	}
}
