package main

import (
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/faultpoint"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// replicate is SIGKILLed at named moments (internal/faultpoint) where a
// crash is hardest to recover from — a schema change recorded but not
// run, run but not checkpointed, a batch about to commit — and started
// again: every change is applied exactly once, or replication stops and
// says how to go on (#16.2, #16.3).
func TestCrashPoints(t *testing.T) {
	for _, c := range []struct {
		point, ddl string
		stop       bool // the target cannot tell whether the change ran
	}{
		{faultpoint.BeforeDDL, "ALTER TABLE app.t ADD COLUMN c INT", false},
		{faultpoint.AfterDDLBeforeCheckpoint, "ALTER TABLE app.t ADD COLUMN c INT", false},
		{faultpoint.BeforeDDL, "ALTER TABLE app.t CHANGE a b VARCHAR(10), CHANGE b a INT", true},
		{faultpoint.BeforeDDL, "ALTER TABLE app.t CHANGE b bb VARCHAR(10)", false}, // a plain rename: unchanged means not run
		{faultpoint.AfterDDLBeforeCheckpoint, "ALTER TABLE app.t CHANGE a b VARCHAR(10), CHANGE b a INT", false},
		{faultpoint.AfterDDLBeforeCheckpoint, "ALTER TABLE app.u CHANGE x y INT, CHANGE y x INT", false}, // the names move
		{faultpoint.AfterDDLBeforeCheckpoint, "RENAME TABLE app.t TO app.tmp, app.u TO app.t, app.tmp TO app.u", false},
		{faultpoint.BeforeBatchCommit, "", false},
	} {
		t.Run(c.point+" "+c.ddl, func(t *testing.T) {
			servers := sandboxtest.StartN(t, 2)
			src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
			sandboxtest.Exec(t, src, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, a INT, b VARCHAR(10))",
				"CREATE TABLE app.u (id INT PRIMARY KEY, x INT, y INT)", "INSERT INTO app.t VALUES (1, 1, '2')", "INSERT INTO app.u VALUES (1, 1, 2)")
			config := replicationConfig(t, servers[0], servers[1])
			first := startBinary(t, "-c", config, "replicate")
			first.waitFor(t, "a caught-up stream", time.Minute, caughtUp(src, dst))
			first.cmd.Process.Kill()
			<-first.exited

			armed := startBinaryEnv(t, []string{faultpoint.Env + "=" + c.point + ":kill"}, "-c", config, "replicate")
			if c.ddl != "" {
				sandboxtest.Exec(t, src, c.ddl)
			}
			sandboxtest.Exec(t, src, "INSERT INTO app.t (id) VALUES (2), (3)")
			select {
			case <-armed.exited:
			case <-time.After(time.Minute):
				t.Fatalf("replicate did not reach %s\n%s", c.point, armed.stderr.String())
			}
			if !strings.Contains(armed.stderr.String(), "faultpoint "+c.point+": SIGKILL") {
				t.Fatalf("replicate ended elsewhere than at %s:\n%s", c.point, armed.stderr.String())
			}

			r := runBinary(t, "-c", config, "replicate", "--until-caught-up")
			if c.stop {
				at := regexp.MustCompile(`--ddl-applied (\S+:\d+)`).FindStringSubmatch(r.stderr)
				if r.code != 4 || at == nil {
					t.Fatalf("want a stop (exit 4) saying how to go on, got exit %d\n%s", r.code, r.stderr)
				}
				// The operator looks: applied (after the DDL) or not.
				if c.point == faultpoint.BeforeDDL {
					sandboxtest.Exec(t, dst, c.ddl)
				}
				r = runBinary(t, "-c", config, "replicate", "--until-caught-up", "--ddl-applied", at[1])
			}
			if r.code != 0 {
				t.Fatalf("replicate after the crash: exit %d\n%s", r.code, r.stderr)
			}
			sandboxtest.Exec(t, src, "INSERT INTO app.t (id) VALUES (4)", "UPDATE app.u SET id = id + 10")
			if r := runBinary(t, "-c", config, "replicate", "--until-caught-up"); r.code != 0 {
				t.Fatalf("replicate: exit %d\n%s", r.code, r.stderr)
			}
			for _, table := range []string{"t", "u"} {
				if want, got := definition(t, src, table), definition(t, dst, table); want != got {
					t.Errorf("app.%s is defined differently:\nsource %s\ntarget %s", table, want, got)
				}
				q := fmt.Sprintf("SELECT * FROM app.%s ORDER BY 1", table)
				if want, got := sandboxtest.Dump(t, src, q), sandboxtest.Dump(t, dst, q); !slices.Equal(want, got) {
					t.Errorf("app.%s differs: source %v, target %v", table, want, got)
				}
			}
		})
	}
}

// definition is SHOW CREATE TABLE of app.table, without its counter.
func definition(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var name, def string
	if err := db.QueryRow("SHOW CREATE TABLE app."+table).Scan(&name, &def); err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(` AUTO_INCREMENT=\d+`).ReplaceAllString(def, "")
}

// A pending schema change recorded by an earlier version (the statement
// alone, without the tables' definitions) that could undo itself when run
// again stops replication instead of running: nothing can tell whether it
// ran (#16.2).
func TestOldFormatPendingSwap(t *testing.T) {
	servers := sandboxtest.StartN(t, 2)
	src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
	sandboxtest.Exec(t, src, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, a INT, b INT)", "INSERT INTO app.t VALUES (1, 10, 20)")
	config := replicationConfig(t, servers[0], servers[1])
	if r := runBinary(t, "-c", config, "replicate", "--until-caught-up"); r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	ddl := "ALTER TABLE app.t CHANGE a b INT, CHANGE b a INT"
	p, err := sourcePosition(src)
	if err != nil {
		t.Fatal(err)
	}
	// The checkpoint right before the statement (the heartbeats since are
	// of no consequence).
	sandboxtest.Exec(t, dst, fmt.Sprintf("UPDATE _switcharoo.checkpoint SET binlog_file = '%s', binlog_pos = %d", p.File, p.Pos))
	sandboxtest.Exec(t, src, ddl)
	// What the earlier version left after a crash between the statement
	// and its checkpoint: the statement run, its text pending.
	sandboxtest.Exec(t, dst, ddl, "UPDATE _switcharoo.checkpoint SET pending_ddl = '"+ddl+"'")
	r := runBinary(t, "-c", config, "replicate", "--until-caught-up")
	if r.code != 4 || !strings.Contains(r.stderr, "--ddl-applied") {
		t.Fatalf("want a stop (exit 4) with --ddl-applied, got exit %d\n%s", r.code, r.stderr)
	}
}
