package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

const (
	execTimeout = 5 * time.Minute
	httpTimeout = 30 * time.Second
)

// execAction runs a command (ansible-playbook, ssh … systemctl, kubectl)
// without a shell; its output goes to the log line by line, and a non-zero
// exit fails it. Undo runs the undo command, if one is configured.
type execAction struct{ base }

func (a *execAction) Plan(context.Context) (string, error) {
	for _, c := range []struct {
		field   string
		command []string
	}{{"command", a.spec.Command}, {"undo", a.spec.Undo}} {
		if len(c.command) == 0 {
			continue
		}
		if _, err := exec.LookPath(c.command[0]); err != nil {
			return "", fmt.Errorf("%s: %s is not an executable file here (%v); fix the path, or install it", a.key(c.field), c.command[0], errors.Unwrap(err))
		}
	}
	plan := "run " + strings.Join(a.spec.Command, " ")
	if len(a.spec.Undo) > 0 {
		plan += "; undo: " + strings.Join(a.spec.Undo, " ")
	}
	return plan, nil
}

func (a *execAction) Apply(ctx context.Context) error { return a.run(ctx, a.spec.Command) }

func (a *execAction) Verify(context.Context) error { return nil }

func (a *execAction) Undo(ctx context.Context) error {
	if len(a.spec.Undo) == 0 {
		return nil
	}
	return a.run(ctx, a.spec.Undo)
}

func (a *execAction) run(ctx context.Context, command []string) error {
	timeout := a.timeout(execTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, command[0], command[1:]...)
	cmd.Env = os.Environ()
	for _, e := range a.spec.Environment {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	// The whole process group goes when the timeout does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", command[0], err)
	}
	last := a.logLines(out) // to the end of the output, before Wait closes the pipe
	err = cmd.Wait()
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return fmt.Errorf("%s did not finish within %s and was killed%s", command[0], timeout, last)
	case err != nil:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s exited with status %d%s", command[0], exit.ExitCode(), last)
		}
		return fmt.Errorf("%s: %w", command[0], err)
	}
	return nil
}

// logLines logs the command's output line by line until it ends, and
// returns its last lines for an error message.
func (a *execAction) logLines(r io.Reader) string {
	var last []string
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		a.r.log.Info().Str("action", a.Name()).Str("output", line).Msg("command output")
		last = append(last, line)
		if len(last) > 5 {
			last = last[1:]
		}
	}
	if len(last) == 0 {
		return ""
	}
	return "; last output: " + strings.Join(last, " | ")
}

// httpAction calls a webhook (maintenance page on or off, a load balancer
// drain) and expects a status. Undo calls undo_url the same way.
type httpAction struct{ base }

func (a *httpAction) method() string {
	if a.spec.Method == "" {
		return http.MethodPost
	}
	return a.spec.Method
}

func (a *httpAction) expect() int {
	if a.spec.ExpectStatus == 0 {
		return http.StatusOK
	}
	return a.spec.ExpectStatus
}

func (a *httpAction) Plan(context.Context) (string, error) {
	plan := fmt.Sprintf("%s %s, expect %d", a.method(), a.spec.URL, a.expect())
	if a.spec.UndoURL != "" {
		plan += "; undo: " + a.method() + " " + a.spec.UndoURL
	}
	return plan, nil
}

func (a *httpAction) Apply(ctx context.Context) error { return a.call(ctx, a.spec.URL) }

func (a *httpAction) Verify(context.Context) error { return nil }

func (a *httpAction) Undo(ctx context.Context) error {
	if a.spec.UndoURL == "" {
		return nil
	}
	return a.call(ctx, a.spec.UndoURL)
}

func (a *httpAction) call(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout(httpTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, a.method(), url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "switcharoo")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", a.method(), url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != a.expect() {
		return fmt.Errorf("%s %s answered %d, want %d: %s", a.method(), url, resp.StatusCode, a.expect(), strings.TrimSpace(string(body)))
	}
	return nil
}
