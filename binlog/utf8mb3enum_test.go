package binlog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Rows with an ENUM error value beside utf8mb3 text, its key included,
// replicate under both on_divergence modes: their statements run with
// strict mode off, their warnings counted, and their utf8mb3 text is
// spelt as it is for MySQL 8.0 (as utf8mb4, which MySQL 8.0 takes without
// a warning; MariaDB is given that spelling too, so that it is run here on
// a real server; dialect_test.go tests the text for each version). The
// copy, the net changes' REPLACE, the upsert of on_divergence: log, an
// UPDATE by a utf8mb3 key matched in the column's collation, a big row's
// parameters, and the match of a row without a key (CAST(t AS BINARY))
// store the source's bytes; a value the target's column cannot hold still
// stops replication.
func TestEnumErrorValueBesideUtf8mb3Text(t *testing.T) {
	for _, mode := range []string{config.DivergenceStop, config.DivergenceLog} {
		t.Run(mode, func(t *testing.T) {
			r := newRig(t)
			r.cfg.Replication.OnDivergence = mode
			r.cfg.Replication.AllowNoKey = []string{"app.nokey"}
			const text = "CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci"
			r.source("CREATE DATABASE app",
				"CREATE TABLE app.net (id VARCHAR(20) "+text+" PRIMARY KEY, e ENUM('a', 'b') "+text+", t VARCHAR(20) "+text+", l LONGTEXT "+text+")",
				"CREATE TABLE app.stmt (id VARCHAR(20) "+text+" PRIMARY KEY, k BIGINT, e ENUM('a', 'b') "+text+", t VARCHAR(20) "+text+", l LONGTEXT "+text+", UNIQUE KEY (k))",
				"CREATE TABLE app.nokey (t VARCHAR(20) "+text+", e ENUM('a', 'b') "+text+", n INT)",
			)
			// As a non-strict source session stores them: 'bogus' is index 0.
			rows := func(base int) []string {
				return []string{
					fmt.Sprintf("SET SESSION sql_mode = ''; INSERT INTO app.net VALUES ('Ünï-%d', 'bogus', 'ça €', 'small'), ('é-%d', 'a', 'x', 'small'), ('ß-%d', 0, 'ü', REPEAT('€', 100000))", base, base, base),
					fmt.Sprintf("SET SESSION sql_mode = ''; INSERT INTO app.stmt SELECT id, CRC32(id), e, t, l FROM app.net WHERE id LIKE '%%-%d'", base),
					fmt.Sprintf("SET SESSION sql_mode = ''; INSERT INTO app.nokey VALUES ('Ça', 'bogus', %d), ('ça', 'b', %d)", base, base+1),
				}
			}
			r.source(rows(1)...)
			run := r.run(binlog.RunOptions{})
			r.waitCaughtUp(run)
			r.source(rows(2)...)
			r.source(
				// The key in another case: matched in the column's collation.
				"SET SESSION sql_mode = ''; UPDATE app.net SET e = 'bogus', t = 'naïve' WHERE id = 'é-1'",
				"SET SESSION sql_mode = ''; UPDATE app.stmt SET e = 'bogus', t = 'naïve' WHERE id IN ('é-1', 'é-2')",
				"SET SESSION sql_mode = ''; UPDATE app.stmt SET e = 'bogus', l = REPEAT('ü', 100001) WHERE id = 'Ünï-2'",
				// Matched byte for byte: 'Ça' and not 'ça'.
				"SET SESSION sql_mode = ''; UPDATE app.nokey SET e = 'bogus', n = n + 100 WHERE t = BINARY 'ça' AND n = 2",
				"SET SESSION sql_mode = ''; UPDATE app.nokey SET e = 'zzz' WHERE t = BINARY 'Ça' AND n = 1",
			)
			r.waitCaughtUp(run)
			for _, table := range []string{"net", "stmt"} {
				r.assertSameQuery("SELECT HEX(id), e + 0, HEX(t), MD5(l) FROM app." + table + " ORDER BY id")
			}
			r.assertSameQuery("SELECT HEX(t), e + 0, n FROM app.nokey ORDER BY n")
			if n := targetCount(t, r, "SELECT COUNT(*) FROM app.stmt WHERE e = 0"); n != 6 {
				t.Errorf("the target's app.stmt holds %d ENUM error values, want 6", n)
			}
			if n := targetCount(t, r, "SELECT COUNT(*) FROM "+r.cfg.Replication.CheckpointSchema+".divergence"); n != 0 {
				t.Errorf("%d divergences recorded", n)
			}
			// A utf8mb3 value too long for the target's column, beside an
			// ENUM error value, is a value truncated: a stop, whichever
			// way the text is spelt.
			sandboxtest.Exec(t, r.dstDB, "ALTER TABLE app.stmt MODIFY t VARCHAR(3) "+text)
			r.source("UPDATE app.stmt SET e = 'b' WHERE id = 'ß-1'",
				"SET SESSION sql_mode = ''; UPDATE app.stmt SET e = 'bogus', t = 'ééééé' WHERE id = 'ß-1'")
			if stop := r.waitStopped(run); !strings.Contains(stop.Error(), "strict mode off") {
				t.Errorf("want a stop for a value truncated with strict mode off, got %v", stop)
			}
			if n := targetCount(t, r, "SELECT COUNT(*) FROM app.stmt WHERE t = 'ééé'"); n != 0 {
				t.Errorf("the target holds %d truncated values", n)
			}
		})
	}
}
