package main

import (
	"context"
	"database/sql"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// A batch of a SIGKILLed replicate that is still queued in its server
// session, behind a row lock, commits once the lock is released: the
// server does not notice its client is gone until it answers. The next
// replicate, started meanwhile from the old checkpoint, must not apply the
// same changes a second time (#16.1): the target ends identical to the
// source, without a stop.
func TestZombieBatchAfterSIGKILL(t *testing.T) {
	servers := sandboxtest.StartN(t, 2)
	src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
	sandboxtest.Exec(t, src, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, u INT UNIQUE, v INT)",
		"CREATE TABLE app.log (a INT, b INT)", "INSERT INTO app.t VALUES (1, 1, 0)")
	config := replicationConfig(t, servers[0], servers[1], "allow_no_key: [app.log]")
	first := startBinary(t, "-c", config, "replicate")
	first.waitFor(t, "the copy and a caught-up stream", time.Minute, caughtUp(src, dst))

	// A session on the target holds row 1.
	ctx := context.Background()
	holder, err := dst.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	for _, q := range []string{"BEGIN", "SELECT * FROM app.t WHERE id = 1 FOR UPDATE"} {
		if _, err := holder.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sandboxtest.Exec(t, src, "START TRANSACTION; INSERT INTO app.log VALUES (1, 1), (2, 2); UPDATE app.t SET v = v + 1 WHERE id = 1; COMMIT")
	first.waitFor(t, "the batch waiting on the row lock", time.Minute, blocked(dst, 1))
	if ended, err := first.killAfter(t, 0); ended {
		t.Fatalf("replicate ended before the kill: %v\n%s", err, first.stderr.String())
	}

	second := startBinary(t, "-c", config, "replicate")
	second.waitFor(t, "the second replicate waiting too", time.Minute, blocked(dst, 2))
	if _, err := holder.ExecContext(ctx, "ROLLBACK"); err != nil { // the zombie batch goes on, and commits
		t.Fatal(err)
	}
	second.waitFor(t, "the second replicate caught up", time.Minute, caughtUp(src, dst))
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-second.exited; err != nil {
		t.Fatalf("the second replicate: %v\n%s", err, second.stderr.String())
	}
	for _, q := range []string{"SELECT * FROM app.log ORDER BY a", "SELECT * FROM app.t ORDER BY id"} {
		if want, got := sandboxtest.Dump(t, src, q), sandboxtest.Dump(t, dst, q); !slices.Equal(want, got) {
			t.Errorf("%s: source has %d rows, target %d\n%s", q, len(want), len(got), second.stderr.String())
		}
	}
}

// caughtUp reports whether the target's checkpoint has reached the
// source's current position.
func caughtUp(src, dst *sql.DB) func() bool {
	return func() bool {
		p, err := sourcePosition(src)
		if err != nil {
			return false
		}
		cp := checkpointOf(dst)
		return cp.Phase == "streaming" && cp.Position.Compare(p) >= 0
	}
}

// sourcePosition is the source's current binlog position.
func sourcePosition(src *sql.DB) (binlog.Position, error) {
	var p binlog.Position
	var doDB, ignoreDB sql.NullString
	err := src.QueryRow("SHOW MASTER STATUS").Scan(&p.File, &p.Pos, &doDB, &ignoreDB)
	return p, err
}

// blocked reports whether at least n sessions have run a statement on
// the target for a second or more: batches of replicators, behind a row
// lock or behind another batch's claim of the checkpoint row.
func blocked(db *sql.DB, n int) func() bool {
	return func() bool {
		var waiting int
		err := db.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND TIME >= 1 AND ID <> CONNECTION_ID()").Scan(&waiting)
		return err == nil && waiting >= n
	}
}

// A schema change a SIGKILLed replicate left running on the target (a
// long ALTER: the server goes on until it tries to answer) is not run a
// second time by the next replicate, which would otherwise read the
// tables as they were and add the index twice (#16.2).
func TestZombieSchemaChangeAfterSIGKILL(t *testing.T) {
	servers := sandboxtest.StartN(t, 2)
	src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
	sandboxtest.Exec(t, src, "CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY, c INT, p VARCHAR(200))",
		"INSERT INTO app.t SELECT seq, seq, REPEAT('x', 200) FROM mysql.seq_1_to_500000")
	config := replicationConfig(t, servers[0], servers[1])
	first := startBinary(t, "-c", config, "replicate")
	first.waitFor(t, "the copy and a caught-up stream", 5*time.Minute, caughtUp(src, dst))
	sandboxtest.Exec(t, src, "ALTER TABLE app.t ADD INDEX (c), ADD INDEX (p), ADD INDEX (c, p), ADD INDEX (p, c), ALGORITHM=COPY")
	first.waitFor(t, "the schema change running on the target", time.Minute, blocked(dst, 1))
	if ended, err := first.killAfter(t, 0); ended {
		t.Fatalf("replicate ended before the kill: %v\n%s", err, first.stderr.String())
	}
	second := startBinary(t, "-c", config, "replicate")
	sandboxtest.Exec(t, src, "INSERT INTO app.t VALUES (0, 2, 'y')")
	second.waitFor(t, "the second replicate caught up", 3*time.Minute, caughtUp(src, dst))
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-second.exited; err != nil {
		t.Fatalf("the second replicate: %v\n%s", err, second.stderr.String())
	}
	if want, got := definition(t, src, "t"), definition(t, dst, "t"); want != got {
		t.Errorf("app.t is defined differently:\nsource %s\ntarget %s\n%s", want, got, second.stderr.String())
	}
}
