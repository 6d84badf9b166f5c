package binlog

import (
	"regexp"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/catalog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/privileges"
)

// dialectSQL is the SQL an applier for a target of flavor writes for rows
// with an ENUM error value beside utf8mb3 text (so every statement runs
// with strict mode off, its warnings counted) under on_divergence: log:
// an INSERT (an upsert), a big row's INSERT (its values as parameters),
// an UPDATE by key and an UPDATE of a table without a key. No server is
// involved: this is the text only.
func dialectSQL(t *testing.T, flavor string) string {
	t.Helper()
	kind, err := privileges.ParseFlavor(flavor)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Replication: config.Replication{CheckpointSchema: "_sw", OnDivergence: config.DivergenceLog}}
	r := &Replicator{cfg: cfg, filter: catalog.NewFilter(cfg.Replication), source: server{flavor: "mysql"}, target: server{kind: kind}}
	a, err := newApplier(r, nil, &Checkpoint{Position: Position{File: "bin.000001", Pos: 4}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.limits = limitsFor(4 << 20)
	text := func(name, typ string) catalog.Column {
		return catalog.Column{Name: name, DataType: strings.SplitN(typ, "(", 2)[0], Type: typ, Charset: "utf8", Nullable: true}
	}
	keyed := &catalog.Table{Name: catalog.TableName{DB: "app", Table: "k"}, Key: []int{0}, Columns: []catalog.Column{
		text("id", "varchar(20)"), text("e", "enum('a','b')"), text("l", "longtext")}}
	nokey := &catalog.Table{Name: catalog.TableName{DB: "app", Table: "n"}, Columns: []catalog.Column{
		text("s", "varchar(20)"), text("e", "enum('a','b')")}}
	for _, step := range []func() error{
		func() error { return a.insertRow(keyed, []any{"é", int64(0), "small"}) },
		func() error { return a.insertRow(keyed, []any{"ü", int64(0), strings.Repeat("€", 100_000)}) },
		func() error {
			return a.updateRow(keyed, []any{"é", int64(1), "small"}, []any{"é", int64(0), "changed"})
		},
		func() error { return a.updateRow(nokey, []any{"x", int64(1)}, []any{"x", int64(0)}) },
		a.closeStatement,
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	var all strings.Builder
	for _, s := range append(a.segs, segment{text: a.buf}) {
		all.Write(s.text)
		all.WriteString(s.query)
	}
	return all.String()
}

// Deprecated syntax MySQL 8.0 warns at as it parses: any name of utf8mb3
// (3719 at utf8, 1287 at utf8mb3), VALUES() in an upsert (1287 from
// 8.0.20), the BINARY operator (1287 from 8.0.27). In a statement sent
// with strict mode off, such a warning would be taken for a truncation.
var deprecatedOnMySQL8 = regexp.MustCompile("(?i)_utf8 |_utf8mb3|USING utf8\\)|USING utf8mb3|VALUES\\(|BINARY `")

// The statements that write rows are spelt for the target's version: on
// MySQL 8.0 (Aurora 3 too) without anything 8.0 warns at, on MySQL 5.6 (the
// target of reverse replication) as 5.6 has always taken them, on MariaDB
// with utf8mb3 text as utf8mb4 (so the real-server tests, on MariaDB,
// exercise MySQL 8.0's spelling of it) and VALUES() (MariaDB has no row
// alias). Only the text is tested here: there is no MySQL 8.0 server.
func TestStatementsSpeltForTheTargetVersion(t *testing.T) {
	rowAlias := "AS `switcharoo_new` ON DUPLICATE KEY UPDATE `id`=`switcharoo_new`.`id`,`e`=`switcharoo_new`.`e`,`l`=`switcharoo_new`.`l`"
	valuesFn := "ON DUPLICATE KEY UPDATE `id`=VALUES(`id`),`e`=VALUES(`e`),`l`=VALUES(`l`)"
	for _, tc := range []struct {
		flavor        string
		want, wantNot []string
		clean         bool // nothing MySQL 8.0 warns at
	}{
		{"mysql-8.0.32", []string{"_utf8mb4 X'c3a9'", "USING utf8mb4)", rowAlias}, []string{valuesFn}, true},
		{"aurora-3", []string{"_utf8mb4 X'c3a9'", "USING utf8mb4)", rowAlias}, []string{valuesFn}, true},
		// 8.0.19 has the row alias, but warns at VALUES() only from 8.0.20.
		{"mysql-8.0.19", []string{"_utf8mb4 X'c3a9'", "USING utf8mb4)", valuesFn}, []string{rowAlias}, false},
		{"mysql-5.6", []string{"_utf8 X'c3a9'", "USING utf8)", valuesFn}, []string{"_utf8mb4 X'c3a9'", rowAlias}, false},
		{"aurora-2", []string{"_utf8 X'c3a9'", "USING utf8)", valuesFn}, []string{"_utf8mb4 X'c3a9'", rowAlias}, false},
		{"mariadb-10.11", []string{"_utf8mb4 X'c3a9'", "USING utf8mb4)", valuesFn}, []string{"_utf8 ", rowAlias}, false},
	} {
		t.Run(tc.flavor, func(t *testing.T) {
			sql := dialectSQL(t, tc.flavor)
			for _, w := range append(tc.want, "CAST(`s` AS BINARY)<=>", "SET SESSION sql_mode='"+relaxedMode+"'", "SET "+saveCounts, "WHERE `id`=_utf8") {
				if !strings.Contains(sql, w) {
					t.Errorf("no %q in\n%s", w, sql)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(sql, w) {
					t.Errorf("%q in\n%s", w, sql)
				}
			}
			if bad := deprecatedOnMySQL8.FindString(sql); tc.clean && bad != "" {
				t.Errorf("%q, which MySQL 8.0 warns at, in\n%s", bad, sql)
			}
		})
	}
}
