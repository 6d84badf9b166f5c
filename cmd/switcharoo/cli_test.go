package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// result is what one in-process run of the CLI produced.
type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// freeAddr is a loopback host:port nothing listens on (for a server the
// test starts, or one that must refuse connections).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVersion(t *testing.T) {
	r := runCLI(t, "version")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"switcharoo dev", "commit ", "go         go1."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runCLI(t, "version", "-o", "json")
	var v map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != 0 || v["version"] != "dev" || !strings.HasPrefix(v["go"], "go1.") {
		t.Errorf("version -o json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"no-such-command"},
		{"version", "--no-such-flag"},
		{"version", "extra-argument"},
		{"--log-format", "xml", "version"},
		{"--log-level", "loud", "version"},
	} {
		r := runCLI(t, args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "switcharoo: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and a message", args, r.code, r.stderr)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// process is the switcharoo binary running in the background.
type process struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	exited chan error // receives the process's end, once
}

// startBinary starts the switcharoo binary with args.
func startBinary(t *testing.T, args ...string) *process {
	t.Helper()
	return startBinaryEnv(t, nil, args...)
}

// startBinaryEnv starts the switcharoo binary with args and extra
// environment variables (NAME=value).
func startBinaryEnv(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(sandboxtest.Binary(t), args...), exited: make(chan error, 1)}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	return p
}

// waitFor polls cond every 10 ms until it holds; the test fails if the
// process ends first or timeout passes.
func (p *process) waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case err := <-p.exited:
			t.Fatalf("%v ended while waiting for %s: %v\n%s", p.cmd.Args[1:], what, err, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v: %s not within %s\n%s", p.cmd.Args[1:], what, timeout, p.stderr.String())
		}
	}
}

// killAfter SIGKILLs the process after d, unless it ends first: then it
// returns ended and how it ended.
func (p *process) killAfter(t *testing.T, d time.Duration) (ended bool, err error) {
	t.Helper()
	select {
	case err := <-p.exited:
		return true, err
	case <-time.After(d):
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	return false, nil
}

// Shell completion scripts for bash, zsh and fish.
func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "complete -o default -F __start_switcharoo switcharoo", "zsh": "#compdef switcharoo", "fish": "complete -c switcharoo"} {
		r := runCLI(t, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s: exit %d, want a script with %q\n%s", shell, r.code, want, r.stderr)
		}
	}
	if r := runCLI(t, "completion", "tcsh"); r.code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", r.code)
	}
}
