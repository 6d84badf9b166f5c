package cutover

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// superUsersRefusal runs checkSuperUsers as the account cfg.Source names
// and returns what it refused.
func superUsersRefusal(t *testing.T, cfg *config.Config) string {
	t.Helper()
	rb := &Runbook{cfg: cfg, source: &server{name: "source", db: sandboxtest.Open(t, cfg.Source)}}
	var got []string
	rb.checkSuperUsers(context.Background(), func(f string, a ...any) { got = append(got, fmt.Sprintf(f, a...)) })
	return strings.Join(got, "\n")
}

// Only the account switcharoo logs in as is its own: another account of
// the same name (root@localhost, which a cron on the master's host uses,
// when switcharoo is root@127.0.0.1) passes read_only just the same. And a
// switcharoo user who may not read the mysql schema sees only its own
// privileges: the check cannot pass by seeing nothing.
func TestSuperUsersPreflight(t *testing.T) {
	m := sandboxtest.Start(t)
	root := sandboxtest.DB(t, m, "")
	sandboxtest.Exec(t, root,
		"CREATE USER cron@'%' IDENTIFIED BY 'pw'", "GRANT SUPER ON *.* TO cron@'%'",
		"CREATE USER sw@'%' IDENTIFIED BY 'pw'", "GRANT SUPER, RELOAD, PROCESS, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR, READ_ONLY ADMIN ON *.* TO sw@'%'",
		"CREATE USER sw@'localhost' IDENTIFIED BY 'pw'", "GRANT SUPER ON *.* TO sw@'localhost'")
	cfg := config.Defaults()
	cfg.Source = sandboxtest.Endpoint(m)
	cfg.Source.User, cfg.Source.Password = "sw", secret.New("pw")
	cfg.Cutover.SuperUsers = []string{"root@localhost", "root@127.0.0.1", "root@::1"}

	t.Run("without read access to mysql", func(t *testing.T) {
		if got := superUsersRefusal(t, &cfg); !strings.Contains(got, "cron@%") && !strings.Contains(got, "mysql") {
			t.Errorf("a switcharoo user that sees only its own privileges: refused %q, want cron@%% named or the missing grant", got)
		}
	})
	sandboxtest.Exec(t, root, "GRANT SELECT ON mysql.* TO sw@'%'")
	t.Run("same name, other host", func(t *testing.T) {
		got := superUsersRefusal(t, &cfg)
		for _, want := range []string{"cron@%", "sw@localhost"} {
			if !strings.Contains(got, want) {
				t.Errorf("refused %q, want %s named", got, want)
			}
		}
		if strings.Contains(got, "sw@%") {
			t.Errorf("refused switcharoo's own account: %q", got)
		}
	})
}
