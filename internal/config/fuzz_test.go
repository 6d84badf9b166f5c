package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSecret is given through the environment to every fuzzed config; it
// must never appear in an error or in the printed config.
const fuzzSecret = "fuzz-Secret-9f3b7c"

// Any file handed to Load gives a config or an error, never a panic; an
// error says something, and neither it nor the printed config holds a
// secret. The seeds (the complete example, broken shapes, wrong types,
// unknown keys) also run in every `go test`.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "switcharoo.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	minimal := "source: {host: a, user: u, password_env: FUZZ_PW}\ntarget: {host: b, user: u, password_env: FUZZ_PW}\nreplication: {server_id: 9, databases: [app]}\n"
	for _, seed := range []string{
		string(example),
		minimal,
		strings.Replace(minimal, "server_id: 9", "server_id: -1", 1),
		strings.Replace(minimal, "server_id: 9", "server_id: 1e99", 1),
		strings.Replace(minimal, "host: a", "host: [1, 2]", 1),
		strings.Replace(minimal, "host: a", "hots: a", 1),
		strings.Replace(minimal, "password_env: FUZZ_PW", "password_env: "+fuzzSecret, 1),
		minimal + "cutover: {max_lag: 30}\n",
		minimal + "cutover: {max_lag: -5s}\n",
		"source:\n\t- bad\n",
		": :\n",
		"---\n...\n",
		"",
		"\xff\xfe",
		"&a [*a]",
		"source: &s {host: a}\ntarget: *s\n",
	} {
		f.Add([]byte(seed))
	}
	f.Setenv("FUZZ_PW", fuzzSecret)
	for _, k := range envKeys() { // only the file speaks
		f.Setenv(EnvName(k), "")
		os.Unsetenv(EnvName(k))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "switcharoo.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("an empty error")
			}
			if strings.Contains(err.Error(), fuzzSecret) {
				t.Fatalf("the error shows the secret: %v", err)
			}
			return
		}
		out, err := cfg.YAML()
		if err != nil {
			t.Fatalf("a loaded config does not print: %v", err)
		}
		if strings.Contains(string(out), fuzzSecret) {
			t.Fatalf("the printed config shows the secret:\n%s", out)
		}
	})
}
