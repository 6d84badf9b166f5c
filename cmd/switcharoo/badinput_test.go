package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/sandbox"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// badWorld is everything a command could change: two servers with data,
// a third without a binlog, Route 53 and the AWS services (emulated), a
// BIND 9 for RFC 2136, and the state directory.
type badWorld struct {
	src, dst, noBinlog *sandbox.MariaDB
	srcDB, dstDB       *sql.DB
	r53                *sandbox.Route53
	zoneID             string
	aws                *sandbox.AWS
	bind               *sandbox.BIND
	stateDir           string
	closedPort         int
}

// A bad input — config, environment, server state — gets one clear
// message naming what is wrong and how to fix it, the documented exit
// code, and changes nothing: each case compares the whole world before and
// after the command. No case prints a password or key it was given.
func TestBadInputChangesNothing(t *testing.T) {
	w := newBadWorld(t)
	base := w.config()
	for k, v := range cutover.SandboxCredentials {
		t.Setenv(k, v)
	}
	t.Setenv("BAD_INPUT_TSIG", w.bind.Secret)
	t.Setenv("BAD_INPUT_WRONG_TSIG", "d3JvbmcgdHNpZyBzZWNyZXQgb2YgMzIgYnl0ZXMhIQ==")

	// Every secret the cases use; none may be printed.
	secrets := []string{w.bind.Secret, "d3JvbmcgdHNpZyBzZWNyZXQgb2YgMzIgYnl0ZXMhIQ==", "wrong-password-1", "wrong-password-2", "weak-pw-1",
		cutover.SandboxCredentials["AWS_SECRET_ACCESS_KEY"]}
	edit := func(pairs ...string) string { return strings.NewReplacer(pairs...).Replace(base) }
	srcLine := fmt.Sprintf("source: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}", w.src.Port)
	dstLine := fmt.Sprintf("target: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}", w.dst.Port)
	withSource := func(s string) string { return edit(srcLine, s) }
	withTarget := func(s string) string { return edit(dstLine, s) }
	databases := func(list string) string { return edit("databases: [app]", "databases: ["+list+"]") }
	rfc2136 := func(secretEnv, keyName string) string {
		return edit("provider: route53", "provider: rfc2136",
			"route53: {hosted_zone_id: "+w.zoneID+"}",
			fmt.Sprintf("rfc2136: {server: '%s', tsig_name: %s, tsig_algorithm: %s, tsig_secret_env: %s}", w.bind.Addr(), keyName, w.bind.Algorithm, secretEnv),
			"nameservers: ['"+w.r53.DNSAddr+"']", "nameservers: ['"+w.bind.Addr()+"']",
			"resolver: '"+w.r53.DNSAddr+"'", "resolver: '"+w.bind.Addr()+"'",
			"zone: example.test", "zone: bind.test")
	}
	setGlobal := func(name, value, restore string) (func(t *testing.T), func(t *testing.T)) {
		return func(t *testing.T) { sandboxtest.Exec(t, w.srcDB, "SET GLOBAL "+name+" = "+value) },
			func(t *testing.T) { sandboxtest.Exec(t, w.srcDB, "SET GLOBAL "+name+" = "+restore) }
	}
	statement, row := setGlobal("binlog_format", "STATEMENT", "ROW")
	mixed, _ := setGlobal("binlog_format", "MIXED", "ROW")
	minimal, full := setGlobal("binlog_row_image", "MINIMAL", "FULL")
	lowered := func(t *testing.T) {
		// The TTL lowered from 300 s a moment ago: the swap must wait.
		if r := runCLI(t, "-c", writeFile(t, "lower.yaml", base), "dns", "lower-ttl"); r.code != 0 {
			t.Fatalf("lower-ttl: exit %d\n%s", r.code, r.stderr)
		}
	}
	// keepServing is the night that keeps the site serving, the web
	// service in app.stop too or not, the swap placed as dnsSwap.
	keepServing := func(stopWeb bool, dnsSwap string) string {
		c := edit("cutover:", "  deploy:\n    - {kind: ecs-service, name: web, cluster: prod, service: web, environment: [{name: DB_HOST, value: 127.0.0.3}]}\ncutover:\n  app_mode: keep-serving\n  dns_swap: "+dnsSwap)
		if !stopWeb {
			c = strings.Replace(c, "    - {kind: ecs-service, name: web, cluster: prod, service: web, timeout: 10s}\n", "", 1)
		}
		return c
	}
	// withoutDNS drops the dns section: the application reaches the
	// database by the address its deploy gives it.
	withoutDNS := func(c string) string {
		before, rest, _ := strings.Cut(c, "\ndns:\n")
		_, after, _ := strings.Cut(rest, "\naws:\n")
		return before + "\naws:\n" + after
	}
	forget := func(t *testing.T) {
		if err := os.RemoveAll(w.stateDir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(w.stateDir, 0o700); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name    string
		config  string
		args    []string
		env     map[string]string
		setup   func(t *testing.T)
		restore func(t *testing.T)
		code    int
		want    []string // in the one message, in order
	}{
		// The configuration, given to commands that would act.
		{name: "malformed YAML", config: base + "replication: [\n", args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"not valid YAML", "line"}},
		{name: "unknown key", config: edit("cutover:", "cutover:\n  fence_gracee: 1s"), args: []string{"run", "--yes"},
			code: 2, want: []string{"cutover.fence_gracee: unknown key", `did you mean "fence_grace"?`}},
		{name: "wrong type", config: edit("cutover_ttl: 1", "cutover_ttl: soon"), args: []string{"dns", "swap"},
			code: 2, want: []string{"dns.cutover_ttl: must be an integer", `"soon"`}},
		{name: "bad duration", config: edit("timeout: 10s", "timeout: ten"), args: []string{"app", "stop"},
			code: 2, want: []string{"app.stop[1].timeout: must be a duration"}},
		{name: "bad glob", config: databases(`"app["`), args: []string{"verify"},
			code: 2, want: []string{"replication.databases[0]: is not a valid glob pattern"}},
		{name: "password variable unset", config: withSource(srcLine[:len(srcLine)-1] + ", password_env: BAD_INPUT_UNSET}"), args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"source.password_env: environment variable BAD_INPUT_UNSET is not set", "export it"}},
		{name: "password file missing", config: withTarget(dstLine[:len(dstLine)-1] + ", password_file: /nonexistent/pw}"), args: []string{"run", "--yes"},
			code: 2, want: []string{"target.password_file: cannot read /nonexistent/pw"}},
		{name: "workers out of range", config: edit("  server_id: 777", "  server_id: 777\n  workers: 0"), args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"replication.workers: must be 1..64, got 0"}},
		{name: "target is the source", config: withTarget(strings.Replace(srcLine, "source:", "target:", 1)), args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"target: is the same server as source"}},
		{name: "config file missing", args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"file not found", "pass --config FILE"}},
		{name: "unknown output format", config: base, args: []string{"verify", "-o", "yaml"},
			code: 2, want: []string{"--output: must be text or json"}},
		{name: "environment override of the wrong type", config: base, args: []string{"replicate", "--until-caught-up"}, env: map[string]string{"SWITCHAROO_REPLICATION_WORKERS": "many"},
			code: 2, want: []string{"replication.workers (from SWITCHAROO_REPLICATION_WORKERS): must be an integer"}},

		{name: "status page beyond loopback without a token", config: base, args: []string{"replicate", "--until-caught-up", "--http", "0.0.0.0:0"},
			code: 2, want: []string{"--http 0.0.0.0:0 is reachable beyond this machine", "SWITCHAROO_HTTP_TOKEN"}},

		// The servers.
		{name: "wrong source password", config: withSource(srcLine[:len(srcLine)-1] + ", password_env: BAD_INPUT_PW}"), env: map[string]string{"BAD_INPUT_PW": "wrong-password-1"},
			args: []string{"replicate", "--until-caught-up"}, code: 2, want: []string{"access denied", "source.user", "source.password_env"}},
		{name: "wrong target password", config: withTarget(dstLine[:len(dstLine)-1] + ", password_env: BAD_INPUT_PW}"), env: map[string]string{"BAD_INPUT_PW": "wrong-password-2"},
			args: []string{"verify"}, code: 2, want: []string{"target", "Access denied", "target.user"}},
		{name: "source unreachable", config: withSource(fmt.Sprintf("source: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}", w.closedPort)),
			args: []string{"replicate", "--until-caught-up"}, code: 2, want: []string{"source", strconv.Itoa(w.closedPort), "refused"}},
		{name: "target unreachable", config: withTarget(fmt.Sprintf("target: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}", w.closedPort)),
			args: []string{"verify"}, code: 2, want: []string{"target", strconv.Itoa(w.closedPort), "refused"}},
		{name: "binlog off", config: withSource(fmt.Sprintf("source: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}", w.noBinlog.Port)),
			args: []string{"replicate", "--until-caught-up"}, code: 2, want: []string{"log_bin"}},
		{name: "binlog_format STATEMENT", config: base, setup: statement, restore: row, args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"binlog_format", "STATEMENT", "ROW"}},
		{name: "binlog_format MIXED", config: base, setup: mixed, restore: row, args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"binlog_format", "MIXED", "ROW"}},
		{name: "binlog_row_image MINIMAL", config: base, setup: minimal, restore: full, args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"binlog_row_image", "MINIMAL", "FULL"}},
		// A night that keeps serving: its actions must fit it.
		{name: "keep-serving stops the service it redeploys", config: keepServing(true, "before-deploy"), args: []string{"run", "--yes"},
			code: 2, want: []string{"app.stop[1]: stops ECS service prod/web, which app.deploy redeploys", "never scaled to 0"}},
		{name: "keep-serving swaps after the redeploy", config: keepServing(false, "after-deploy"), args: []string{"run", "--yes"},
			code: 2, want: []string{"cutover.dns_swap: must be before-deploy with cutover.app_mode: keep-serving"}},
		{name: "keep-serving redeploy without a swapped name", config: withoutDNS(keepServing(false, "before-deploy")), args: []string{"run", "--yes"},
			code: 2, want: []string{"dns.provider: required with cutover.app_mode: keep-serving when app.deploy moves the application", "keep writing to the fenced source"}},
		{name: "unknown app mode", config: edit("cutover:", "cutover:\n  app_mode: zero-downtime"), args: []string{"run", "--yes"},
			code: 2, want: []string{"cutover.app_mode: must be stop-all or keep-serving", `"zero-downtime"`}},
		{name: "http probe URL", config: base + "checks:\n  http_probe: {read_url: 'ftp://site/'}\n", args: []string{"run", "--yes"},
			code: 2, want: []string{"checks.http_probe.read_url: must be an http(s) URL", "ftp://site/"}},
		{name: "keep-serving redeploy that may drop capacity", config: keepServing(false, "before-deploy"), args: []string{"run", "--yes"},
			setup: func(*testing.T) { w.aws.SetMinimumHealthyPercent("prod", "web", 50) }, restore: func(*testing.T) { w.aws.SetMinimumHealthyPercent("prod", "web", 100) },
			code: 2, want: []string{"minimumHealthyPercent is 50", "never drops running capacity"}},
		{name: "source privileges missing", config: withSource(fmt.Sprintf("source: {host: 127.0.0.1, port: %d, user: weak, password_env: BAD_INPUT_PW, tls: {mode: disabled}}", w.src.Port)),
			env: map[string]string{"BAD_INPUT_PW": "weak-pw-1"}, args: []string{"replicate", "--until-caught-up"}, code: 2, want: []string{"REPLICATION SLAVE"}},
		{name: "target privileges missing", config: withTarget(fmt.Sprintf("target: {host: 127.0.0.1, port: %d, user: weak, password_env: BAD_INPUT_PW, tls: {mode: disabled}}", w.dst.Port)),
			env: map[string]string{"BAD_INPUT_PW": "weak-pw-1"}, args: []string{"replicate", "--until-caught-up"}, code: 2, want: []string{"target", "weak"}},
		{name: "table without a key", config: databases("nokey"), args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"nokey.t", "key"}},
		{name: "target not empty", config: databases("busy"), args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"busy.t", "empty or drop them"}},
		{name: "target schema differs", config: databases("shape"), args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"shape.t"}},
		{name: "server_id taken by the source", config: edit("server_id: 777", fmt.Sprintf("server_id: %d", w.src.ServerID)), args: []string{"replicate", "--until-caught-up"},
			code: 2, want: []string{"replication.server_id", strconv.FormatUint(uint64(w.src.ServerID), 10)}},
		{name: "reverse before any switch", config: base, args: []string{"replicate", "--reverse", "--until-caught-up"},
			code: 2, want: []string{"reverse"}},

		// DNS.
		{name: "hosted zone missing", config: edit("hosted_zone_id: "+w.zoneID, "hosted_zone_id: ZNOSUCHZONE"), args: []string{"dns", "lower-ttl"},
			code: 2, want: []string{"ZNOSUCHZONE", "dns.route53.hosted_zone_id"}},
		{name: "zone name unknown", config: edit("route53: {hosted_zone_id: "+w.zoneID+"}", "route53: {}", "zone: example.test", "zone: nosuch.test"), args: []string{"dns", "lower-ttl"},
			code: 2, want: []string{"nosuch.test", "dns.zone"}},
		{name: "record missing", config: edit("{name: db, type: A", "{name: nodb, type: A"), args: []string{"dns", "lower-ttl"},
			code: 2, want: []string{"nodb.example.test.", "does not exist"}},
		{name: "TTL never lowered", config: base, args: []string{"dns", "swap"},
			code: 2, want: []string{"never lowered", "dns lower-ttl"}},
		{name: "TTL not yet expired", config: base, setup: lowered, restore: forget, args: []string{"dns", "swap"},
			code: 2, want: []string{"was lowered from 300s", "wait, or pass --force"}},
		{name: "bad TSIG secret", config: rfc2136("BAD_INPUT_WRONG_TSIG", w.bind.KeyName), args: []string{"dns", "lower-ttl"},
			code: 2, want: []string{"TSIG", "dns.rfc2136"}},
		{name: "unknown TSIG key name", config: rfc2136("BAD_INPUT_TSIG", "nosuchkey"), args: []string{"dns", "lower-ttl"},
			code: 2, want: []string{"TSIG", "dns.rfc2136"}},
		{name: "AWS credentials missing", config: base, env: map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, args: []string{"dns", "lower-ttl"},
			code: 2, want: []string{"no AWS credentials found", "AWS_ACCESS_KEY_ID"}},

		// The application.
		{name: "ECS service missing", config: edit("service: web", "service: ghost"), args: []string{"app", "stop"},
			code: 2, want: []string{"ghost", "app.stop[1].service"}},
		{name: "ECS cluster missing", config: edit("cluster: prod", "cluster: nosuch"), args: []string{"app", "stop"},
			code: 2, want: []string{"nosuch", "app.stop[1].cluster"}},
		{name: "EventBridge rule missing", config: edit("rule: cron", "rule: nightly"), args: []string{"app", "stop"},
			code: 2, want: []string{"nightly", "app.stop[0].rule"}},
		{name: "schedule missing", config: edit("- {kind: eventbridge-rule, name: cron, rule: cron}", "- {kind: scheduler-schedule, name: cron, schedule: nosuch}"), args: []string{"app", "stop"},
			code: 2, want: []string{"nosuch", "app.stop[0].schedule"}},
		{name: "exec command not found", config: edit("- {kind: eventbridge-rule, name: cron, rule: cron}", "- {kind: exec, name: cron, command: [/nonexistent/stop-cron]}"), args: []string{"app", "stop"},
			code: 2, want: []string{"app.stop[0].command", "/nonexistent/stop-cron"}},

		// The runbook.
		{name: "run without approval and no terminal", config: base, args: []string{"run"},
			code: 2, want: []string{"stdin is not a terminal", "--yes"}},
		{name: "resume with nothing to resume", config: base, args: []string{"resume", "--yes"},
			code: 2, want: []string{"no interrupted run"}},
		{name: "rollback with nothing to roll back", config: base, args: []string{"rollback"},
			code: 2, want: []string{"no run to roll back"}},
		{name: "run refused by its preflight", config: base, args: []string{"run", "--yes"},
			code: 2, want: []string{"preflight"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfg := "/nonexistent/switcharoo.yaml"
			if tc.config != "" {
				cfg = writeFile(t, "switcharoo.yaml", tc.config)
			}
			if tc.setup != nil {
				tc.setup(t)
			}
			if tc.restore != nil {
				defer tc.restore(t)
			}
			before := w.state(t)
			r := runCLI(t, append([]string{"-c", cfg, "--log-level", "error"}, tc.args...)...)
			after := w.state(t)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			msg := strings.TrimSpace(r.stderr)
			t.Logf("exit %d: %s", r.code, msg)
			if !strings.HasPrefix(msg, "switcharoo: ") || strings.Count(msg, "switcharoo: ") != 1 {
				t.Errorf("want one message starting with \"switcharoo: \", got:\n%s", r.stderr)
			}
			rest := msg
			for _, want := range tc.want {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Errorf("the message lacks %q (in this order):\n%s", want, msg)
					break
				}
				rest = rest[i+len(want):]
			}
			for _, secret := range secrets {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("the output shows the secret %q:\n%s%s", secret, r.stdout, r.stderr)
				}
			}
			if before != after {
				t.Errorf("the refused command changed the world:\n%s", lineDiff(before, after))
			}
		})
	}
	sandboxtest.Count(t, "bad inputs tried", int64(len(cases)))
}

func newBadWorld(t *testing.T) *badWorld {
	t.Helper()
	servers := sandboxtest.StartN(t, 2)
	w := &badWorld{src: servers[0], dst: servers[1], noBinlog: sandboxtest.Start(t, sandboxtest.ServerID(99), sandboxtest.With("skip_log_bin")), stateDir: t.TempDir()}
	w.srcDB, w.dstDB = sandboxtest.DB(t, w.src, ""), sandboxtest.DB(t, w.dst, "")
	sandboxtest.Exec(t, w.srcDB,
		"CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)",
		"INSERT INTO app.t SELECT seq, CONCAT('v', seq) FROM mysql.seq_1_to_100",
		"CREATE DATABASE nokey",
		"CREATE TABLE nokey.t (v INT)",
		"INSERT INTO nokey.t VALUES (1), (1)",
		"CREATE DATABASE busy",
		"CREATE TABLE busy.t (id INT PRIMARY KEY)",
		"INSERT INTO busy.t VALUES (1), (2)",
		"CREATE DATABASE shape",
		"CREATE TABLE shape.t (id INT PRIMARY KEY, a INT)",
		"INSERT INTO shape.t VALUES (1, 1)",
		"CREATE USER weak@'%' IDENTIFIED BY 'weak-pw-1'",
		"GRANT SELECT ON app.* TO weak@'%'",
	)
	sandboxtest.Exec(t, w.dstDB,
		"CREATE DATABASE busy",
		"CREATE TABLE busy.t (id INT PRIMARY KEY)",
		"INSERT INTO busy.t VALUES (7)",
		"CREATE DATABASE shape",
		"CREATE TABLE shape.t (id INT PRIMARY KEY, b INT)",
		"CREATE USER weak@'%' IDENTIFIED BY 'weak-pw-1'",
		"GRANT SELECT ON *.* TO weak@'%'",
	)

	var err error
	if w.r53, err = sandbox.StartRoute53(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.r53.Close)
	w.zoneID = w.r53.AddZone("example.test", sandbox.R53RecordSet{Name: "db.example.test.", Type: "A", TTL: 300, Values: []string{"127.0.0.2"}})
	if w.aws, err = sandbox.StartAWS(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.aws.Close)
	td := w.aws.RegisterTaskDefinition("web", sandbox.ContainerDef{Name: "web", Image: "web:1", Command: []string{"sleep", "600"}})
	w.aws.CreateService("prod", "web", td, 0, true)
	w.aws.PutRule("cron", "rate(1 hour)", "prod", td, true)
	w.bind = sandboxtest.StartBIND(t, "bind.test", "db 300 IN A 127.0.0.2")

	_, port, _ := net.SplitHostPort(freeAddr(t))
	w.closedPort, _ = strconv.Atoi(port)
	return w
}

// config is a valid configuration of the whole world.
func (w *badWorld) config() string {
	return fmt.Sprintf(`state_dir: %s
source: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}
target: {host: 127.0.0.1, port: %d, user: root, tls: {mode: disabled}}
replication:
  server_id: 777
  databases: [app]
  heartbeat: 200ms
  stall_timeout: 5s
dns:
  provider: route53
  zone: example.test
  cutover_ttl: 1
  propagation_timeout: 10s
  nameservers: ['%s']
  resolver: '%s'
  route53: {hosted_zone_id: %s}
  records:
    - {name: db, type: A, target: 127.0.0.3}
aws:
  region: us-east-1
  endpoints: {route53: '%s', ecs: '%s', events: '%s', scheduler: '%s'}
app:
  stop:
    - {kind: eventbridge-rule, name: cron, rule: cron}
    - {kind: ecs-service, name: web, cluster: prod, service: web, timeout: 10s}
cutover:
  max_lag: 5s
`, w.stateDir, w.src.Port, w.dst.Port, w.r53.DNSAddr, w.r53.DNSAddr, w.zoneID, w.r53.URL, w.aws.URL, w.aws.URL, w.aws.URL)
}

// state is the world as text: every table's checksum, the settings and
// accounts of each server, the DNS records, the application's services
// and rules, and every file in the state directory.
func (w *badWorld) state(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, s := range []struct {
		name string
		db   *sql.DB
	}{{"source", w.srcDB}, {"target", w.dstDB}} {
		fmt.Fprintf(&b, "%s: %s\n", s.name, strings.Join(sandboxtest.Text(t, s.db, `SELECT @@global.read_only, @@global.binlog_format,
			@@global.binlog_row_image, (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%')`), " "))
		fmt.Fprintf(&b, "  %s\n", strings.Join(sandboxtest.Text(t, s.db, "SELECT CONCAT(User, '@', Host, ' ', Priv) FROM mysql.global_priv ORDER BY 1"), "\n  "))
		for _, table := range sandboxtest.Text(t, s.db, `SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLES
			WHERE TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') ORDER BY 1`) {
			fmt.Fprintf(&b, "  %s\n", strings.Join(sandboxtest.Text(t, s.db, "CHECKSUM TABLE "+table), " "))
		}
	}
	fmt.Fprintf(&b, "route53: %+v\n", w.r53.Records(w.zoneID))
	fmt.Fprintf(&b, "bind: %s\n", bindRecords(t, w.bind))
	fmt.Fprintf(&b, "ecs: %s; rule cron %s\n", w.aws.ServiceState("prod", "web"), w.aws.RuleState("cron"))
	var files []string
	err := filepath.WalkDir(w.stateDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(path)
		sum := sha256.Sum256(content)
		files = append(files, path+" "+hex.EncodeToString(sum[:8]))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	fmt.Fprintf(&b, "state_dir: %v\n", files)
	return b.String()
}

// bindRecords asks BIND for the zone's serial (every update raises it)
// and the record the cases swap.
func bindRecords(t *testing.T, b *sandbox.BIND) string {
	t.Helper()
	var out []string
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{b.Zone, dns.TypeSOA}, {"db." + b.Zone, dns.TypeA}} {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(q.name), q.qtype)
		in, err := dns.Exchange(m, b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range in.Answer {
			out = append(out, rr.String())
		}
	}
	return strings.Join(out, "; ")
}

// lineDiff lists the lines only before (-) and only after (+).
func lineDiff(before, after string) string {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
