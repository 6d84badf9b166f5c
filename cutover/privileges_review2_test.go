package cutover

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/switcharoo/switcharoo/internal/config"
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
