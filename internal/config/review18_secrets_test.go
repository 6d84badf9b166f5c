package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// review18 (finding, fixed): a URL of checks.http_probe (or checks.http)
// that the configuration check refuses was quoted whole in the error, the
// password of its user information included (a site behind basic auth:
// https://user:password@host/...). The error now shows it redacted.
func TestReview18RefusedURLHidesItsPassword(t *testing.T) {
	const pw = "s3cr3t-Basic-pw"
	minimal := "source: {host: a, user: u}\ntarget: {host: b, user: u}\nreplication: {server_id: 9, databases: [app]}\n"
	for _, c := range []struct{ name, yaml string }{
		{"http_probe.write_url, wrong scheme", "checks: {http_probe: {write_url: 'htps://shop:" + pw + "@www.example.test/write'}}\n"},
		{"http_probe.read_url, no host", "checks: {http_probe: {read_url: 'https://shop:" + pw + "@/read'}}\n"},
		{"http_probe.read_url, unparsable", "checks: {http_probe: {read_url: 'https://shop:" + pw + "@www.example.test:port/read'}}\n"},
		{"http[0].url, wrong scheme", "checks: {http: [{url: 'ftp://shop:" + pw + "@www.example.test/'}]}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "switcharoo.yaml")
			if err := os.WriteFile(path, []byte(minimal+c.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("the URL was accepted")
			}
			if strings.Contains(err.Error(), pw) {
				t.Errorf("the error shows the URL's password: %v", err)
			}
			if !strings.Contains(err.Error(), "must be an http(s) URL") {
				t.Errorf("the error does not say what is wrong: %v", err)
			}
		})
	}
}
