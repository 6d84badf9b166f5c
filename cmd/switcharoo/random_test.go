package main

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// randomSchema has a column of every type, on the two apply paths: allt
// has a second unique key (a statement per change), kv one key (net
// changes); both have BINARY keys that often end in zero bytes. parent and
// child are bound by a foreign key with a cascade.
var randomSchema = []string{"CREATE DATABASE app",
	`CREATE TABLE app.allt (id BINARY(16) NOT NULL PRIMARY KEY, u INT NULL UNIQUE,
		ti TINYINT, su SMALLINT UNSIGNED, mi MEDIUMINT, bu BIGINT UNSIGNED, de DECIMAL(20,6), f FLOAT, d DOUBLE, bt BIT(13),
		e ENUM('', 'a', 'b'), st SET('x', 'y', ''), c CHAR(5), vl VARCHAR(50) CHARACTER SET latin1, tx TEXT CHARACTER SET utf8mb4,
		bn BINARY(4), vb VARBINARY(20), bl BLOB, dt DATE, tm TIME(3), dtt DATETIME(6), ts TIMESTAMP(2) NULL DEFAULT NULL,
		y YEAR, y2 YEAR(2), j JSON, g GEOMETRY NULL)`,
	"CREATE TABLE app.kv (k BINARY(8) NOT NULL PRIMARY KEY, v VARBINARY(100), n INT NOT NULL)",
	"CREATE TABLE app.parent (id INT PRIMARY KEY, name VARCHAR(20))",
	"CREATE TABLE app.child (id INT PRIMARY KEY, pid INT, n INT NOT NULL DEFAULT 0, FOREIGN KEY (pid) REFERENCES app.parent (id) ON DELETE CASCADE)",
}

// Random transactions over every column type, primary and unique key
// changes, and foreign keys with checks on and off, while replicate is
// SIGKILLed at random moments: once it has caught up, every table of the
// target holds the source's bytes. SWITCHAROO_RANDOM_SEED repeats a run;
// SWITCHAROO_RANDOM_KILLS sets the number of kills (8).
func TestRandomTransactionsUnderSIGKILL(t *testing.T) {
	randomTransactions(t, envInt(t, "SWITCHAROO_RANDOM_KILLS", 8))
}

// The same with replication.compare_before_image: every before-image of
// every type matches the target's row (no false divergence), through
// kills too.
func TestRandomTransactionsComparingBeforeImages(t *testing.T) {
	randomTransactions(t, 2, "compare_before_image: true")
}

// randomTransactions runs random transactions while replicate, configured
// with extra replication settings, is SIGKILLed kills times, then compares
// the sides.
func randomTransactions(t *testing.T, kills int, extra ...string) {
	seed := uint64(envInt(t, "SWITCHAROO_RANDOM_SEED", int(time.Now().UnixNano()%1_000_000)))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d: SWITCHAROO_RANDOM_SEED=%d repeats this run's transactions", seed, seed)
		}
	})
	servers := sandboxtest.StartN(t, 2, sandboxtest.With("sql_mode=''"))
	src, dst := sandboxtest.DB(t, servers[0], ""), sandboxtest.DB(t, servers[1], "")
	sandboxtest.Exec(t, src, randomSchema...)
	gen := &randomTx{rng: rand.New(rand.NewPCG(seed, 3))}
	for range 300 {
		if _, err := execTx(src, gen.next()); err != nil {
			t.Fatal(err)
		}
	}
	config := replicationConfig(t, servers[0], servers[1], append([]string{"workers: 2", "copy_chunk_rows: 50", "allow_no_key: []"}, extra...)...)

	var stop atomic.Bool
	var committed, rolledBack atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		w := &randomTx{rng: rand.New(rand.NewPCG(seed, 4))}
		for !stop.Load() {
			ok, err := execTx(src, w.next())
			switch {
			case err != nil:
				t.Error(err)
				return
			case ok:
				committed.Add(1)
			default:
				rolledBack.Add(1)
			}
		}
	})
	t.Cleanup(func() { stop.Store(true); wg.Wait() }) // before the servers go
	rng := rand.New(rand.NewPCG(seed, 5))
	for i := range kills {
		start := checkpointOf(dst)
		p := startBinary(t, "--log-format", "json", "-c", config, "replicate")
		p.waitFor(t, fmt.Sprintf("progress before kill %d", i+1), time.Minute, func() bool {
			cp := checkpointOf(dst)
			return cp.Phase != "" && (cp.Phase != start.Phase || cp.Position.Compare(start.Position) > 0)
		})
		if ended, err := p.killAfter(t, time.Duration(rng.IntN(400))*time.Millisecond); ended {
			t.Fatalf("replicate ended before kill %d: %v\n%s", i+1, err, p.stderr.String())
		}
	}
	stop.Store(true)
	wg.Wait()
	if r := runBinary(t, "-c", config, "replicate", "--until-caught-up"); r.code != 0 {
		t.Fatalf("the last replicate: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("%d transactions committed, %d rolled back; replicate SIGKILLed %d times", committed.Load(), rolledBack.Load(), kills)
	for _, table := range []string{"allt", "kv", "parent", "child"} {
		q := "SELECT * FROM app." + table + " ORDER BY 1"
		want, got := sandboxtest.Dump(t, src, q), sandboxtest.Dump(t, dst, q)
		sandboxtest.Count(t, "rows compared, source against target", int64(len(want)))
		if !slices.Equal(want, got) {
			t.Errorf("app.%s differs: source %d rows, target %d", table, len(want), len(got))
		}
	}
	if r := runBinary(t, "-c", config, "verify", "--fenced"); r.code != 0 {
		t.Errorf("verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// execTx runs a transaction's statements on one session; false when the
// server refused one (a duplicate key, a missing parent) and it was
// rolled back.
func execTx(db *sql.DB, statements []string) (bool, error) {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	for _, s := range statements {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				return false, err
			}
			_, err := conn.ExecContext(ctx, "SET SESSION foreign_key_checks = 1, unique_checks = 1")
			return false, err
		}
	}
	return true, nil
}

// randomTx writes random transactions.
type randomTx struct {
	rng *rand.Rand
}

// next is a transaction: BEGIN, one to four changes, COMMIT; some under
// foreign_key_checks=0.
func (g *randomTx) next() []string {
	noChecks := g.rng.IntN(8) == 0
	var tx []string
	if noChecks {
		tx = append(tx, "SET SESSION foreign_key_checks = 0")
	}
	tx = append(tx, "BEGIN")
	for range 1 + g.rng.IntN(4) {
		tx = append(tx, g.change(noChecks))
	}
	tx = append(tx, "COMMIT")
	if noChecks {
		tx = append(tx, "SET SESSION foreign_key_checks = 1")
	}
	return tx
}

func (g *randomTx) change(noChecks bool) string {
	r := g.rng
	switch r.IntN(10) {
	case 0, 1:
		return "INSERT INTO app.allt VALUES (" + g.id(16) + "," + g.unique() + "," + strings.Join(g.values(), ",") + ")"
	case 2, 3:
		vals, cols := g.values(), allColumns[2:]
		var set []string
		for range 1 + r.IntN(4) {
			i := r.IntN(len(cols))
			set = append(set, cols[i]+"="+vals[i])
		}
		return "UPDATE app.allt SET " + strings.Join(set, ",") + " WHERE id = " + g.id(16)
	case 4:
		if r.IntN(2) == 0 {
			return "UPDATE app.allt SET id = " + g.id(16) + " WHERE id = " + g.id(16)
		}
		return "UPDATE app.allt SET u = " + g.unique() + " WHERE id = " + g.id(16)
	case 5:
		return "DELETE FROM app.allt WHERE id = " + g.id(16)
	case 6:
		switch r.IntN(4) {
		case 0:
			return "DELETE FROM app.kv WHERE k = " + g.id(8)
		case 1:
			return "UPDATE app.kv SET k = " + g.id(8) + " WHERE k = " + g.id(8)
		}
		return fmt.Sprintf("INSERT INTO app.kv VALUES (%s, %s, %d) ON DUPLICATE KEY UPDATE v = VALUES(v), n = n + 1", g.id(8), g.bytes(100), r.IntN(1000))
	case 7:
		if noChecks && r.IntN(2) == 0 { // a child before its parent
			return fmt.Sprintf("INSERT INTO app.child VALUES (%d, %d, 0)", r.IntN(500), r.IntN(60))
		}
		return fmt.Sprintf("INSERT INTO app.parent VALUES (%d, 'p%d')", r.IntN(60), r.IntN(100))
	case 8:
		// With checks on, a cascade the binlog does not hold; off, orphans.
		return fmt.Sprintf("DELETE FROM app.parent WHERE id = %d", r.IntN(60))
	default:
		if r.IntN(2) == 0 {
			return fmt.Sprintf("INSERT INTO app.child VALUES (%d, %d, 0)", r.IntN(500), r.IntN(60))
		}
		return fmt.Sprintf("UPDATE app.child SET n = n + 1 WHERE pid = %d", r.IntN(60))
	}
}

// allColumns are app.allt's columns, in order.
var allColumns = []string{"id", "u", "ti", "su", "mi", "bu", "de", "f", "d", "bt", "e", "st", "c", "vl", "tx", "bn", "vb", "bl", "dt", "tm", "dtt", "ts", "y", "y2", "j", "g"}

// id is a key of n bytes from a small space, mostly ending in zero bytes.
func (g *randomTx) id(n int) string {
	b := make([]byte, n)
	b[0] = byte(g.rng.IntN(12))
	if g.rng.IntN(3) == 0 {
		b[1] = byte(g.rng.IntN(3))
	}
	if g.rng.IntN(10) == 0 {
		b[n-1] = 1
	}
	return "x'" + hex.EncodeToString(b) + "'"
}

func (g *randomTx) unique() string {
	if g.rng.IntN(4) == 0 {
		return "NULL"
	}
	return fmt.Sprint(g.rng.IntN(200))
}

func (g *randomTx) bytes(max int) string {
	b := make([]byte, g.rng.IntN(max+1))
	for i := range b {
		if g.rng.IntN(3) > 0 {
			b[i] = byte(g.rng.Uint32())
		}
	}
	return "x'" + hex.EncodeToString(b) + "'"
}

// values are random values of app.allt's columns from ti on, NULL now
// and then.
func (g *randomTx) values() []string {
	r := g.rng
	text := func(alphabet []string, n int) string {
		var s strings.Builder
		for range r.IntN(n + 1) {
			s.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return s.String()
	}
	utf8 := []string{"a", "Z", " ", "é", "ß", "中", "😀", "'", "\\"}
	date := func() string {
		if r.IntN(10) == 0 {
			return "0000-00-00"
		}
		return fmt.Sprintf("%04d-%02d-%02d", 1000+r.IntN(9000), 1+r.IntN(12), 1+r.IntN(28))
	}
	v := []string{
		fmt.Sprint(r.IntN(256) - 128),
		fmt.Sprint(r.IntN(65536)),
		fmt.Sprint(r.IntN(1<<24) - 1<<23),
		fmt.Sprint(r.Uint64()),
		fmt.Sprintf("%d.%06d", r.IntN(1<<40)-1<<39, r.IntN(1000000)),
		fmt.Sprintf("%g", float32(r.NormFloat64()*1e6)),
		fmt.Sprintf("%.17g", r.NormFloat64()*1e12),
		fmt.Sprint(r.IntN(8192)),
		[]string{"''", "'a'", "'b'", "0", "'bogus'"}[r.IntN(5)],
		fmt.Sprint(r.IntN(8)),
		"_utf8mb4 X'" + hex.EncodeToString([]byte(text(utf8, 5))) + "'",
		"_latin1 " + g.bytes(50),
		"_utf8mb4 X'" + hex.EncodeToString([]byte(text(utf8, 200))) + "'",
		g.bytes(4),
		g.bytes(20),
		g.bytes(3000),
		"'" + date() + "'",
		fmt.Sprintf("'%s%d:%02d:%02d.%03d'", []string{"", "-"}[r.IntN(2)], r.IntN(839), r.IntN(60), r.IntN(60), r.IntN(1000)),
		fmt.Sprintf("'%s %02d:%02d:%02d.%06d'", date(), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000000)),
		fmt.Sprintf("FROM_UNIXTIME(%d.%02d)", 1+r.IntN(2_000_000_000), r.IntN(100)),
		fmt.Sprint([]int{0, 1901, 2000, 2155, 1999}[r.IntN(5)]),
		fmt.Sprint([]int{0, 69, 70, 99, 2000, 1999}[r.IntN(6)]),
		fmt.Sprintf(`'{"n": %d, "s": "%s"}'`, r.IntN(1000), text([]string{"a", "é"}, 5)),
		fmt.Sprintf("ST_GeomFromText('POINT(%d %d)')", r.IntN(100), r.IntN(100)),
	}
	for i := range v {
		if r.IntN(10) == 0 {
			v[i] = "NULL"
		}
	}
	return v
}
