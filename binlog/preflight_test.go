package binlog_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Each refusal names the setting or object and the fix, exits 2, and
// changes nothing on either server.
func TestPreflightRefusals(t *testing.T) {
	r := newRig(t)
	r.source(
		"CREATE DATABASE app",
		"CREATE TABLE app.ok (id INT PRIMARY KEY)",
		"CREATE USER 'weak'@'127.0.0.1' IDENTIFIED BY 'weak-pw'",
		"GRANT SELECT ON *.* TO 'weak'@'127.0.0.1'",
	)
	noBinlog := sandboxtest.Start(t, sandboxtest.With("skip_log_bin"))
	good := *r.cfg

	cases := []struct {
		name   string
		setup  []string // on the source, undone by undo
		undo   []string
		target []string // on the target, undone by targetUndo
		tundo  []string
		change func(c *config.Config)
		want   []string
	}{
		{name: "binlog off", change: func(c *config.Config) { c.Source = sandboxtest.Endpoint(noBinlog) },
			want: []string{"source: binary logging is off (log_bin=OFF)", "enable it in the server's option file"}},
		{name: "statement format", setup: []string{"SET GLOBAL binlog_format = 'STATEMENT'"}, undo: []string{"SET GLOBAL binlog_format = 'ROW'"},
			want: []string{"source: binlog_format is STATEMENT; replicate needs ROW: SET GLOBAL binlog_format = ROW"}},
		{name: "mixed format", setup: []string{"SET GLOBAL binlog_format = 'MIXED'"}, undo: []string{"SET GLOBAL binlog_format = 'ROW'"},
			want: []string{"source: binlog_format is MIXED"}},
		{name: "minimal row image", setup: []string{"SET GLOBAL binlog_row_image = 'MINIMAL'"}, undo: []string{"SET GLOBAL binlog_row_image = 'FULL'"},
			want: []string{"source: binlog_row_image is MINIMAL; replicate needs FULL"}},
		{name: "server_id of the source", change: func(c *config.Config) { c.Replication.ServerID = r.src.ServerID },
			want: []string{"is the source's own server_id; choose another"}},
		{name: "missing privileges", change: func(c *config.Config) {
			c.Source.User = "weak"
			t.Setenv("WEAK_PW", "weak-pw")
			c.Source.Password = secretFromEnv("WEAK_PW")
		}, want: []string{`user "weak": lacks REPLICATION SLAVE on *.*`, `user "weak": lacks BINLOG MONITOR on *.*`, `user "weak": lacks RELOAD on *.*`,
			"GRANT REPLICATION SLAVE ON *.* TO 'weak'@'127.0.0.1'", "needed by replication: the copy's consistent snapshot (FLUSH TABLES WITH READ LOCK)"}},
		{name: "wrong password", change: func(c *config.Config) { c.Source.Password = secretFromEnv("NO_SUCH_VAR_SET"); c.Source.User = "weak" },
			want: []string{`source: access denied for user "weak"`, "check source.user and the password"}},
		{name: "unreachable target", change: func(c *config.Config) { c.Target.Port = closedPort(t); c.Target.ConnectTimeout = time.Second },
			want: []string{"target: cannot connect to 127.0.0.1:", "check target.host, target.port"}},
		{name: "table without key", setup: []string{"CREATE TABLE app.nokey (a INT, b INT)"}, undo: []string{"DROP TABLE app.nokey"},
			want: []string{"tables without a primary key or a NOT NULL unique key: app.nokey", "replication.allow_no_key"}},
		{name: "unique key on nullable column", setup: []string{"CREATE TABLE app.nullkey (a INT NULL, UNIQUE KEY (a))"}, undo: []string{"DROP TABLE app.nullkey"},
			want: []string{"tables without a primary key or a NOT NULL unique key: app.nullkey"}},
		{name: "target not empty", target: []string{"CREATE DATABASE app", "CREATE TABLE app.ok (id INT PRIMARY KEY)", "INSERT INTO app.ok VALUES (1)"},
			tundo: []string{"DROP DATABASE app"},
			want:  []string{"target tables already hold rows: app.ok", "replicate copies into absent or empty tables only"}},
		{name: "no table matched", change: func(c *config.Config) { c.Replication.Databases = []string{"nothing_*"} },
			want: []string{"replication.databases [nothing_*]", "matches no table on the source; its databases are:"}},
		// read_only stops a user without READ_ONLY ADMIN (MariaDB 10.11:
		// SUPER no longer passes it): an Aurora reader endpoint, say.
		{name: "read-only target", change: func(c *config.Config) { c.Target.User = "plain" },
			target: []string{"CREATE USER 'plain'@'%'", "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX ON *.* TO 'plain'@'%'", "SET GLOBAL read_only = ON"},
			tundo:  []string{"SET GLOBAL read_only = OFF", "DROP USER 'plain'@'%'"},
			want:   []string{`user "plain": lacks READ_ONLY ADMIN on *.*`, "write while the target is read_only", "reader endpoint, point target.host at the writer"}},
		// SUPER passed read_only before MariaDB 10.11; it no longer does:
		// a check that took SUPER for enough let replicate start, then
		// fail at its first write.
		{name: "SUPER is not READ_ONLY ADMIN on MariaDB 10.11", change: func(c *config.Config) { c.Target.User = "super" },
			target: []string{"CREATE USER 'super'@'%'", "GRANT SUPER, SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX ON *.* TO 'super'@'%'", "SET GLOBAL read_only = ON"},
			tundo:  []string{"SET GLOBAL read_only = OFF", "DROP USER 'super'@'%'"},
			want:   []string{`user "super": lacks READ_ONLY ADMIN on *.*`, "GRANT READ_ONLY ADMIN ON *.* TO 'super'@'%'"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			if tc.change != nil {
				tc.change(&cfg)
			}
			r.source(tc.setup...)
			sandboxtest.Exec(t, r.dstDB, tc.target...)
			defer r.source(tc.undo...)
			defer sandboxtest.Exec(t, r.dstDB, tc.tundo...)
			err := runOnce(t, &cfg, binlog.RunOptions{})
			var pe *binlog.PreflightError
			if !errors.As(err, &pe) || exitCodeOf(err) != 2 {
				t.Fatalf("want a preflight refusal with exit code 2, got %v (exit %d)", err, exitCodeOf(err))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q:\n%s", w, err)
				}
			}
			if dbs := sandboxtest.Dump(t, r.dstDB, "SHOW DATABASES LIKE '\\_switcharoo'"); len(dbs) != 0 {
				t.Errorf("the refusal created the checkpoint schema on the target")
			}
			if dbs := sandboxtest.Dump(t, r.srcDB, "SHOW DATABASES LIKE '\\_switcharoo'"); len(dbs) != 0 {
				t.Errorf("the refusal created the heartbeat schema on the source")
			}
		})
	}

	t.Run("server_id used by a replica", func(t *testing.T) {
		syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
			ServerID: good.Replication.ServerID, Flavor: "mariadb", Host: "127.0.0.1", Port: uint16(r.src.Port), User: "root",
			Logger: slogDiscard(),
		})
		defer syncer.Close()
		if _, err := syncer.StartSync(mysql.Position{Name: "binlog.000001", Pos: 4}); err != nil {
			t.Fatal(err)
		}
		err := runOnce(t, &good, binlog.RunOptions{})
		if err == nil || !strings.Contains(err.Error(), "is used by a replica connected to the source") || exitCodeOf(err) != 2 {
			t.Fatalf("want a refusal naming the replica, got %v", err)
		}
	})
}

// runOnce runs a replicator until it returns or a short while has passed.
func runOnce(t *testing.T, cfg *config.Config, opts binlog.RunOptions) error {
	t.Helper()
	rep, err := binlog.New(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return rep.Run(ctx, opts)
}
