package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/sandbox"
)

func (c *cli) sandboxCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "A local world to practise the night in: servers, emulators, a sample application",
	}
	var dir string
	var stopAll bool
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the sandbox and keep it running, with its configuration written out",
		Long: `Starts two MariaDB servers (the old master with sample data, the new side),
a Route 53 emulator serving db.example.test, an ECS/EventBridge emulator running
a web service and a cron job that write through that name, and the replicator;
writes the configuration to DIR/switcharoo.yaml, and keeps running until
Ctrl-C or 'switcharoo sandbox down'. Try any command against it with -c.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(abs, 0o700); err != nil {
				return exitcode.With(exitcode.Usage, fmt.Errorf("--dir: %w", err))
			}
			if pid, err := os.ReadFile(filepath.Join(abs, "sandbox.pid")); err == nil {
				return exitcode.With(exitcode.Usage, fmt.Errorf("a sandbox already runs in %s (pid %s): switcharoo sandbox down --dir %s", abs, pid, dir))
			}
			for k, v := range cutover.SandboxCredentials {
				os.Setenv(k, v)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			sb, err := cutover.StartSandbox(cmd.Context(), sandbox.EnvOptions{Dir: abs, Binary: self, StopAll: stopAll}, c.log)
			if err != nil {
				return err
			}
			defer sb.Stop()
			// A reverse replicator that switcharoo run started in the
			// sandbox goes with it.
			defer stopReverse(sb.Config.StateDir)
			pidFile := filepath.Join(abs, "sandbox.pid")
			if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
				return err
			}
			defer os.Remove(pidFile)
			fmt.Fprintf(c.stdout, "The sandbox is up. In another terminal:\n\n")
			for k, v := range cutover.SandboxCredentials {
				fmt.Fprintf(c.stdout, "  export %s=%s\n", k, v)
			}
			fmt.Fprintf(c.stdout, "  switcharoo -c %s status\n  switcharoo -c %s plan\n  switcharoo -c %s run --yes\n  switcharoo -c %s rollback\n\nStop it with Ctrl-C or: switcharoo sandbox down --dir %s\n",
				sb.ConfigPath, sb.ConfigPath, sb.ConfigPath, sb.ConfigPath, dir)
			<-cmd.Context().Done()
			return nil
		},
	}
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop a sandbox started with sandbox up",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(filepath.Join(dir, "sandbox.pid"))
			if err != nil {
				return exitcode.With(exitcode.Usage, fmt.Errorf("no sandbox runs in %s", dir))
			}
			pid, err := strconv.Atoi(string(b))
			if err != nil {
				return err
			}
			return syscall.Kill(pid, syscall.SIGTERM)
		},
	}
	for _, c := range []*cobra.Command{up, down} {
		c.Flags().StringVar(&dir, "dir", "switcharoo-sandbox", "the sandbox's directory")
	}
	up.Flags().BoolVar(&stopAll, "stop-all", false, "shape the night as cutover.app_mode: stop-all (the web service stops with the cron job and comes back redeployed) instead of keep-serving")
	var name string
	var rows int
	writer := &cobra.Command{
		Use:    "writer",
		Short:  "The sample application (run by the sandbox's emulated tasks)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := sandbox.WriterOptionsFromEnv()
			if err != nil {
				return exitcode.With(exitcode.Usage, err)
			}
			o.Name, o.Rows = name, rows
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM)
			defer stop()
			return sandbox.RunWriter(ctx, o)
		},
	}
	writer.Flags().StringVar(&name, "name", "app", "label of the writes")
	writer.Flags().IntVar(&rows, "rows", 0, "stop after this many writes (0: never)")
	web := &cobra.Command{
		Use:    "web",
		Short:  "The sample web service (run by the sandbox's emulated tasks)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := sandbox.WebOptionsFromEnv()
			if err != nil {
				return exitcode.With(exitcode.Usage, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM)
			defer stop()
			return sandbox.RunWeb(ctx, o)
		},
	}
	cmd.AddCommand(up, down, writer, web)
	return cmd
}
