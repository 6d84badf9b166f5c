package privileges

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The GRANT statements `switcharoo grants` prints, run on a real server
// (MariaDB 10.11, one server standing for both sides, a user for each):
// the checker, reading SHOW GRANTS back, finds nothing missing, and the
// users reach _switcharoo and _switcharoo_reverse but not xswitcharoo or
// xswitcharooxreverse, which an unescaped `_switcharoo`.* would let them
// (the "old" account shows the server reads _ as a wildcard, and that
// the checker still accepts such a grant for _switcharoo).
func TestPrintedGrantsOnARealServer(t *testing.T) {
	m := sandboxtest.Start(t)
	root := sandboxtest.DB(t, m, "")
	ctx := context.Background()
	f, err := Detect(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	side := func(name, user string) Side {
		return Side{Name: name, Addr: fmt.Sprintf("127.0.0.1:%d", m.Port), User: user, Flavor: f}
	}
	n := Night{Source: side("source", "src"), Target: side("target", "dst"),
		Schema: "_switcharoo", ReverseSchema: "_switcharoo_reverse",
		SourceDBs: []Object{DatabasePattern(GrantPattern("app"))}, TargetDBs: []Object{DatabasePattern(GrantPattern("app"))},
		Heartbeat: true, DDL: true, Probe: "app"}
	users := []string{"src", "dst", "app", "old"}
	for _, u := range users {
		sandboxtest.Exec(t, root, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'pw-%s'", u, u))
	}
	// A table grant needs its table: the probe's is the replicator's.
	sandboxtest.Exec(t, root, "CREATE DATABASE _switcharoo", "CREATE TABLE _switcharoo.probe (id INT)")
	text := Statements(n.Needs(), func(k Key) string { return DefaultAccount(k.User) })
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "GRANT ") {
			sandboxtest.Exec(t, root, l)
		}
	}
	sandboxtest.Exec(t, root, "GRANT SELECT ON `_switcharoo`.* TO 'old'@'%'")

	as := map[string]*sql.DB{}
	held := map[Key]*Grants{}
	for _, u := range users {
		as[u] = sandboxtest.DBAs(t, m, u, "pw-"+u)
		g, err := Read(ctx, as[u], f)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		held[Key{"source", u}], held[Key{"target", u}] = g, g
	}
	gaps, undecided := Check(n.Needs(), held)
	if len(gaps)+len(undecided) != 0 {
		t.Fatalf("the printed grants, applied:\n%s\nleave gaps %v, undecided %v", text, gaps, undecided)
	}
	live := n
	live.SourceDBs, live.TargetDBs = []Object{Database("app")}, []Object{Database("app")}
	if gaps, _ := Check(live.Needs(), held); len(gaps) != 0 {
		t.Fatalf("for the live databases: gaps %v", gaps)
	}
	old := Grant{"SELECT", Database("_switcharoo")}
	if !held[Key{"source", "old"}].Has(old) {
		t.Errorf("an unescaped grant on `_switcharoo`.*, read back, does not cover _switcharoo")
	}

	sandboxtest.Exec(t, root,
		"CREATE DATABASE xswitcharoo", "CREATE TABLE xswitcharoo.probe (id INT)",
		"CREATE DATABASE xswitcharooxreverse", "CREATE TABLE xswitcharooxreverse.t (id INT)")
	// What the grants are for: the checkpoint schema created and written
	// by the target's user, the reverse one by the source's, the probe's
	// row by the application's.
	sandboxtest.Exec(t, as["dst"], "CREATE TABLE _switcharoo.checkpoint (id INT)", "INSERT INTO _switcharoo.probe VALUES (1)")
	sandboxtest.Exec(t, as["src"], "CREATE DATABASE _switcharoo_reverse", "CREATE TABLE _switcharoo_reverse.t (id INT)")
	sandboxtest.Exec(t, as["app"], "INSERT INTO _switcharoo.probe VALUES (2)")
	sandboxtest.Exec(t, as["old"], "SELECT * FROM xswitcharoo.probe") // the over-grant the escape prevents
	for _, tc := range []struct{ user, stmt string }{
		{"dst", "SELECT * FROM xswitcharoo.probe"},
		{"dst", "CREATE TABLE xswitcharoo.t (id INT)"},
		{"dst", "DROP DATABASE xswitcharoo"},
		{"src", "INSERT INTO xswitcharoo.probe VALUES (3)"},
		{"src", "SELECT * FROM xswitcharooxreverse.t"},
		{"src", "DROP DATABASE xswitcharooxreverse"},
		{"app", "INSERT INTO xswitcharoo.probe VALUES (4)"},
	} {
		if _, err := as[tc.user].ExecContext(ctx, tc.stmt); err == nil || !strings.Contains(err.Error(), "denied") {
			t.Errorf("%s: %s: %v, want access denied", tc.user, tc.stmt, err)
		}
	}
}
