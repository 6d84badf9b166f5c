package cockpit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium runs headless Chromium on url with args and returns its
// standard output. Without Chromium the test is skipped, except in CI.
func chromium(t *testing.T, url string, args ...string) string {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is not installed (go tool task deps installs it)")
		}
		t.Skip("skipping: Chromium is not installed (go tool task deps installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all := append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--window-size=1280,1000",
		"--virtual-time-budget=3000"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// artifacts is where the screenshots are kept: bin/artifacts at the
// module's root (ignored by git), or $SWITCHAROO_ARTIFACTS.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SWITCHAROO_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The page, rendered by a real browser from the embedded assets alone:
// the checklist with the step under way, replication's figures and lag
// chart, the verify's progress with its ETA, the probe's timeline and the
// log; with a token, only from an address carrying it. Screenshots of the
// key states are kept.
func TestPageInChromium(t *testing.T) {
	b := night(t)
	s := serve(t, "", b)
	dom := chromium(t, "http://"+s.Addr+"/", "--dump-dom")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`<li class="done" data-step="fence-source">`),
		regexp.MustCompile(`<li class="running" data-step="verify"><span><span class="mark">▶</span>verify</span><span class="took">\d+ s</span></li>`),
		regexp.MustCompile(`<li class="pending" data-step="dns-swap">`),
		regexp.MustCompile(`<dd data-field="lag">1500 ms</dd>`),
		regexp.MustCompile(`<dd data-field="rows/s">8,123</dd>`),
		regexp.MustCompile(`<dd data-field="binlog read">3\.0 MiB</dd>`),
		regexp.MustCompile(`250,000 / 400,000 rows compared \(62\.5 %\)</span><span>ETA `),
		regexp.MustCompile(`<polyline points="(\d+\.\d,\d+\.\d ){60}\d+\.\d,\d+\.\d"></polyline>`),
		regexp.MustCompile(`20 writes, 10 refused`),
		regexp.MustCompile(`caught up`),
	} {
		if !want.MatchString(dom) {
			t.Errorf("the rendered page lacks %s", want)
		}
	}
	if strings.Contains(dom, "connection lost") {
		t.Errorf("the page could not read the state:\n%s", dom)
	}

	dir := artifacts(t)
	shot := func(name, url string) {
		t.Helper()
		path, err := filepath.Abs(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		chromium(t, url, "--screenshot="+path)
		png, err := os.ReadFile(path)
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10_000 {
			t.Fatalf("screenshot %s: %d bytes, %v", path, len(png), err)
		}
		t.Logf("screenshot: %s", path)
	}
	shot("cockpit-verify-under-way.png", "http://"+s.Addr+"/")

	// A failed step, then the night undone.
	b.StepEnded("verify", false, errors.New("the target differs from the fenced source (differences: 1): app.customers id=2"))
	for _, s := range []string{"catch-up", "fence-source", "stop-app"} {
		b.StepStarted(s, true)
		b.StepEnded(s, true, nil)
	}
	b.Ended("undone")
	dom = chromium(t, "http://"+s.Addr+"/", "--dump-dom")
	for _, want := range []string{`<li class="failed" data-step="verify">`, `app.customers id=2`, `<li class="undone" data-step="fence-source">`, `ended: undone`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page after the failure lacks %s", want)
		}
	}
	shot("cockpit-failed-and-undone.png", "http://"+s.Addr+"/")

	// With a token: the address's fragment carries it.
	const token = "cockpit-browser-token-51c2"
	guarded := serve(t, token, b)
	if dom := chromium(t, "http://"+guarded.Addr+"/", "--dump-dom"); !strings.Contains(dom, "connection lost: 401") {
		t.Errorf("without the token the page should say it cannot read the state")
	}
	if dom := chromium(t, "http://"+guarded.Addr+"/#token="+token, "--dump-dom"); !strings.Contains(dom, `data-step="verify"`) {
		t.Errorf("with the token in the fragment the page should show the night")
	}
}
