package main

import (
	"github.com/switcharoo/switcharoo/internal/config"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// minimal is the smallest valid configuration.
const minimal = `
source: {host: 127.0.0.1, port: 3306, user: repl}
target: {host: 127.0.0.2, port: 3306, user: admin}
replication: {server_id: 99, databases: [app]}
`

func TestConfigCheckRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		want string // stderr after "switcharoo: config CONFIG", CONFIG standing for the file
	}{
		{"malformed YAML", "source: {host: [\n", nil,
			": not valid YAML: line 1: did not find expected node content"},
		{"unknown top-level key", minimal + "sorce: {host: x}\n", nil,
			`: sorce: unknown key (did you mean "source"?)`},
		{"unknown nested key", strings.Replace(minimal, "user: repl", "user: repl, hots: x", 1), nil,
			`: source.hots: unknown key (did you mean "host"?)`},
		{"missing host", strings.Replace(minimal, "host: 127.0.0.1, ", "", 1), nil,
			": source.host: required: the MySQL server's host name or IP address"},
		{"port out of range", strings.Replace(minimal, "port: 3306, user: repl", "port: 70000, user: repl", 1), nil,
			": source.port: must be 1..65535, got 70000"},
		{"port wrong type", strings.Replace(minimal, "port: 3306, user: admin", "port: abc, user: admin", 1), nil,
			`: target.port: must be an integer, got "abc"`},
		{"port from env out of range", minimal, map[string]string{"SWITCHAROO_SOURCE_PORT": "99999"},
			": source.port (from SWITCHAROO_SOURCE_PORT): must be 1..65535, got 99999"},
		{"bad duration", minimal + "cutover: {catch_up_timeout: 30}\n", nil,
			": cutover.catch_up_timeout: must be a duration such as 500ms, 30s or 1m30s, got 30"},
		{"negative duration", strings.Replace(minimal, "databases: [app]", "databases: [app], stall_timeout: -5s", 1), nil,
			": replication.stall_timeout: must not be negative, got -5s"},
		{"bad TLS mode", strings.Replace(minimal, "user: admin", "user: admin, tls: {mode: verify-full}", 1), nil,
			`: target.tls.mode: must be one of disabled, preferred, required, verify-ca, verify-identity, got "verify-full"`},
		{"TLS CA missing", strings.Replace(minimal, "user: admin", "user: admin, tls: {mode: verify-ca, ca: /nonexistent/ca.pem}", 1), nil,
			": target.tls.ca: cannot read /nonexistent/ca.pem: no such file"},
		{"password file missing", strings.Replace(minimal, "user: repl", "user: repl, password_file: /nonexistent/pw", 1), nil,
			": source.password_file: cannot read /nonexistent/pw: no such file"},
		{"password file is a directory", strings.Replace(minimal, "user: repl", "user: repl, password_file: "+dir, 1), nil,
			": source.password_file: cannot read " + dir + ": is a directory"},
		{"password env unset", strings.Replace(minimal, "user: repl", "user: repl, password_env: SWITCHAROO_TEST_UNSET_PW", 1), nil,
			": source.password_env: environment variable SWITCHAROO_TEST_UNSET_PW is not set; export it, or use source.password_file"},
		{"both password sources", strings.Replace(minimal, "user: repl", "user: repl, password_env: X, password_file: /y", 1), nil,
			": source.password_env: source.password_env and source.password_file are both set; keep one"},
		{"server_id missing", strings.Replace(minimal, "server_id: 99, ", "", 1), nil,
			": replication.server_id: required: a server_id no other replica of the source uses, 1..4294967295"},
		{"server_id too large", strings.Replace(minimal, "server_id: 99", "server_id: 5000000000", 1), nil,
			": replication.server_id: must be an integer 0..4294967295, got 5000000000"},
		{"databases empty", strings.Replace(minimal, "databases: [app]", "databases: []", 1), nil,
			`: replication.databases: required: glob patterns of the source databases to replicate, e.g. [app, "shop_*"]`},
		{"databases not a list", strings.Replace(minimal, "databases: [app]", "databases: {app: 1}", 1), nil,
			": replication.databases: must be a list, got a mapping"},
		{"bad glob", strings.Replace(minimal, "databases: [app]", `databases: ["app["]`, 1), nil,
			`: replication.databases[0]: is not a valid glob pattern: "app["`},
		{"duplicate key", minimal + "replication: {exclude_tables: [tmp_*]}\n", nil,
			": not valid YAML: line 5: mapping key \"replication\" already defined at line 4"},
		{"exclude table without dot", strings.Replace(minimal, "databases: [app]", "databases: [app], exclude_tables: [tmp_*]", 1), nil,
			`: replication.exclude_tables[0]: must have the form db.table (each part may use * ? [..]), got "tmp_*"`},
		{"bad DDL policy", strings.Replace(minimal, "databases: [app]", "databases: [app], ddl: skip", 1), nil,
			`: replication.ddl: must be one of apply, stop, ignore, got "skip"`},
		{"workers zero", strings.Replace(minimal, "databases: [app]", "databases: [app], workers: 0", 1), nil,
			": replication.workers: must be 1..64, got 0"},
		{"checkpoint schema replicated", strings.Replace(minimal, "databases: [app]", `databases: ["*"]`, 1), nil,
			`: replication.checkpoint_schema: "_switcharoo" is matched by replication.databases; the replicator's own schema must not be replicated`},
		{"rename of unreplicated database", strings.Replace(minimal, "databases: [app]", "databases: [app], database_map: [{source: shop, target: shop2}]", 1), nil,
			`: replication.database_map[0].source: "shop" is not matched by replication.databases`},
		{"target is source", strings.Replace(minimal, "127.0.0.2", "127.0.0.1", 1), nil,
			": target: is the same server as source (127.0.0.1:3306); the target must be the new database"},
		{"bad boolean", minimal + "cutover: {reverse_replication: yes please}\n", nil,
			`: cutover.reverse_replication: must be true or false, got "yes please"`},
		{"bad record type", minimal + "dns: {provider: route53, zone: example.com, records: [{name: db, type: MX, target: x}]}\n", nil,
			`: dns.records[0].type: must be A, AAAA or CNAME, got "MX"`},
		{"records without provider", minimal + "dns: {records: [{name: db, type: CNAME, target: x.example.net}]}\n", nil,
			": dns.provider: required when dns.records are set: route53 or rfc2136"},
		{"record outside the zone", minimal + "dns: {provider: route53, zone: example.com, records: [{name: db.example.org., type: CNAME, target: x.example.net}]}\n", nil,
			": dns.records[0].name: db.example.org. is not in dns.zone example.com."},
		{"A record with a host name", minimal + "dns: {provider: route53, zone: example.com, records: [{name: db, type: A, target: aurora.example.net}]}\n", nil,
			`: dns.records[0].target: "aurora.example.net" is not an IPv4 address (several are comma-separated)`},
		{"alias outside Route 53", minimal + "dns: {provider: rfc2136, zone: example.com, rfc2136: {server: '127.0.0.1:53', tsig_name: k, tsig_secret_file: /dev/null}, records: [{name: www, type: A, alias: {hosted_zone_id: Z1, dns_name: lb.example.net}}]}\n", nil,
			" has 2 problems:\n  - dns.records[0].alias: alias targets exist only in Route 53 (dns.provider: route53)\n  - dns.rfc2136.tsig_secret_file: /dev/null is empty"},
		{"bad TSIG algorithm", minimal + "dns: {provider: rfc2136, zone: example.com, rfc2136: {server: 'ns1:53', tsig_name: k, tsig_algorithm: hmac-sha3, tsig_secret_env: SWITCHAROO_TEST_TSIG}, records: [{name: db, type: CNAME, target: x.example.net}]}\n",
			map[string]string{"SWITCHAROO_TEST_TSIG": "c2VjcmV0"},
			`: dns.rfc2136.tsig_algorithm: must be one of hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5, got "hmac-sha3"`},
		{"TSIG secret not base64", minimal + "dns: {provider: rfc2136, zone: example.com, rfc2136: {server: 'ns1:53', tsig_name: k, tsig_secret_env: SWITCHAROO_TEST_TSIG}, records: [{name: db, type: CNAME, target: x.example.net}]}\n",
			map[string]string{"SWITCHAROO_TEST_TSIG": "not base64!"},
			": dns.rfc2136.tsig_secret_env: the TSIG secret is not base64, as tsig-keygen prints it (the value is not shown)"},
		{"ECS action without service", minimal + "app: {stop: [{kind: ecs-service, cluster: prod}]}\n", nil,
			": app.stop[0].service: required for kind ecs-service: the ECS service's name"},
		{"rule in the deploy list", minimal + "app: {deploy: [{kind: eventbridge-rule, rule: nightly}]}\n", nil,
			": app.deploy[0].kind: eventbridge-rule belongs in app.stop (disable) and app.start (restore), not app.deploy"},
		{"exec without command", minimal + "app: {stop: [{kind: exec, name: x}]}\n", nil,
			": app.stop[0].command: required for kind exec: the command and its arguments, e.g. [ansible-playbook, stop-web.yml]"},
		{"http with a bad method", minimal + "app: {start: [{kind: http, url: 'https://ops.example.com/x', method: FETCH}]}\n", nil,
			`: app.start[0].method: must be GET, POST, PUT, PATCH or DELETE, got "FETCH"`},
		{"unknown action kind", minimal + "app: {stop: [{kind: lambda}]}\n", nil,
			`: app.stop[0].kind: must be one of ecs-service, eventbridge-rule, scheduler-schedule, exec, http, got "lambda"`},
		{"endpoint not a URL", minimal + "aws: {endpoints: {route53: 'localhost:4566'}}\n", nil,
			`: aws.endpoints.route53: must be an http(s) URL such as https://route53.amazonaws.com, got "localhost:4566"`},
		{"several problems at once", `
source: {host: 127.0.0.1, port: 0, user: repl}
target: {port: 3306, user: admin}
replication: {server_id: 99, databases: [app], workers: 100}
`, nil, ` has 3 problems:
  - source.port: must be 1..65535, got 0
  - target.host: required: the MySQL server's host name or IP address
  - replication.workers: must be 1..64, got 100`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := writeFile(t, "switcharoo.yaml", tc.yaml)
			r := runCLI(t, "-c", path, "config", "check")
			got := strings.ReplaceAll(r.stderr, path, "CONFIG")
			want := "switcharoo: config CONFIG" + tc.want + "\n"
			if r.code != 2 || got != want {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2, stderr:\n%s", r.code, got, want)
			}
			if r.stdout != "" {
				t.Errorf("printed a config despite the error:\n%s", r.stdout)
			}
		})
	}
}

func TestConfigCheckMissingFile(t *testing.T) {
	r := runCLI(t, "-c", "/nonexistent/switcharoo.yaml", "config", "check")
	want := "switcharoo: config /nonexistent/switcharoo.yaml: file not found; pass --config FILE, or start from examples/switcharoo.yaml\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", r.code, r.stderr, want)
	}
}

func TestConfigCheckAppliesEnvironmentOverrides(t *testing.T) {
	t.Setenv("SWITCHAROO_SOURCE_HOST", "10.9.8.7")
	t.Setenv("SWITCHAROO_REPLICATION_DATABASES", "app, shop_*")
	t.Setenv("SWITCHAROO_REPLICATION_STALL_TIMEOUT", "45s")
	t.Setenv("SWITCHAROO_CUTOVER_REVERSE_REPLICATION", "true")
	t.Setenv("SWITCHAROO_STATE_DIR", "/var/lib/switcharoo")
	r := runCLI(t, "-c", writeFile(t, "c.yaml", minimal), "config", "check")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"state_dir: /var/lib/switcharoo\n",
		"  host: 10.9.8.7\n",
		"  databases: [app, shop_*]\n",
		"  stall_timeout: 45s\n",
		"  reverse_replication: true\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("effective config lacks %q:\n%s", want, r.stdout)
		}
	}
}

// The shipped example is valid, and it and docs/config.md name every key.
func TestExampleAndDocsCoverEveryKey(t *testing.T) {
	t.Setenv("SOURCE_MYSQL_PASSWORD", "example")
	t.Setenv("TARGET_MYSQL_PASSWORD", "example")
	t.Setenv("APP_MYSQL_PASSWORD", "example")
	example := filepath.Join("..", "..", "examples", "switcharoo.yaml")
	r := runCLI(t, "-c", example, "config", "check")
	if r.code != 0 {
		t.Fatalf("examples/switcharoo.yaml: exit %d: %s", r.code, r.stderr)
	}
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	actionList := regexp.MustCompile(`^app\.(stop|deploy|start)\[\]`)
	for _, key := range config.Keys() {
		documented := actionList.ReplaceAllString(key, "app.*[]") // one table for the three lists
		if !strings.Contains(string(docs), "`"+documented+"`") {
			t.Errorf("docs/config.md does not document `%s`", documented)
		}
		leaf := key[strings.LastIndexAny(key, ".]")+1:]
		if !strings.Contains(r.stdout, leaf+":") {
			t.Errorf("effective config of the example lacks %s", key)
		}
	}
}
