package cutover

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// review17: cutover.app_users names accounts; one without a host is taken
// as name@'%' (accounts()), and only that account is locked, checked
// (appWritable's SHOW CREATE USER) and, on the way back, locked again.
// The preflight's existence check (checkAppUsers) counts every host of
// the name, so an application that has two accounts of one name — app@'%'
// and a more specific app@'10.0.%' (here app@'127.0.0.1'), which the
// server prefers for clients from there — passes: the target counts as
// closed while the application's clients write there as the unlocked
// account. Both sides take application writes before the night (and
// after a rollback), and watchPrimaries, reading the same check, cannot
// see it. The fence should lock (and the check read) every account of
// each name in mysql.user, or the preflight refuse naming the unlocked
// one.
func TestReview17AppUserOtherHostStaysOpen(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	dst := rootDB(t, sb.Target)
	pw := sb.Config.Checks.SQLProbe.Password.Reveal()
	exec1(t, dst,
		"CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '"+pw+"'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'127.0.0.1'",
		"GRANT SELECT, INSERT ON `\\_switcharoo`.* TO 'app'@'127.0.0.1'",
		"ALTER USER 'app'@'%' ACCOUNT LOCK", "SET GLOBAL read_only = OFF")
	sb.Config.Cutover.AppUsers = []string{"app"}
	cfg := copyConfig(sb)
	_, _, planErr := newRunbook(t, sb, cfg, nil).Plan(ctx)
	t.Logf("plan: %v", planErr)
	app, err := sql.Open("mysql", strings.Replace(sb.Target.DSN(""), "root@", "app:"+pw+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	var who string
	_, werr := app.ExecContext(ctx, "INSERT INTO app.writes (writer, server_id, at) VALUES ('other-host', @@server_id, NOW(6))")
	_ = app.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&who)
	if werr != nil {
		t.Fatalf("the application's write on the target: %v (the test means it to land)", werr)
	}
	if planErr == nil {
		t.Errorf("the preflight passed with the target taken as closed to the application (cutover.app_users: app, app@'%%' locked), "+
			"yet the application writes there as %s: both sides take application writes", who)
	} else if !strings.Contains(planErr.Error(), "127.0.0.1") || !strings.Contains(planErr.Error(), "application writes") {
		t.Errorf("the preflight refused, but not naming the unlocked account app@127.0.0.1: %v", planErr)
	}
}
