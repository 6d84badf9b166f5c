package binlog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// guardRig is one server with an app schema, a checkpoint schema and the
// predicate of replicated tables (app.*).
func guardRig(t *testing.T) (*sql.DB, func(catalog.TableName) bool) {
	t.Helper()
	m := sandboxtest.Start(t)
	db := sandboxtest.DB(t, m, "")
	sandboxtest.Exec(t, db,
		"CREATE DATABASE IF NOT EXISTS app", "CREATE DATABASE _sw", "CREATE DATABASE other",
		"CREATE TABLE other.i (id INT PRIMARY KEY AUTO_INCREMENT) ENGINE=InnoDB",
		"CREATE TABLE other.m (id INT PRIMARY KEY AUTO_INCREMENT) ENGINE=MyISAM",
		"CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT) ENGINE=InnoDB",
		"CREATE TABLE app.m (id INT PRIMARY KEY AUTO_INCREMENT, v INT) ENGINE=MyISAM",
		"CREATE TABLE _sw.checkpoint (id INT PRIMARY KEY, n INT) ENGINE=InnoDB",
		"INSERT INTO _sw.checkpoint VALUES (1, 0)")
	return db, func(t catalog.TableName) bool { return t.DB == "app" }
}

func dumpEvents(t *testing.T, db *sql.DB, from Position) string {
	var b strings.Builder
	files, _ := binaryLogs(context.Background(), db)
	for _, f := range files {
		if f < from.File {
			continue
		}
		p := uint32(4)
		if f == from.File {
			p = from.Pos
		}
		evs, err := binlogEvents(context.Background(), db, f, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			fmt.Fprintf(&b, "%s %d-%d %s %q\n", f, e.pos, e.end, e.typ, e.info)
		}
	}
	return b.String()
}

// An XA transaction (XA START ... XA PREPARE ... XA COMMIT) is binlogged
// by MariaDB ≥ 10.5 and MySQL ≥ 5.7.7 in two parts, without a BEGIN: its
// rows are a foreign write all the same.
func TestForeignWritesXA(t *testing.T) {
	ctx := context.Background()
	db, replicated := guardRig(t)
	from, err := CurrentPosition(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"XA START 'x1'", "INSERT INTO app.t (v) VALUES (1)", "XA END 'x1'", "XA PREPARE 'x1'", "XA COMMIT 'x1'"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, q := range []string{"XA START 'x2'", "INSERT INTO app.t (v) VALUES (2)", "XA END 'x2'", "XA COMMIT 'x2' ONE PHASE"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, found, err := ForeignWrites(ctx, db, from, "_sw", replicated)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 || found[0].Tables[0] != "app.t" {
		t.Errorf("an XA transaction writing app.t: found %v, want it\n%s", found, dumpEvents(t, db, from))
	}
}

// A binlog file purged before the scan reached it hides whatever was
// written there: the scan must say so, not report "no foreign write".
func TestForeignWritesPurgedFile(t *testing.T) {
	ctx := context.Background()
	db, replicated := guardRig(t)
	from, err := CurrentPosition(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.Exec(t, db, "INSERT INTO app.t (v) VALUES (1)", "FLUSH BINARY LOGS")
	now, err := CurrentPosition(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	// MariaDB keeps a file until its binlog checkpoint moves past it.
	for i := 0; ; i++ {
		sandboxtest.Exec(t, db, "PURGE BINARY LOGS TO '"+now.File+"'")
		files, err := binaryLogs(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if files[0] == now.File {
			break
		}
		if i == 50 {
			t.Fatalf("%s not purged: %v", from.File, files)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, found, err := ForeignWrites(ctx, db, from, "_sw", replicated)
	if err == nil {
		t.Errorf("a scan from %s, purged: no error, found %v; want an error naming the purged file", from, found)
	}
}

// What holds: MyISAM writes, rotation, transactions over several pages,
// a transaction writing the checkpoint and an app table (ours).
func TestForeignWritesShapes(t *testing.T) {
	ctx := context.Background()
	db, replicated := guardRig(t)
	from, err := CurrentPosition(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.Exec(t, db,
		"INSERT INTO app.m (v) VALUES (1)",                                                           // 1: MyISAM
		"BEGIN", "INSERT INTO app.t (v) VALUES (1)", "UPDATE _sw.checkpoint SET n = n + 1", "COMMIT", // ours
		"FLUSH BINARY LOGS",
		"CREATE TABLE app.x (id INT PRIMARY KEY)",
		"INSERT INTO app.t (v) VALUES (2)", // 2: InnoDB autocommit
	)
	// A transaction of ~12000 row events: several pages.
	conn, _ := db.Conn(ctx)
	defer conn.Close()
	conn.ExecContext(ctx, "SET SESSION binlog_row_event_max_size = 256")
	conn.ExecContext(ctx, "BEGIN")
	for i := 0; i < 120; i++ {
		if _, err := conn.ExecContext(ctx, "INSERT INTO app.t (v) SELECT seq FROM app.seq_1_to_100"); err != nil {
			t.Fatal(err)
		}
	}
	conn.ExecContext(ctx, "UPDATE _sw.checkpoint SET n = n + 1")
	conn.ExecContext(ctx, "COMMIT")
	conn.ExecContext(ctx, "BEGIN")
	for i := 0; i < 120; i++ {
		if _, err := conn.ExecContext(ctx, "INSERT INTO app.t (v) SELECT seq FROM app.seq_1_to_100"); err != nil {
			t.Fatal(err)
		}
	}
	conn.ExecContext(ctx, "COMMIT") // 3: a big foreign one
	next, found, err := ForeignWrites(ctx, db, from, "_sw", replicated)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 {
		t.Errorf("found %d: %v, want 3", len(found), found)
	}
	_, again, err := ForeignWrites(ctx, db, next, "_sw", replicated)
	if err != nil || len(again) != 0 {
		t.Errorf("from next %s: %v %v", next, again, err)
	}
}

// ROLLBACK TO SAVEPOINT is binlogged (when a non-transactional table was
// changed since the savepoint) inside the transaction: it does not end it.
func TestForeignWritesRollbackToSavepoint(t *testing.T) {
	ctx := context.Background()
	db, replicated := guardRig(t)
	from, err := CurrentPosition(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"BEGIN", "INSERT INTO other.i VALUES (NULL)", "SAVEPOINT s", "INSERT INTO other.m VALUES (NULL)", "ROLLBACK TO SAVEPOINT s",
		"INSERT INTO app.t (v) VALUES (1)", "COMMIT"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, found, err := ForeignWrites(ctx, db, from, "_sw", replicated)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Errorf("a transaction writing app.t after a ROLLBACK TO SAVEPOINT: found %v, want it\n%s", found, dumpEvents(t, db, from))
	}
}
