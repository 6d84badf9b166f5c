package cutover

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"github.com/switcharoo/switcharoo/internal/privileges"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// Without reverse replication, the undo of unfence-target still reads the
// target's binlog: SHOW MASTER STATUS (refenceTarget records where the
// target must take no more writes) and SHOW BINARY LOGS / SHOW BINLOG
// EVENTS (targetStandsStill, before the source is unfenced). A user given
// exactly what `switcharoo grants` prints must get through the undo.
func TestPrivilegesUndoWithoutReverseReplication(t *testing.T) {
	sb := startSandbox(t)
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)
	for _, db := range []*sql.DB{src, dst} {
		unlogged(t, db, "CREATE USER 'night'@'%' IDENTIFIED BY 'night-pw'", "GRANT SELECT ON *.* TO 'night'@'%'")
	}
	sb.Config.Cutover.ReverseReplication = false
	cfg := copyConfig(sb)
	cfg.Source.User, cfg.Source.Password = "night", secret.New("night-pw")
	cfg.Target.User, cfg.Target.Password = "night", secret.New("night-pw")
	cfg.Cutover.SuperUsers = []string{"root@localhost", "root@127.0.0.1", "root@::1"}
	ctx := context.Background()

	text, err := Grants(ctx, cfg, GrantsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	applyGrants(t, text, map[string]*sql.DB{"source": src, "target": dst})
	if _, _, err := newRunbook(t, sb, cfg, nil).Plan(ctx); err != nil {
		t.Fatalf("plan after applying `switcharoo grants`:\n%s\n%v", text, err)
	}
	// The deploy fails after unfence-target: the night is undone, and
	// its undos read the target's binlog.
	cfg.App.Deploy[0].Environment = append(slices.Clip(cfg.App.Deploy[0].Environment), config.EnvVar{Name: "DB_PORT", Value: "not-a-port"})
	_, err = newRunbook(t, sb, cfg, nil).Run(ctx)
	var u *UndoneError
	if !errors.As(err, &u) || u.Step != "deploy" {
		t.Fatalf("a deploy that fails, as the granted user (grants were:\n%s): %v, want it undone", text, err)
	}
	onSource(t, sb)
	noneLost(t, sb, sb.Source)
}

// A target user holding PROCESS through its default role: the privilege
// check counts it (SHOW GRANTS lists the role's grants), so the one-
// writable check, which asks whether the user can see other sessions,
// must count it too.
func TestAppWritableProcessThroughRole(t *testing.T) {
	sb := startSandbox(t)
	dst := rootDB(t, sb.Target)
	unlogged(t, dst, "CREATE ROLE night_role", "GRANT PROCESS, CREATE USER ON *.* TO night_role", "GRANT SELECT ON mysql.* TO night_role",
		"CREATE USER 'night'@'%' IDENTIFIED BY 'night-pw'", "GRANT night_role TO 'night'@'%'", "SET DEFAULT ROLE night_role FOR 'night'@'%'",
		"ALTER USER 'app'@'%' ACCOUNT LOCK", "SET GLOBAL read_only = OFF")
	cfg := copyConfig(sb)
	cfg.Target.User, cfg.Target.Password = "night", secret.New("night-pw")
	cfg.Cutover.AppUsers = []string{"app"}
	db, err := mysqlconn.Open(cfg.Target, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	f, err := privileges.Detect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	g, err := privileges.Read(ctx, db, f)
	if err != nil {
		t.Fatal(err)
	}
	if !g.Has(privileges.Grant{Priv: "PROCESS", On: privileges.Global}) {
		t.Fatalf("the privilege check does not see PROCESS through the default role")
	}
	s := &server{name: "target", db: db, appUsers: cfg.Cutover.AppUsers}
	if w, err := s.appWritable(ctx); err != nil || w {
		t.Fatalf("one-writable check as a user with PROCESS through its default role: writable %v, %v; want closed, no error", w, err)
	}
	// The role granted but not active: no PROCESS in its sessions, and
	// "no live session seen" would prove nothing.
	unlogged(t, dst, "CREATE USER 'idle'@'%' IDENTIFIED BY 'idle-pw'", "GRANT night_role TO 'idle'@'%'", "GRANT SELECT ON mysql.* TO 'idle'@'%'")
	cfg.Target.User, cfg.Target.Password = "idle", secret.New("idle-pw")
	idle, err := mysqlconn.Open(cfg.Target, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	s = &server{name: "target", db: idle, appUsers: cfg.Cutover.AppUsers}
	if _, err := s.appWritable(ctx); err == nil || !strings.Contains(err.Error(), "lacks PROCESS") {
		t.Fatalf("one-writable check as a user whose role with PROCESS is not active: %v, want it refused", err)
	}
}
