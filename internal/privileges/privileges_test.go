package privileges

import (
	"slices"
	"strings"
	"testing"
)

// SHOW GRANTS as the flavors print it, for accounts switcharoo meets.
var (
	// A MySQL 5.6 replication/runbook user: quotes around the account, a
	// password hash after TO, db grants with escaped wildcards.
	mysql56 = []string{
		"GRANT RELOAD, PROCESS, SUPER, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'repl'@'10.%' IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
		"GRANT ALL PRIVILEGES ON `\\_switcharoo`.* TO 'repl'@'10.%'",
		"GRANT SELECT ON `shop\\_%`.* TO 'repl'@'10.%'",
	}
	// Aurora MySQL 3's master user: no SUPER, no SYSTEM_VARIABLES_ADMIN;
	// CONNECTION_ADMIN among its dynamic privileges; rds_superuser_role.
	aurora3Admin = []string{
		"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, CREATE ROLE, DROP ROLE ON *.* TO `admin`@`%` WITH GRANT OPTION",
		"GRANT APPLICATION_PASSWORD_ADMIN,CONNECTION_ADMIN,ROLE_ADMIN,SET_USER_ID,XA_RECOVER_ADMIN ON *.* TO `admin`@`%` WITH GRANT OPTION",
		"GRANT `rds_superuser_role`@`%` TO `admin`@`%`",
	}
	// MySQL 8.0 with partial_revokes: a global INSERT that stops at mysql.
	mysql80Revoke = []string{
		"GRANT SELECT, INSERT ON *.* TO `u`@`%`",
		"GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO `u`@`%`",
		"REVOKE INSERT ON `mysql`.* FROM `u`@`%`",
	}
	// MariaDB 10.11: split privileges, a current role's grants listed.
	mariadb1011 = []string{
		"GRANT `r1` TO `plain`@`%`",
		"GRANT SELECT, INSERT, SUPER ON *.* TO `plain`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122'",
		"GRANT `r2` TO `r1`",
		"GRANT RELOAD, BINLOG MONITOR ON *.* TO `r1`",
		"GRANT SELECT (`id`, `v`), INSERT ON `app`.`t` TO `r1`",
		"GRANT EXECUTE ON PROCEDURE `mysql`.`rds_kill` TO `r1`",
		"GRANT PROXY ON ''@'%' TO 'plain'@'%'",
		"SET DEFAULT ROLE `r1` FOR `plain`@`%`",
	}
)

func TestParseAndHas(t *testing.T) {
	cases := []struct {
		name     string
		lines    []string
		has, not []Grant
	}{
		{"MySQL 5.6", mysql56,
			[]Grant{{"SUPER", Global}, {"replication client", Global}, {"BINLOG MONITOR", Global}, {"DROP", Object{DB: "_switcharoo"}},
				{"SELECT", Object{DB: "shop_eu"}}, {"SELECT", Object{DB: "shop_eu", Table: "t"}}},
			[]Grant{{"INSERT", Object{DB: "shop_eu"}}, {"SELECT", Object{DB: "xswitcharoo"}}, {"CONNECTION_ADMIN", Global}}},
		{"Aurora MySQL 3 admin", aurora3Admin,
			[]Grant{{"CONNECTION_ADMIN", Global}, {"CONNECTION ADMIN", Global}, {"RELOAD", Global}, {"CREATE USER", Global}, {"INSERT", Object{DB: "app"}}},
			[]Grant{{"SUPER", Global}, {"SYSTEM_VARIABLES_ADMIN", Global}}},
		{"MySQL 8.0 partial revoke", mysql80Revoke,
			[]Grant{{"INSERT", Object{DB: "app"}}, {"SELECT", Object{DB: "mysql"}}, {"SYSTEM_VARIABLES_ADMIN", Global}},
			[]Grant{{"INSERT", Object{DB: "mysql"}}}},
		{"MariaDB 10.11 with a role", mariadb1011,
			[]Grant{{"REPLICATION CLIENT", Global}, {"RELOAD", Global}, {"SUPER", Global}, {"INSERT", Object{DB: "app", Table: "t"}},
				{"EXECUTE", Object{DB: "mysql", Table: "rds_kill"}}},
			[]Grant{{"READ_ONLY ADMIN", Global}, {"UPDATE", Object{DB: "app", Table: "u"}}, {"UPDATE", Object{DB: "app", Table: "t"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := parse(tc.lines)
			for _, w := range tc.has {
				if !g.Has(w) {
					t.Errorf("%s on %s: not found", w.Priv, w.On)
				}
			}
			for _, w := range tc.not {
				if g.Has(w) {
					t.Errorf("%s on %s: found, but not granted", w.Priv, w.On)
				}
			}
		})
	}
}

func TestParseFlavor(t *testing.T) {
	for name, want := range map[string]string{
		"mysql-5.6": "MySQL 5.6.0", "aurora-3": "Aurora MySQL 3 (MySQL 8.0.23)", "MariaDB-10.11.6": "MariaDB 10.11.6", "aurora-2": "Aurora MySQL 2 (MySQL 5.7.12)",
	} {
		f, err := ParseFlavor(name)
		if err != nil || f.String() != want {
			t.Errorf("ParseFlavor(%q) = %v, %v; want %s", name, f, err, want)
		}
	}
	for _, bad := range []string{"", "mysql", "postgres-15", "aurora-4", "mysql-8.x"} {
		if _, err := ParseFlavor(bad); err == nil {
			t.Errorf("ParseFlavor(%q) accepted", bad)
		}
	}
	if v := parseVersion("5.5.5-10.11.6-MariaDB-log"); v != [3]int{10, 11, 6} {
		t.Errorf("parseVersion: %v", v)
	}
}

// night is the reference night between the given flavors.
func night(src, dst string, appUsers bool) Night {
	fs, _ := ParseFlavor(src)
	fd, _ := ParseFlavor(dst)
	return Night{
		Source: Side{Name: "source", Addr: "old:3306", User: "repl", Flavor: fs},
		Target: Side{Name: "target", Addr: "new:3306", User: "admin", Flavor: fd},
		Schema: "_switcharoo", ReverseSchema: "_switcharoo_reverse", SourceDBs: []Object{Database("app")}, TargetDBs: []Object{Database("app")},
		AppUsers: appUsers, Heartbeat: true, DDL: true, Probe: "app",
	}
}

// privs lists, per side and user, the first-choice privileges on *.* of
// the needs for a feature (a substring of For).
func privs(needs []Need, side, user, feature string) []string {
	var out []string
	for _, n := range needs {
		if n.Side.Name == side && n.User == user && strings.Contains(n.For, feature) {
			for _, g := range n.Any {
				out = append(out, g.Priv+" "+g.On.String())
			}
			if n.Impossible != "" {
				out = append(out, "IMPOSSIBLE")
			}
		}
	}
	return out
}

// The derivation table, per flavor: the privileges each statement needs.
func TestNightNeedsPerFlavor(t *testing.T) {
	cases := []struct {
		name              string
		src, dst          string
		appUsers          bool
		side, user, which string
		want              []string
	}{
		{"5.6 source read_only", "mysql-5.6", "aurora-3", true, "source", "repl", "SET GLOBAL read_only", []string{"SUPER *.*"}},
		{"8.0 source read_only", "mysql-8.0", "aurora-3", true, "source", "repl", "SET GLOBAL read_only", []string{"SYSTEM_VARIABLES_ADMIN *.*", "SUPER *.*"}},
		{"MariaDB 10.11 source read_only", "mariadb-10.11", "mariadb-10.11", false, "source", "repl", "SET GLOBAL read_only", []string{"READ_ONLY ADMIN *.*"}},
		{"MariaDB 10.6 source read_only", "mariadb-10.6", "mariadb-10.11", false, "source", "repl", "SET GLOBAL read_only", []string{"READ_ONLY ADMIN *.*", "SUPER *.*"}},
		{"Aurora target read_only", "mysql-5.6", "aurora-3", false, "target", "admin", "SET GLOBAL read_only", []string{"SUPER *.*", "IMPOSSIBLE"}},
		{"5.6 source kill", "mysql-5.6", "aurora-3", true, "source", "repl", "kill the remaining", []string{"SUPER *.*"}},
		{"Aurora 3 target kill", "mysql-5.6", "aurora-3", true, "target", "admin", "kill the application", []string{"CONNECTION_ADMIN *.*", "SUPER *.*", "EXECUTE `mysql`.`rds_kill`"}},
		{"Aurora 2 target kill", "mysql-5.6", "aurora-2", true, "target", "admin", "kill the application", []string{"EXECUTE `mysql`.`rds_kill`"}},
		{"MariaDB 10.11 kill", "mariadb-10.11", "mariadb-10.11", false, "source", "repl", "kill the remaining", []string{"CONNECTION ADMIN *.*", "SUPER *.*"}},
		{"MariaDB 11.4 kill", "mariadb-11.4", "mariadb-11.4", false, "source", "repl", "kill the remaining", []string{"CONNECTION ADMIN *.*"}},
		{"5.6 position", "mysql-5.6", "aurora-3", true, "source", "repl", "fenced binlog position", []string{"REPLICATION CLIENT *.*", "SUPER *.*"}},
		{"MariaDB position", "mariadb-10.11", "mariadb-10.11", true, "source", "repl", "fenced binlog position", []string{"BINLOG MONITOR *.*", "SUPER *.*"}},
		{"account lock on Aurora", "mysql-5.6", "aurora-3", true, "target", "admin", "ACCOUNT UNLOCK", []string{"CREATE USER *.*"}},
		{"account lock on 5.6", "mysql-5.6", "mysql-5.6", true, "target", "admin", "ACCOUNT UNLOCK", []string{"CREATE USER *.*", "IMPOSSIBLE"}},
		{"reverse writes through the 5.6 source's read_only", "mysql-5.6", "aurora-3", true, "source", "repl", "reverse replication: write while", []string{"SUPER *.*"}},
		{"reverse writes through MariaDB 10.11's read_only", "mariadb-10.11", "mariadb-10.11", true, "source", "repl", "reverse replication: write while", []string{"READ_ONLY ADMIN *.*"}},
		{"reverse reads Aurora's binlog", "mysql-5.6", "aurora-3", true, "target", "admin", "reverse replication: read the binlog", []string{"REPLICATION SLAVE *.*"}},
		{"reverse's checkpoint on the source", "mysql-5.6", "aurora-3", true, "source", "repl", "checkpoint, status and control rows in _switcharoo_reverse", []string{
			"SELECT `\\_switcharoo\\_reverse`.*", "INSERT `\\_switcharoo\\_reverse`.*", "UPDATE `\\_switcharoo\\_reverse`.*", "DELETE `\\_switcharoo\\_reverse`.*",
			"CREATE `\\_switcharoo\\_reverse`.*", "DROP `\\_switcharoo\\_reverse`.*", "ALTER `\\_switcharoo\\_reverse`.*", "INDEX `\\_switcharoo\\_reverse`.*"}},
		{"DDL from 5.6 into MySQL 8", "mysql-5.6", "aurora-3", true, "target", "admin", "explicit_defaults_for_timestamp", []string{"SESSION_VARIABLES_ADMIN *.*", "SYSTEM_VARIABLES_ADMIN *.*", "SUPER *.*"}},
		{"no restricted session variable into MariaDB", "mysql-5.6", "mariadb-10.11", true, "target", "admin", "explicit_defaults_for_timestamp", nil},
		{"probe", "mysql-5.6", "aurora-3", true, "target", "app", "sql_probe", []string{"INSERT `_switcharoo`.`probe`"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := privs(night(tc.src, tc.dst, tc.appUsers).Needs(), tc.side, tc.user, tc.which)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// Aurora 3's master user passes the night as target (app_users fence),
// but for the restricted session variable a DDL from 5.6 needs; MariaDB
// 10.11's SUPER user misses READ_ONLY ADMIN.
func TestCheckRealAccounts(t *testing.T) {
	n := night("mysql-5.6", "aurora-3", true)
	n.DDL = false
	aurora := parse(aurora3Admin)
	aurora.Account = "`admin`@`%`"
	gaps, undecided := Check(n.Needs(), map[Key]*Grants{{"target", "admin"}: aurora})
	if len(gaps) != 0 || len(undecided) != 0 {
		t.Errorf("Aurora 3 admin as target: gaps %v, undecided %v", gaps, undecided)
	}

	m := night("mariadb-10.11", "mariadb-10.11", true)
	super := parse([]string{"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, SUPER, PROCESS, RELOAD, REPLICATION SLAVE, REPLICATION MASTER ADMIN ON *.* TO `repl`@`%`"})
	super.Account = "'repl'@'%'"
	gaps, _ = Check(m.Needs(), map[Key]*Grants{{"source", "repl"}: super})
	var lacks []string
	for _, g := range gaps {
		lacks = append(lacks, g.Any[0].Priv)
		if !strings.Contains(g.String(), "fix: GRANT "+g.Any[0].Priv+" ON *.* TO 'repl'@'%';") {
			t.Errorf("gap without its GRANT: %s", g)
		}
	}
	if !slices.Equal(lacks, []string{"READ_ONLY ADMIN"}) {
		t.Errorf("MariaDB 10.11 SUPER user lacks %v, want only READ_ONLY ADMIN (for read_only and for reverse replication's writes)", lacks)
	}

	unknown := parse(nil)
	unknown.Unknown = "its active roles could not be read"
	gaps, undecided = Check(m.Needs(), map[Key]*Grants{{"source", "repl"}: unknown})
	if len(gaps) != 0 || len(undecided) == 0 {
		t.Errorf("grants not readable whole: %d gaps, %d undecided; want only undecided", len(gaps), len(undecided))
	}
}

func TestStatements(t *testing.T) {
	out := Statements(night("mysql-5.6", "aurora-3", false).Needs(), func(k Key) string { return DefaultAccount(k.User) })
	for _, want := range []string{
		"-- source old:3306 (MySQL 5.6.0), user 'repl'@'%'",
		"GRANT SUPER, PROCESS, RELOAD, REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO 'repl'@'%';",
		"GRANT SELECT, INSERT, UPDATE, CREATE ON `\\_switcharoo`.* TO 'repl'@'%';",
		"-- NOT POSSIBLE: Aurora MySQL lets no user set read_only (its parameter group owns it); set cutover.app_users",
		"GRANT PROCESS, CONNECTION_ADMIN, SESSION_VARIABLES_ADMIN, REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO 'admin'@'%';",
		"GRANT INSERT ON `_switcharoo`.`probe` TO 'app'@'%';",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("statements lack %q:\n%s", want, out)
		}
	}
	// Aurora MySQL 2 kills through mysql.rds_kill, a procedure.
	out = Statements(night("mysql-5.6", "aurora-2", true).Needs(), func(k Key) string { return DefaultAccount(k.User) })
	if want := "GRANT EXECUTE ON PROCEDURE `mysql`.`rds_kill` TO 'admin'@'%';"; !strings.Contains(out, want) {
		t.Errorf("statements lack %q:\n%s", want, out)
	}
}

func TestGrantPattern(t *testing.T) {
	for glob, want := range map[string]string{"app": "app", "shop_*": `shop\_%`, "db?": "db_", "t[0-9]x": "t_x", "50%": `50\%`} {
		if got := GrantPattern(glob); got != want {
			t.Errorf("GrantPattern(%q) = %q, want %q", glob, got, want)
		}
		if !strings.ContainsAny(glob, "*?[") && !parse([]string{"GRANT SELECT ON `" + GrantPattern(glob) + "`.* TO u"}).Has(Grant{"SELECT", Database(glob)}) {
			t.Errorf("%q does not match itself", glob)
		}
	}
}

// Without reverse replication the undos still read the target's binlog
// (refenceTarget: SHOW MASTER STATUS; targetStandsStill: SHOW BINARY LOGS,
// SHOW BINLOG EVENTS): the target's user needs to, on every flavor.
func TestNightNeedsTargetBinlogWithoutReverse(t *testing.T) {
	for _, tc := range []struct {
		dst             string
		monitor, events []string
	}{
		{"aurora-3", []string{"REPLICATION CLIENT *.*", "SUPER *.*"}, []string{"REPLICATION SLAVE *.*"}},
		{"mariadb-10.11", []string{"BINLOG MONITOR *.*", "SUPER *.*"}, []string{"BINLOG MONITOR *.*"}},
	} {
		n := night("mysql-5.6", tc.dst, true)
		n.ReverseSchema = ""
		needs := n.Needs()
		if got := privs(needs, "target", "admin", "SHOW MASTER STATUS"); !slices.Equal(got, tc.monitor) {
			t.Errorf("%s: SHOW MASTER STATUS on the target: got %q, want %q", tc.dst, got, tc.monitor)
		}
		if got := privs(needs, "target", "admin", "SHOW BINLOG EVENTS"); !slices.Equal(got, tc.events) {
			t.Errorf("%s: SHOW BINLOG EVENTS on the target: got %q, want %q", tc.dst, got, tc.events)
		}
	}
}
