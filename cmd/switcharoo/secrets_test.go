package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
				r := runCLI(t, "-c", path, "--log-format", format, "--log-level", "trace", "config", "check")
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
