package main

import (
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// onTerminal runs the switcharoo binary with a terminal as its stdin,
// stdout and stderr, and returns what the terminal showed.
func onTerminal(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(sandboxtest.Binary(t), args...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(&out, tty) }) // ends with EIO once the process is gone
	err = cmd.Wait()
	wg.Wait()
	tty.Close()
	return out.String(), err
}

// On a terminal the copy and the verify draw a progress bar under the
// log; elsewhere they log their progress as plain lines.
func TestProgressOnATerminal(t *testing.T) {
	servers := sandboxtest.StartN(t, 2)
	src, dst := servers[0], servers[1]
	sandboxtest.Exec(t, sandboxtest.DB(t, src, ""), "CREATE DATABASE app",
		"CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(100) NOT NULL)",
		"INSERT INTO app.t SELECT seq, REPEAT('v', 1 + seq % 90) FROM mysql.seq_1_to_600000")
	config := replicationConfig(t, src, dst, "workers: 1", "copy_chunk_rows: 500", "progress_interval: 1s")

	screen, err := onTerminal(t, "-c", config, "replicate", "--until-caught-up")
	if err != nil {
		t.Fatalf("replicate on a terminal: %v\n%q", err, screen)
	}
	if !strings.Contains(screen, "copy    ▕") || !regexp.MustCompile(`\d+\.\d%  [\d,]+ / [\d,]{6,} rows  ETA \d+s`).MatchString(screen) ||
		!regexp.MustCompile(`copy    ▕█{30}▏ 100\.0%  [\d,]+ / [\d,]+ rows  ETA 0s\r\n`).MatchString(screen) {
		t.Errorf("no copy progress bar on the terminal:\n%q", screen)
	}
	screen, err = onTerminal(t, "-c", config, "verify", "--fenced", "--max-rate", "150000")
	if err != nil {
		t.Fatalf("verify on a terminal: %v\n%s", err, screen)
	}
	if !strings.Contains(screen, "verify  ▕") || !strings.Contains(screen, "100.0%  600,000 / 600,000 rows  ETA 0s") {
		t.Errorf("no verify progress bar on the terminal:\n%q", screen)
	}

	r := runBinary(t, "-c", config, "verify", "--fenced", "--max-rate", "150000")
	if r.code != 0 || strings.Contains(r.stderr, "▕") || !strings.Contains(r.stderr, `"message":"verify progress"`) {
		t.Errorf("verify without a terminal: exit %d, want plain progress lines and no bar:\n%s", r.code, r.stderr)
	}
}
