package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// runbook builds the runbook of the config given by --config, reporting
// to the cockpit when --http was given.
func (c *cli) runbook(cmd *cobra.Command, opts cutover.Options) (*cutover.Runbook, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	if opts.Board, err = c.serveCockpit(cmd.Name()); err != nil {
		return nil, err
	}
	opts.StartReverse = func(ctx context.Context) error { return startReverse(c.configPath, cfg.StateDir) }
	return cutover.New(cmd.Context(), cfg, c.log, opts)
}

// startReverse starts `switcharoo replicate --reverse` as a process of its
// own, which outlives this one, logging to state_dir/reverse-replicate.log;
// its PID is in state_dir/reverse-replicate.pid.
func startReverse(configPath, stateDir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(stateDir, "reverse-replicate.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(self, "-c", configPath, "--log-format", "json", "replicate", "--reverse")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start reverse replication: %w", err)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	if err := os.WriteFile(filepath.Join(stateDir, "reverse-replicate.pid"), []byte(pid+"\n"), 0o600); err != nil {
		return fmt.Errorf("reverse replication runs as PID %s, but its PID file: %w", pid, err)
	}
	return cmd.Process.Release()
}

// stopReverse ends the reverse replicator startReverse started in
// stateDir, if it still runs (SIGTERM: it stops at a transaction boundary).
func stopReverse(stateDir string) {
	b, err := os.ReadFile(filepath.Join(stateDir, "reverse-replicate.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return
	}
	// The PID is still that replicator's, not a process that reused it.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "--reverse") {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
}

// approve asks on the terminal.
func (c *cli) approve(ctx context.Context, question string) (bool, error) {
	if !isatty.IsTerminal(os.Stdin.Fd()) {
		return false, fmt.Errorf("approval needed (%s) but stdin is not a terminal: pass --yes", question)
	}
	fmt.Fprintf(c.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil {
		return false, err
	}
	return strings.EqualFold(strings.TrimSpace(line), "y") || strings.EqualFold(strings.TrimSpace(line), "yes"), nil
}

func (c *cli) printReport(r *cutover.Report, output string) error {
	if r == nil {
		return nil
	}
	if output == "json" {
		return c.printJSON(r)
	}
	var b strings.Builder
	r.WriteText(&b)
	_, err := fmt.Fprint(c.stdout, b.String())
	return err
}

func (c *cli) runbookCommands() []*cobra.Command {
	var output, planHash string
	var yes bool
	// Approvals are asked on the terminal; without one, --yes must say so
	// before anything starts.
	checkApproval := func() error {
		if err := checkOutput(output); err != nil {
			return err
		}
		if !yes && !isatty.IsTerminal(os.Stdin.Fd()) {
			return exitcode.With(exitcode.Usage, errors.New("the night asks, before it changes anything, for approval of the fence and the DNS swap, and stdin is not a terminal: pass --yes"))
		}
		return nil
	}
	plan := &cobra.Command{
		Use:   "plan",
		Short: "Run the preflight and print the night's steps with their concrete actions; changes nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			rb, err := c.runbook(cmd, cutover.Options{})
			if err != nil {
				return err
			}
			defer rb.Close()
			steps, hash, err := rb.Plan(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return c.printJSON(map[string]any{"steps": steps, "hash": hash})
			}
			for i, s := range steps {
				timeout := ""
				if s.Timeout != "" {
					timeout = " (timeout " + s.Timeout + ")"
				}
				fmt.Fprintf(c.stdout, "%2d. %s%s\n    %s\n", i, s.Step, timeout, s.Plan)
			}
			_, err = fmt.Fprintf(c.stdout, "\nplan hash: %s   (switcharoo run --plan-hash %s runs exactly this plan)\n", hash, hash)
			return err
		},
	}
	run := &cobra.Command{
		Use:   "run",
		Short: "Run the switchover night",
		Long: `Runs the night's steps with a durable journal and a single-run lock. Asks for
approval of the fence and of the DNS swap, both before the first step that
changes anything, unless --yes; a "no" changes nothing. Ctrl-C pauses
at the next step boundary. A failure before the DNS swap undoes everything
(exit 3); after it, the run stops for a person (exit 4): resume or rollback.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkApproval(); err != nil {
				return err
			}
			rb, err := c.runbook(cmd, cutover.Options{Yes: yes, Approve: c.approve, PlanHash: planHash})
			if err != nil {
				return err
			}
			defer rb.Close()
			report, err := rb.Run(cmd.Context())
			if perr := c.printReport(report, output); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	run.Flags().BoolVar(&yes, "yes", false, "do not ask for approval of the fence and the DNS swap")
	c.httpFlag(run)
	run.Flags().StringVar(&planHash, "plan-hash", "", "refuse to run unless the plan is the one reviewed (its hash from switcharoo plan)")
	resume := &cobra.Command{
		Use:   "resume",
		Short: "Continue an interrupted run from its journal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkApproval(); err != nil {
				return err
			}
			rb, err := c.runbook(cmd, cutover.Options{Yes: yes, Approve: c.approve})
			if err != nil {
				return err
			}
			defer rb.Close()
			report, err := rb.Resume(cmd.Context())
			if perr := c.printReport(report, output); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	resume.Flags().BoolVar(&yes, "yes", false, "do not ask for approval")
	c.httpFlag(resume)
	rollback := &cobra.Command{
		Use:   "rollback",
		Short: "Go back to the source after a full or partial run, losing nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			rb, err := c.runbook(cmd, cutover.Options{})
			if err != nil {
				return err
			}
			defer rb.Close()
			report, err := rb.Rollback(cmd.Context())
			if perr := c.printReport(report, output); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	rehearse := &cobra.Command{
		Use:   "rehearse",
		Short: "Run the night for real against a rehearsal environment, then roll it back",
		Long: `Runs the night for real, then rolls it back. Asks for approval like run (of the
fence and of the DNS swap, before anything changes) unless --yes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkApproval(); err != nil {
				return err
			}
			rb, err := c.runbook(cmd, cutover.Options{Yes: yes, Approve: c.approve})
			if err != nil {
				return err
			}
			defer rb.Close()
			run, back, err := rb.Rehearse(cmd.Context())
			for _, r := range []*cutover.Report{run, back} {
				if perr := c.printReport(r, output); perr != nil && err == nil {
					err = perr
				}
			}
			return err
		},
	}
	rehearse.Flags().BoolVar(&yes, "yes", false, "do not ask for approval of the fence and the DNS swap")
	demo := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole night on a local sandbox, then tear it down",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for k, v := range cutover.SandboxCredentials {
				os.Setenv(k, v)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "switcharoo-demo-")
			if err != nil {
				return err
			}
			return cutover.Demo(cmd.Context(), dir, self, c.stdout, c.log)
		},
	}
	for _, cmd := range []*cobra.Command{plan, run, resume, rollback, rehearse} {
		outputFlag(cmd.Flags(), &output)
	}
	c.httpFlag(rollback)
	c.httpFlag(rehearse)
	return []*cobra.Command{plan, run, resume, rollback, rehearse, demo}
}
