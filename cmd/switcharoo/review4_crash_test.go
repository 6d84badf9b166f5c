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

// TestCrashPoints with schema changes it does not try: replicate is
// SIGKILLed between the statement and its checkpoint, and the next
// replicate must see the change in place and go on (#16.2, #16.3). It
// does not: the session's precision check (precision.go) runs before the
// pending change is looked at, against the schema map from before it —
// a table the change dropped or renamed away makes catalog.LoadTables fail
// (exit 3, "dropped meanwhile?"), a column it narrowed, or a RENAME swap
// of two tables with a same-named column of other precision, make it stop
// (exit 4, "the target would round"). Every restart ends the same way.
func TestReview4CrashAfterDDLThenPrecisionCheck(t *testing.T) {
	for _, ddl := range []string{
		"DROP TABLE app.u",
		"ALTER TABLE app.t MODIFY d DECIMAL(10,2)",
		"RENAME TABLE app.t TO app.tmp, app.u TO app.t, app.tmp TO app.u",
	} {
		t.Run(ddl, func(t *testing.T) {
			servers := sandboxtest.StartN(t, 2)
			src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
			sandboxtest.Exec(t, src, "CREATE DATABASE app",
				"CREATE TABLE app.t (id INT PRIMARY KEY, a INT, d DECIMAL(10,4))",
				"CREATE TABLE app.u (id INT PRIMARY KEY, a INT, d DECIMAL(10,2))",
				"INSERT INTO app.t VALUES (1, 1, 1.2345)", "INSERT INTO app.u VALUES (1, 1, 1.23)")
			config := replicationConfig(t, servers[0], servers[1])
			first := startBinary(t, "-c", config, "replicate")
			first.waitFor(t, "a caught-up stream", time.Minute, caughtUp(src, dst))
			first.cmd.Process.Kill()
			<-first.exited

			point := faultpoint.AfterDDLBeforeCheckpoint
			armed := startBinaryEnv(t, []string{faultpoint.Env + "=" + point + ":kill"}, "-c", config, "replicate")
			sandboxtest.Exec(t, src, ddl, "INSERT INTO app.t (id, a, d) VALUES (2, 2, 2.5)")
			select {
			case <-armed.exited:
			case <-time.After(time.Minute):
				t.Fatalf("replicate did not reach %s\n%s", point, armed.stderr.String())
			}
			if !strings.Contains(armed.stderr.String(), "faultpoint "+point+": SIGKILL") {
				t.Fatalf("replicate ended elsewhere than at %s:\n%s", point, armed.stderr.String())
			}

			for range 2 { // a second restart does no better
				if r := runBinary(t, "-c", config, "replicate", "--until-caught-up"); r.code != 0 {
					t.Fatalf("replicate after the crash: exit %d\n%s", r.code, failureLines(r.stderr))
				}
			}
			tables := sandboxtest.Text(t, src, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' ORDER BY 1")
			if got := sandboxtest.Text(t, dst, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' ORDER BY 1"); !slices.Equal(tables, got) {
				t.Fatalf("tables differ: source %v, target %v", tables, got)
			}
			for _, table := range tables {
				q := fmt.Sprintf("SELECT * FROM app.%s ORDER BY 1", table)
				if want, got := sandboxtest.Dump(t, src, q), sandboxtest.Dump(t, dst, q); !slices.Equal(want, got) {
					t.Errorf("app.%s differs: source %v, target %v", table, want, got)
				}
			}
		})
	}
}

// failureLines are the lines of a replicate's stderr that say why it ended.
func failureLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "error") || strings.Contains(l, "stop") || !strings.HasPrefix(l, "{") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
