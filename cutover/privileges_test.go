package cutover

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// A new user on two plain servers (#17.6): plan names every privilege the
// night needs and the user lacks — server, user, privilege, feature —
// at once, and changes nothing; the statements `switcharoo grants`
// prints, applied as they are, make plan pass and the night and its
// rollback run as that user.
func TestPrivilegesBeforeTheNight(t *testing.T) {
	sb := startSandbox(t)
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)
	for _, db := range []*sql.DB{src, dst} {
		unlogged(t, db, "CREATE USER 'night'@'%' IDENTIFIED BY 'night-pw'", "GRANT SELECT ON *.* TO 'night'@'%'")
	}
	cfg := *sb.Config
	cfg.Source.User, cfg.Source.Password = "night", secret.New("night-pw")
	cfg.Target.User, cfg.Target.Password = "night", secret.New("night-pw")
	ctx := context.Background()

	before := snapshot(t, sb)
	_, _, err := newRunbook(t, sb, &cfg, nil).Plan(ctx)
	var refused *RefusedError
	if !errors.As(err, &refused) || exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("plan as a user with SELECT only: %v (exit %d), want a refusal (exit 2)", err, exitcode.Of(err))
	}
	for _, want := range []string{
		// The source's fence.
		`source %s (MariaDB 10.11`, `user "night": lacks READ_ONLY ADMIN on *.* — needed by fence-source and its undo: SET GLOBAL read_only`,
		`lacks PROCESS on *.* — needed by preflight and fence-source`,
		`lacks CONNECTION ADMIN on *.* (or SUPER on *.*) — needed by fence-source: kill the remaining client connections`,
		`lacks RELOAD on *.* — needed by fence-source: FLUSH TABLES WITH READ LOCK`,
		`lacks BINLOG MONITOR on *.* (or SUPER on *.*) — needed by fence-source: the fenced binlog position`,
		// Reverse replication: it reads the target's binlog and writes
		// into the source through read_only.
		`lacks REPLICATION SLAVE on *.* — needed by reverse replication: read the binlog`,
		`lacks INSERT on ` + "`\\_switcharoo\\_reverse`" + `.* — needed by reverse replication: its checkpoint`,
		`reverse replication: write while the source is read_only`,
		// The target's fence, and forward replication's writes through it.
		`needed by unfence-target and its undo: SET GLOBAL read_only = OFF / ON; replication: write while the target is read_only`,
		"fix: GRANT READ_ONLY ADMIN ON *.* TO 'night'@'%';",
	} {
		want = strings.Replace(want, "%s", mysqlconn.Addr(cfg.Source), 1)
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q:\n%s", want, err)
		}
	}
	if after := snapshot(t, sb); after != before {
		t.Fatalf("a refused plan changed the world:\nbefore %+v\nafter  %+v", before, after)
	}

	text, err := Grants(ctx, &cfg, GrantsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "night-pw") || strings.Contains(text, "PASSWORD") {
		t.Fatalf("grants shows a secret:\n%s", text)
	}
	applyGrants(t, text, map[string]*sql.DB{"source": src, "target": dst})
	if _, _, err := newRunbook(t, sb, &cfg, nil).Plan(ctx); err != nil {
		t.Fatalf("plan after applying `switcharoo grants`:\n%s\n%v", text, err)
	}
	report, err := newRunbook(t, sb, &cfg, nil).Run(ctx)
	if err != nil {
		t.Fatalf("the night as the granted user: %v", err)
	}
	checkReport(t, report, "run", "finished", nightSteps)
	onTarget(t, sb)
	if _, err := newRunbook(t, sb, &cfg, nil).Rollback(ctx); err != nil {
		t.Fatalf("the rollback as the granted user: %v", err)
	}
	onSource(t, sb)
	noneLost(t, sb, sb.Source)
}

// unlogged runs statements on one session with the binlog off: accounts
// of one server, not replicated.
func unlogged(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range append([]string{"SET SESSION sql_log_bin = 0"}, stmts...) {
		if _, err := conn.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// applyGrants runs the GRANT statements of `switcharoo grants` output on
// the server each block names ("-- source …", "-- target …").
func applyGrants(t *testing.T, text string, servers map[string]*sql.DB) {
	t.Helper()
	var on *sql.DB
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "-- source "):
			on = servers["source"]
		case strings.HasPrefix(line, "-- target "):
			on = servers["target"]
		case strings.HasPrefix(line, "GRANT "):
			unlogged(t, on, line)
		}
	}
}
