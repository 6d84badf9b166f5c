package checks_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/checks"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// pair is a source and a target server with the same data, written to
// each directly.
type pair struct {
	t        *testing.T
	cfg      *config.Config
	src, dst *sql.DB
}

func newPair(t *testing.T) *pair {
	servers := sandboxtest.StartN(t, 2)
	cfg := sandboxtest.Config(servers[0], servers[1])
	cfg.Checks.Verify.ChunkRows = 100
	return &pair{t: t, cfg: cfg, src: sandboxtest.Open(t, cfg.Source), dst: sandboxtest.Open(t, cfg.Target)}
}

// both runs statements on both servers.
func (p *pair) both(statements ...string) {
	p.t.Helper()
	sandboxtest.Exec(p.t, p.src, statements...)
	sandboxtest.Exec(p.t, p.dst, statements...)
}

// target runs statements on the target only, outside its binlog, as a
// change behind replication's back would be.
func (p *pair) target(statements ...string) {
	p.t.Helper()
	sandboxtest.Exec(p.t, p.dst, "SET SESSION sql_log_bin = 0; "+strings.Join(statements, "; "))
}

func (p *pair) verify(opts ...func(*checks.VerifyOptions)) *checks.Report {
	p.t.Helper()
	o := checks.OptionsFrom(p.cfg)
	for _, f := range opts {
		f(&o)
	}
	r, err := checks.Verify(context.Background(), p.cfg, o, zerolog.Nop())
	if err != nil {
		p.t.Fatalf("verify: %v", err)
	}
	return r
}

const sampleTables = `CREATE DATABASE app;
CREATE TABLE app.accounts (id INT PRIMARY KEY, owner VARCHAR(40) NOT NULL, balance DECIMAL(12,2), note TEXT);
INSERT INTO app.accounts SELECT seq, CONCAT('o', seq), seq * 1.5, IF(seq % 7 = 0, NULL, REPEAT('n', seq % 30)) FROM mysql.seq_1_to_1000;
CREATE TABLE app.tags (name VARCHAR(30) NOT NULL, shard INT NOT NULL, hits BIGINT UNSIGNED, PRIMARY KEY (name, shard));
INSERT INTO app.tags SELECT CONCAT('tag', seq % 100), seq DIV 100, seq FROM mysql.seq_1_to_1000;
CREATE TABLE app.log (at DATETIME(6), msg VARCHAR(50));
INSERT INTO app.log SELECT '2024-01-01 00:00:00' + INTERVAL seq SECOND, CONCAT('m', seq) FROM mysql.seq_1_to_50`

func TestVerifyIdentical(t *testing.T) {
	p := newPair(t)
	p.both(sampleTables)
	r := p.verify()
	if !r.Identical || len(r.Differences) != 0 {
		t.Fatalf("identical data reported different: %+v", r.Differences)
	}
	if r.Tables != 3 || r.Rows != 2050 || r.Chunks < 10 || r.Mode != "static" {
		t.Errorf("tables=%d rows=%d chunks=%d mode=%s; want 3, 2050, >=10 chunks, static", r.Tables, r.Rows, r.Chunks, r.Mode)
	}
}

// Rows changed, deleted and added on the target behind replication's back
// are each found, with their keys, in tables with an integer key, a
// compound key and no key.
func TestVerifyFindsRows(t *testing.T) {
	p := newPair(t)
	p.both(sampleTables)
	p.target(
		"UPDATE app.accounts SET balance = balance + 0.01 WHERE id = 17",
		"UPDATE app.accounts SET note = '' WHERE id = 14", // NULL → ''
		"DELETE FROM app.accounts WHERE id = 500",
		"INSERT INTO app.accounts VALUES (5000, 'ghost', 0, NULL)",
		"UPDATE app.tags SET hits = 0 WHERE name = 'tag5' AND shard = 3",
		"DELETE FROM app.tags WHERE name = 'tag99' AND shard = 9",
		"UPDATE app.log SET msg = 'changed' WHERE msg = 'm7'",
	)
	r := p.verify()
	got := describe(r.Differences)
	want := []string{
		`different app.accounts {"id":14}`,
		`different app.accounts {"id":17}`,
		`missing app.accounts {"id":500}`,
		`extra app.accounts {"id":5000}`,
		`different app.tags {"name":"tag5","shard":3}`,
		`missing app.tags {"name":"tag99","shard":9}`,
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("not reported: %s", w)
		}
	}
	var logDiffs int
	for _, d := range r.Differences {
		if d.Table == "app.log" {
			logDiffs++
		}
	}
	if r.Identical || logDiffs != 2 || len(r.Differences) != len(want)+2 {
		t.Errorf("want %d differences (and a missing and an extra row in the keyless app.log), got:\n%s", len(want)+2, strings.Join(got, "\n"))
	}

	fast := p.verify(func(o *checks.VerifyOptions) { o.Fast = true })
	if fast.Identical || len(fast.Differences) == 0 {
		t.Fatalf("--fast found nothing")
	}
	for _, d := range fast.Differences {
		if d.Key != nil || !strings.Contains(d.Detail, "chunk") {
			t.Errorf("--fast reports chunks, not rows: %+v", d)
		}
	}

	only := p.verify(func(o *checks.VerifyOptions) { o.Tables = []string{"app.tags"} })
	if only.Tables != 1 || len(only.Differences) != 2 {
		t.Errorf("--tables app.tags: %d tables, %d differences; want 1 table, 2 differences", only.Tables, len(only.Differences))
	}
}

func describe(ds []checks.Difference) []string {
	var out []string
	for _, d := range ds {
		k, _ := json.Marshal(d.Key)
		out = append(out, fmt.Sprintf("%s %s %s", d.Kind, d.Table, k))
	}
	return out
}

// Values that are the same data in another form are equal; values that
// differ are different, however close their text.
func TestVerifyCanonicalEncoding(t *testing.T) {
	p := newPair(t)
	p.both("CREATE DATABASE app")
	cases := []struct {
		name               string
		srcType, dstType   string
		srcValue, dstValue string
		srcZone, dstZone   string
		same               bool
	}{
		{"null vs empty", "VARCHAR(10)", "VARCHAR(10)", "NULL", "''", "", "", false},
		{"empty vs empty", "VARCHAR(10)", "VARCHAR(10)", "''", "''", "", "", true},
		{"varchar trailing space", "VARCHAR(10)", "VARCHAR(10)", "'a'", "'a '", "", "", false},
		{"char pads", "CHAR(5)", "CHAR(5)", "'a'", "'a  '", "", "", true},
		{"decimal scale", "DECIMAL(5,1)", "DECIMAL(5,2)", "1.0", "1.00", "", "", true},
		{"decimal value", "DECIMAL(5,1)", "DECIMAL(5,2)", "1.0", "1.01", "", "", false},
		{"decimal integer", "DECIMAL(5,0)", "DECIMAL(5,0)", "10", "1", "", "", false},
		{"latin1 vs utf8mb4", "VARCHAR(10) CHARACTER SET latin1", "VARCHAR(10) CHARACTER SET utf8mb4", "'café'", "'café'", "", "", true},
		{"latin1 vs utf8mb4 other text", "VARCHAR(10) CHARACTER SET latin1", "VARCHAR(10) CHARACTER SET utf8mb4", "'café'", "'cafe'", "", "", false},
		{"timestamp same instant", "TIMESTAMP NULL", "TIMESTAMP NULL", "'2024-01-01 12:00:00'", "'2024-01-01 10:00:00'", "+02:00", "+00:00", true},
		{"timestamp other instant", "TIMESTAMP NULL", "TIMESTAMP NULL", "'2024-01-01 12:00:00'", "'2024-01-01 12:00:00'", "+02:00", "+00:00", false},
		{"datetime fraction scale", "DATETIME(6)", "DATETIME(3)", "'2024-01-01 00:00:00.5'", "'2024-01-01 00:00:00.500'", "", "", true},
		// MariaDB stores −0 as 0, so the data is the same; MySQL keeps −0,
		// and the canonical form keeps its sign.
		{"negative zero", "DOUBLE", "DOUBLE", "-0e0", "0e0", "", "", true},
		{"double", "DOUBLE", "DOUBLE", "0.1", "0.1", "", "", true},
		{"float precision", "FLOAT", "FLOAT", "1.2345678", "1.2345678", "", "", true},
		{"float value", "FLOAT", "FLOAT", "1.2345678", "1.2345679", "", "", false},
		{"binary zero bytes", "VARBINARY(10)", "VARBINARY(10)", "x'0000'", "x'00'", "", "", false},
	}
	for i, c := range cases {
		table := fmt.Sprintf("app.c%02d", i)
		insert := func(db *sql.DB, typ, value, zone string) {
			zoneSet := ""
			if zone != "" {
				zoneSet = fmt.Sprintf("SET SESSION time_zone = '%s'; ", zone)
			}
			sandboxtest.Exec(t, db, fmt.Sprintf("CREATE TABLE %s (id INT PRIMARY KEY, v %s)", table, typ),
				fmt.Sprintf("%sINSERT INTO %s VALUES (1, %s); SET SESSION time_zone = '+00:00'", zoneSet, table, value))
		}
		insert(p.src, c.srcType, c.srcValue, c.srcZone)
		insert(p.dst, c.dstType, c.dstValue, c.dstZone)
	}
	r := p.verify()
	differing := map[string]bool{}
	for _, d := range r.Differences {
		differing[d.Table] = true
	}
	for i, c := range cases {
		table := fmt.Sprintf("app.c%02d", i)
		if differing[table] == c.same {
			t.Errorf("%s: %s %s vs %s %s reported same=%v, want %v", c.name, c.srcType, c.srcValue, c.dstType, c.dstValue, !differing[table], c.same)
		}
	}
}

// A table on one side only, or with other columns, is reported, and the
// other tables are still compared.
func TestVerifyTablesThatDoNotMatch(t *testing.T) {
	p := newPair(t)
	p.both(sampleTables)
	sandboxtest.Exec(t, p.src, "CREATE TABLE app.only_source (id INT PRIMARY KEY)")
	sandboxtest.Exec(t, p.dst, "CREATE TABLE app.only_target (id INT PRIMARY KEY)")
	sandboxtest.Exec(t, p.src, "CREATE TABLE app.shape (id INT PRIMARY KEY, a INT)")
	sandboxtest.Exec(t, p.dst, "CREATE TABLE app.shape (id INT PRIMARY KEY, b INT)")
	p.target("UPDATE app.accounts SET owner = 'x' WHERE id = 3")
	r := p.verify()
	got := strings.Join(describe(r.Differences), "\n")
	for _, w := range []string{"missing app.only_source null", "extra app.only_target null", "different app.shape null", `different app.accounts {"id":3}`} {
		if !strings.Contains(got, w) {
			t.Errorf("not reported: %s\ngot:\n%s", w, got)
		}
	}
}

// Values that read alike as text but are stored apart: an ENUM's error
// value and its member ”, SET values with and without a member ”. The
// verifier tells them apart.
func TestVerifySeesAmbiguousText(t *testing.T) {
	p := newPair(t)
	p.both("CREATE DATABASE app", "CREATE TABLE app.amb (id INT PRIMARY KEY, e ENUM('', 'a'), s SET('', 'x'))",
		"SET SESSION sql_mode = ''; INSERT INTO app.amb VALUES (1, '', 'x'), (2, 'a', 'x')")
	if r := p.verify(); !r.Identical {
		t.Fatalf("identical data reported different: %+v", r.Differences)
	}
	p.target("SET SESSION sql_mode = ''", "UPDATE app.amb SET e = 0 WHERE id = 1", "UPDATE app.amb SET s = 3 WHERE id = 2")
	r := p.verify()
	if r.Identical || len(r.Differences) != 2 {
		t.Fatalf("want the two rows reported different, got identical=%v %+v", r.Identical, r.Differences)
	}
}
