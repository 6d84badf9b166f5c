package binlog_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// An UPDATE that writes an ENUM's error value to a row the target lacks
// matches nothing, so the relaxed statement raises no warning at all: the
// warnings guard must not take that for a truncation. Under on_divergence:
// log the missing row is a divergence logged like any other, and
// replication goes on; under stop, the stop names the missing row, not a
// value truncated.
func TestReview3EnumErrorValueOnMissingRow(t *testing.T) {
	for _, mode := range []string{config.DivergenceLog, config.DivergenceStop} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t)
			r.cfg.Replication.OnDivergence = mode
			r.source("CREATE DATABASE app",
				"CREATE TABLE app.u (id INT PRIMARY KEY, k INT, e ENUM('a', 'b'), UNIQUE KEY (k))",
				"INSERT INTO app.u VALUES (1, 1, 'a'), (2, 2, 'a')")
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			sandboxtest.Exec(t, r.dstDB, "DELETE FROM app.u WHERE id = 1")
			r.source("SET SESSION sql_mode = ''; UPDATE app.u SET e = 'bogus' WHERE id = 1")
			if mode == config.DivergenceStop {
				stop := r.waitStopped(run)
				if strings.Contains(stop.Error(), "strict mode off") {
					t.Errorf("a missing row reported as a value truncated: %v", stop)
				}
				return
			}
			r.source("INSERT INTO app.u VALUES (3, 3, 'b')")
			r.waitCaughtUp(run)
			r.stopClean(run)
			st, err := binlog.ReadStatus(context.Background(), r.dstDB, r.cfg.Replication.CheckpointSchema)
			if err != nil {
				t.Fatal(err)
			}
			if st.Divergences != 1 {
				t.Errorf("status counts %d divergences, want 1", st.Divergences)
			}
		})
	}
}
