package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// grantsConfig is a night from port src to port dst, reverse replication
// on, the target fenced by locking the application's account.
func grantsConfig(t *testing.T, src, dst int) string {
	t.Setenv("GRANTS_TEST_PW", "s3cret-never-shown")
	return writeFile(t, "switcharoo.yaml", fmt.Sprintf(`state_dir: %s
source: {host: 127.0.0.1, port: %d, user: repl, password_env: GRANTS_TEST_PW, tls: {mode: disabled}, connect_timeout: 1s}
target: {host: 127.0.0.1, port: %d, user: admin, password_env: GRANTS_TEST_PW, tls: {mode: disabled}, connect_timeout: 1s}
replication: {server_id: 777, databases: [app, shop_*]}
checks:
  sql_probe: {host: db.example.test, user: app, password_env: GRANTS_TEST_PW}
cutover:
  reverse_replication: true
  app_users: [app]
`, t.TempDir(), src, dst))
}

// switcharoo grants prints the GRANT statements per server and user, for
// the flavor given when a server cannot be reached, and no secret.
func TestGrantsCommand(t *testing.T) {
	closed := func() int {
		var p int
		fmt.Sscanf(freeAddr(t)[len("127.0.0.1:"):], "%d", &p)
		return p
	}
	cfg := grantsConfig(t, closed(), closed())

	r := runCLI(t, "-c", cfg, "grants", "--source-flavor", "mysql-5.6", "--target-flavor", "aurora-3")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"-- source 127.0.0.1:", "(MySQL 5.6.0), user 'repl'@'%'",
		"GRANT SUPER, PROCESS, RELOAD, REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO 'repl'@'%';",
		"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX ON `app`.* TO 'repl'@'%';",
		"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX ON `shop\\_%`.* TO 'repl'@'%';",
		"GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX ON `\\_switcharoo\\_reverse`.* TO 'repl'@'%';",
		"--   SUPER: fence-source and its undo: SET GLOBAL read_only = ON / OFF",
		"(Aurora MySQL 3 (MySQL 8.0.23)), user 'admin'@'%'",
		"GRANT CREATE USER, PROCESS, CONNECTION_ADMIN, SESSION_VARIABLES_ADMIN, REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO 'admin'@'%';",
		"GRANT SELECT ON `mysql`.* TO 'admin'@'%';",
		"GRANT INSERT ON `_switcharoo`.`probe` TO 'app'@'%';",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "s3cret") {
		t.Errorf("a secret in the output")
	}

	// Aurora MySQL 2 kills through mysql.rds_kill; MariaDB 10.11 needs
	// READ_ONLY ADMIN.
	r = runCLI(t, "-c", cfg, "grants", "--source-flavor", "mariadb-10.11", "--target-flavor", "aurora-2")
	if r.code != 0 || !strings.Contains(r.stdout, "GRANT EXECUTE ON PROCEDURE `mysql`.`rds_kill` TO 'admin'@'%';") ||
		!strings.Contains(r.stdout, "READ_ONLY ADMIN") {
		t.Errorf("MariaDB 10.11 → Aurora 2: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, "-c", cfg, "grants")
	if r.code != 3 || !strings.Contains(r.stderr, "give its flavor with --source-flavor") || !strings.Contains(r.stderr, "--target-flavor") {
		t.Errorf("unreachable servers without flavors: exit %d: %s", r.code, r.stderr)
	}
	r = runCLI(t, "-c", cfg, "grants", "--source-flavor", "oracle-19")
	if r.code != 2 || !strings.Contains(r.stderr, `--source-flavor: flavor "oracle-19": want one of mysql-5.6`) {
		t.Errorf("a bad flavor: exit %d: %s", r.code, r.stderr)
	}

	// A live source: its flavor and the account are the server's; the
	// target, unreachable, is named.
	m := sandboxtest.Start(t)
	sandboxtest.Exec(t, sandboxtest.DB(t, m, ""), "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 's3cret-never-shown'")
	r = runCLI(t, "-c", grantsConfig(t, m.Port, closed()), "grants", "--target-flavor", "aurora-3")
	for _, want := range []string{"(MariaDB 10.11", "GRANT READ_ONLY ADMIN, PROCESS, CONNECTION ADMIN, RELOAD, BINLOG MONITOR, SUPER, REPLICATION SLAVE, REPLICATION MASTER ADMIN ON *.* TO 'repl'@'127.0.0.1';",
		"TO 'admin'@'%';"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("live: exit %d, output lacks %q:\n%s%s", r.code, want, r.stdout, r.stderr)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "s3cret") || strings.Contains(r.stdout, "PASSWORD") {
		t.Errorf("a secret in the output")
	}
}
