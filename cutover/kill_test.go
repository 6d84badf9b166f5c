package cutover

import (
	"context"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// The target's fence ends every application session, also for a runbook
// user shaped like Aurora's admin — no SUPER, no CONNECTION ADMIN, so
// KILL of another user's session is refused — through mysql.rds_kill;
// where even that is missing, the fence fails, naming the survivors,
// instead of leaving them writing (#17.1).
func TestKillClientsLikeAurora(t *testing.T) {
	m := sandboxtest.Start(t)
	root := sandboxtest.DB(t, m, "")
	sandboxtest.Exec(t, root, "CREATE USER admin@'%' IDENTIFIED BY 'pw'", "GRANT PROCESS, SELECT ON *.* TO admin@'%'",
		"CREATE USER app@'%' IDENTIFIED BY 'pw'")
	admin := sandboxtest.DBAs(t, m, "admin", "pw")
	ctx := context.Background()
	appSession := func() {
		t.Helper()
		conn, err := sandboxtest.DBAs(t, m, "app", "pw").Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
	}
	s := &server{name: "target", db: admin}

	appSession()
	_, err := s.killClients(ctx, []string{"app"})
	if err == nil || !strings.Contains(err.Error(), "survive the fence") {
		t.Fatalf("without rds_kill: %v, want the fence failing on the surviving session", err)
	}

	sandboxtest.Exec(t, root, "CREATE DEFINER = root@localhost PROCEDURE mysql.rds_kill(IN thread BIGINT) SQL SECURITY DEFINER KILL thread",
		"GRANT EXECUTE ON PROCEDURE mysql.rds_kill TO admin@'%'")
	appSession()
	if _, err := s.killClients(ctx, []string{"app"}); err != nil {
		t.Fatalf("with rds_kill: %v", err)
	}
	if left, err := s.clientSessions(ctx, []string{"app"}); err != nil || len(left) != 0 {
		t.Fatalf("application sessions left: %v (%v)", left, err)
	}
}
