package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Distinctive secrets, given through every channel the config offers, never
// appear in the output of config check, its logs (at any level, in either
// format) or its errors.
func TestSecretsNeverPrinted(t *testing.T) {
	const (
		envPassword  = "Zebra-Env-Secret-7781"
		filePassword = "Quokka-File-Secret-4413"
		tsigSecret   = "VGhpcy1Jcy1UU0lHLTEyMw=="
	)
	secrets := []string{envPassword, filePassword, tsigSecret}
	t.Setenv("SRC_PW", envPassword)
	t.Setenv("TSIG_SECRET", tsigSecret)
	pwFile := filepath.Join(t.TempDir(), "target.pw")
	if err := os.WriteFile(pwFile, []byte(filePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := `
source: {host: 127.0.0.1, user: repl, password_env: SRC_PW}
target: {host: 127.0.0.2, user: admin, password_file: ` + pwFile + `}
replication: {server_id: 99, databases: [app]}
dns: {provider: rfc2136, zone: example.com, rfc2136: {server: "127.0.0.1:53", tsig_name: k, tsig_secret_env: TSIG_SECRET}, records: [{name: db, type: CNAME, target: new.example.com.}]}
`
	cases := []struct {
		name, yaml string
		wantCode   int
	}{
		{"valid", valid, 0},
		{"invalid elsewhere", strings.Replace(valid, "server_id: 99", "server_id: 0", 1), 2},
		// The secret itself written where a variable or file name belongs.
		{"secret as env name", strings.Replace(valid, "password_env: SRC_PW", "password_env: "+envPassword, 1), 2},
		{"secret as file name", strings.Replace(valid, "password_file: "+pwFile, "password_file: "+filePassword, 1), 2},
	}
	for _, tc := range cases {
		for _, format := range []string{"json", "console"} {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				path := writeFile(t, "switcharoo.yaml", tc.yaml)
				// The log format, and the output's: the same.
				r := runCLI(t, "-c", path, "--log-format", format, "--log-level", "trace", "config", "check", "-o", map[string]string{"json": "json", "console": "text"}[format])
				if r.code != tc.wantCode {
					t.Fatalf("exit %d, want %d: %s", r.code, tc.wantCode, r.stderr)
				}
				for _, s := range secrets {
					if strings.Contains(r.stdout, s) || strings.Contains(r.stderr, s) {
						t.Errorf("secret %q printed:\nstdout:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
					}
				}
				if tc.wantCode == 0 && strings.Count(r.stdout, "********") != 3 {
					t.Errorf("want three masked secrets in the effective config:\n%s", r.stdout)
				}
			})
		}
	}
}

// The replication commands, run for real against servers whose accounts
// have distinctive passwords — and once more with a wrong one — print no
// password in any output, log line (trace level, both formats) or error.
func TestSecretsNeverPrintedByReplication(t *testing.T) {
	const (
		sourcePassword = "Narwhal-Source-Secret-5127"
		targetPassword = "Ibex-Target-Secret-9034"
		wrongPassword  = "Wombat-Wrong-Secret-2265"
	)
	secrets := []string{sourcePassword, targetPassword, wrongPassword}
	servers := sandboxtest.StartN(t, 2)
	for i, pw := range []string{sourcePassword, targetPassword} {
		sandboxtest.Exec(t, sandboxtest.DB(t, servers[i], ""),
			"CREATE USER 'sw'@'127.0.0.1' IDENTIFIED BY '"+pw+"'",
			"GRANT ALL ON *.* TO 'sw'@'127.0.0.1'")
	}
	sandboxtest.Exec(t, sandboxtest.DB(t, servers[0], ""), "CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO app.t VALUES (1, 'a'), (2, 'b')")
	t.Setenv("SW_SOURCE_PW", sourcePassword)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "target.pw")
	if err := os.WriteFile(pwFile, []byte(targetPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := writeFile(t, "switcharoo.yaml", fmt.Sprintf(`
source: {host: 127.0.0.1, port: %d, user: sw, password_env: SW_SOURCE_PW, tls: {mode: disabled}}
target: {host: 127.0.0.1, port: %d, user: sw, password_file: %s, tls: {mode: disabled}}
replication: {server_id: 778, databases: [app], heartbeat: 200ms, stall_timeout: 5s}
`, servers[0].Port, servers[1].Port, pwFile))

	check := func(what string, r result) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("%s printed a password:\nstdout:\n%s\nstderr:\n%s", what, r.stdout, r.stderr)
			}
		}
	}
	for _, format := range []string{"json", "console"} {
		for _, args := range [][]string{
			{"config", "check"},
			{"replicate", "--until-caught-up"},
			{"status"},
			{"status", "--output", "json"},
			{"verify"},
			{"verify", "--output", "json"},
		} {
			r := runBinary(t, append([]string{"-c", config, "--log-format", format, "--log-level", "trace"}, args...)...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
			check(fmt.Sprint(args), r)
		}
	}
	t.Setenv("SW_SOURCE_PW", wrongPassword)
	for _, args := range [][]string{{"replicate", "--until-caught-up"}, {"verify"}} {
		r := runBinary(t, append([]string{"-c", config, "--log-level", "trace"}, args...)...)
		if r.code == 0 || !strings.Contains(strings.ToLower(r.stderr), "access denied") {
			t.Errorf("%v with a wrong password: exit %d, want a refusal naming the denied access:\n%s", args, r.code, r.stderr)
		}
		check(fmt.Sprint(args, " with a wrong password"), r)
	}
}
