package privileges

import (
	"strings"
	"testing"
)

// In a database-level GRANT, _ and % are wildcards: the printed grants
// escape a database name's (`\_switcharoo`.*, which reaches _switcharoo
// alone; `_switcharoo`.* would reach xswitcharoo too), keep a pattern
// from replication.databases as it is, and leave a table's database as
// written (wildcards mean nothing there).
func TestObjectEscapesDatabaseWildcards(t *testing.T) {
	for _, tc := range []struct {
		on   Object
		want string
	}{
		{Database("_switcharoo"), "`\\_switcharoo`.*"},
		{Database("_switcharoo_reverse"), "`\\_switcharoo\\_reverse`.*"},
		{Database("50%off"), "`50\\%off`.*"},
		{Database(`back\slash`), "`back\\\\slash`.*"},
		{Database("app"), "`app`.*"},
		{Database("we`ird_"), "`we``ird\\_`.*"},
		{DatabasePattern(`shop\_%`), "`shop\\_%`.*"},
		{Object{DB: "_switcharoo", Table: "probe"}, "`_switcharoo`.`probe`"},
		{Global, "*.*"},
	} {
		if got := tc.on.String(); got != tc.want {
			t.Errorf("%#v: %s, want %s", tc.on, got, tc.want)
		}
	}
}

// The checker reads a database grant as the pattern it is: the escaped
// grant covers the name it escapes and nothing else; an unescaped one (an
// old grant, read back) covers its name too, and the names its wildcards
// reach; a pattern the config asks for is covered only by a grant that
// reaches every name it does. With MySQL 8.0's partial_revokes, an
// unescaped wildcard is the character itself.
func TestHasDatabasePatterns(t *testing.T) {
	cases := []struct {
		grant    string // the database of GRANT SELECT ON `…`.*
		literal  bool   // partial_revokes
		has, not []Object
	}{
		{`\_switcharoo`, false,
			[]Object{Database("_switcharoo"), DatabasePattern(`\_switcharoo`), {DB: "_switcharoo", Table: "probe"}},
			[]Object{Database("xswitcharoo"), Database(`\_switcharoo`), DatabasePattern("_switcharoo"), {DB: "xswitcharoo", Table: "probe"}}},
		{"_switcharoo", false,
			[]Object{Database("_switcharoo"), Database("xswitcharoo"), DatabasePattern(`\_switcharoo`), DatabasePattern("_switcharoo")},
			[]Object{Database("switcharoo"), Database("_switcharoo_reverse")}},
		{"app%", false,
			[]Object{Database("app"), Database("app_eu"), Database("app%"), DatabasePattern(`app\_%`), DatabasePattern("app%"), DatabasePattern("app_")},
			[]Object{Database("ap"), Database("xapp"), DatabasePattern("%"), DatabasePattern("a%")}},
		{`shop\_%`, false,
			[]Object{Database("shop_eu"), Database("shop_"), DatabasePattern(`shop\_eu`), DatabasePattern(`shop\_%`)},
			[]Object{Database("shopxeu"), Database("shop"), DatabasePattern("shop_%"), DatabasePattern("shop%")}},
		{`a\%b`, false,
			[]Object{Database("a%b"), DatabasePattern(`a\%b`)},
			[]Object{Database("axb"), Database("ab"), DatabasePattern("a%b")}},
		{"%", false,
			[]Object{Database("anything"), Database(""), DatabasePattern("%"), DatabasePattern("a_%")},
			nil},
		{"app%", true,
			[]Object{Database("app%"), DatabasePattern(`app\%`)},
			[]Object{Database("app"), Database("app_eu"), DatabasePattern("app%")}},
		{`\_switcharoo`, true,
			[]Object{Database("_switcharoo")},
			[]Object{Database("xswitcharoo")}},
	}
	for _, tc := range cases {
		g := parse([]string{"GRANT SELECT ON `" + tc.grant + "`.* TO `u`@`%`"})
		g.literalWildcards = tc.literal
		for _, on := range tc.has {
			if on.DB == "" {
				continue // *.* is not a database grant's
			}
			if !g.Has(Grant{"SELECT", on}) {
				t.Errorf("grant on `%s`.* (partial_revokes %v) does not cover %#v", tc.grant, tc.literal, on)
			}
		}
		for _, on := range tc.not {
			if g.Has(Grant{"SELECT", on}) {
				t.Errorf("grant on `%s`.* (partial_revokes %v) covers %#v", tc.grant, tc.literal, on)
			}
		}
	}
}

// A partial revoke takes a global privilege from the database it names,
// and from a wanted pattern that reaches that database.
func TestPartialRevokeAndPatterns(t *testing.T) {
	g := parse(mysql80Revoke)
	for on, want := range map[Object]bool{
		Database("mysql"): false, DatabasePattern("m%"): false, DatabasePattern("mysq_"): false,
		Database("app"): true, DatabasePattern(`app\_%`): true, Database("mysqlx"): true,
	} {
		if got := g.Has(Grant{"INSERT", on}); got != want {
			t.Errorf("INSERT on %#v: %v, want %v", on, got, want)
		}
	}
}

// What `switcharoo grants` prints, read back as SHOW GRANTS would show
// it, satisfies every need of the night: the escaped names and the
// patterns included, and no database grant is left with a bare _.
func TestStatementsReadBackSatisfyTheNight(t *testing.T) {
	n := night("mariadb-10.11", "mariadb-10.11", false)
	n.Schema, n.ReverseSchema = "_switcharoo", "_switcharoo_reverse"
	n.SourceDBs = []Object{DatabasePattern(GrantPattern("shop_*")), DatabasePattern(GrantPattern("app"))}
	n.TargetDBs = n.SourceDBs
	text := Statements(n.Needs(), func(k Key) string { return DefaultAccount(k.User) })
	lines := map[Key][]string{}
	var side string
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "-- source "), strings.HasPrefix(l, "-- target "):
			side = strings.Fields(l)[1]
		case strings.HasPrefix(l, "GRANT "):
			user := l[strings.LastIndex(l, " TO '")+len(" TO '"):]
			user = user[:strings.Index(user, "'")]
			lines[Key{side, user}] = append(lines[Key{side, user}], strings.TrimSuffix(l, ";"))
			if strings.Contains(l, "ON `_") && !strings.Contains(l, "`.`") {
				t.Errorf("an unescaped _ in a database grant: %s", l)
			}
		}
	}
	for _, want := range []string{"ON `\\_switcharoo`.*", "ON `\\_switcharoo\\_reverse`.*", "ON `shop\\_%`.*", "ON `_switcharoo`.`probe`"} {
		if !strings.Contains(text, want) {
			t.Errorf("statements lack %q:\n%s", want, text)
		}
	}
	held := map[Key]*Grants{}
	for k, l := range lines {
		held[k] = parse(l)
		held[k].Account = DefaultAccount(k.User)
	}
	if len(held) != 4 {
		t.Fatalf("grants for %d users, want 4 (repl, admin, and the probe's app on both):\n%s", len(held), text)
	}
	gaps, undecided := Check(n.Needs(), held)
	if len(gaps)+len(undecided) != 0 {
		t.Errorf("the printed grants leave gaps %v, undecided %v:\n%s", gaps, undecided, text)
	}
	// The needs as the live check makes them: names, not patterns.
	n.SourceDBs = []Object{Database("shop_eu"), Database("app")}
	n.TargetDBs = n.SourceDBs
	if gaps, _ := Check(n.Needs(), held); len(gaps) != 0 {
		t.Errorf("the printed grants leave gaps for the live databases: %v", gaps)
	}
}
