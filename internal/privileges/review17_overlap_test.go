package privileges

import (
	"context"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// review17: database-level grants do not add up. For a database, the
// server takes the privileges of the one most specific grant whose
// pattern matches it (mysql.db sorted: an exact name before a pattern, a
// longer literal prefix first) — MySQL 5.6/8.0 and MariaDB alike — and
// the privileges of the other matching patterns do not apply. Has() takes
// any matching pattern that holds the privilege: an account with ALL on
// `\_switcharoo%`.* (both checkpoint schemas at once) and SELECT on
// `\_switcharoo`.* (an earlier, narrower grant) is taken as able to write
// _switcharoo, which the server refuses: plan and preflight pass, and the
// night finds the privilege missing once it writes there. Global and
// table grants do add to the one database row; several database rows do
// not.
func TestReview17OverlappingDatabaseGrantsDoNotAdd(t *testing.T) {
	m := sandboxtest.Start(t)
	root := sandboxtest.DB(t, m, "")
	ctx := context.Background()
	sandboxtest.Exec(t, root, "CREATE USER 'u'@'%' IDENTIFIED BY 'pw'",
		"CREATE DATABASE _switcharoo", "CREATE TABLE _switcharoo.checkpoint (id INT)",
		"GRANT ALL ON `\\_switcharoo%`.* TO 'u'@'%'",
		"GRANT SELECT ON `\\_switcharoo`.* TO 'u'@'%'")
	u := sandboxtest.DBAs(t, m, "u", "pw")
	f, err := Detect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Read(ctx, u, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ priv, stmt string }{
		{"INSERT", "INSERT INTO _switcharoo.checkpoint VALUES (1)"},
		{"CREATE", "CREATE TABLE _switcharoo.t2 (id INT)"},
	} {
		_, err := u.ExecContext(ctx, c.stmt)
		denied := err != nil && strings.Contains(err.Error(), "denied")
		if !denied {
			t.Fatalf("%s: %v: the server grants it, the test means otherwise", c.stmt, err)
		}
		if g.Has(Grant{c.priv, Database("_switcharoo")}) {
			t.Errorf("the checker finds %s on _switcharoo held, but the server refuses %q (the most specific grant, `\\_switcharoo`.*, gives only SELECT): found missing mid-night", c.priv, c.stmt)
		}
	}
	// The grant that matches alone still counts.
	if !g.Has(Grant{"INSERT", Database("_switcharoo_reverse")}) {
		t.Errorf("INSERT on _switcharoo_reverse (through `\\_switcharoo%%`.* alone) not found")
	}
}
