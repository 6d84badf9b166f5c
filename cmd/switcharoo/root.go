package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/internal/cockpit"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/logging"
	"github.com/switcharoo/switcharoo/internal/progress"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// cli is what every command shares: the global flags, the output streams
// and, once the flags are parsed, the logger.
type cli struct {
	configPath string
	logFormat  string
	logLevel   string
	cpuProfile string
	profile    *os.File // open while the CPU profile is written
	httpAddr   string
	cockpit    *cockpit.Server // serving while the command runs (--http)
	bar        *progress.Bar   // the log's writer when stderr is a terminal; nil otherwise

	stdout, stderr io.Writer
	log            zerolog.Logger
	started        bool // a command's own code ran: errors are no longer usage errors
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr, log: zerolog.Nop()}
	root := c.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if c.cockpit != nil {
		if cerr := c.cockpit.Close(); cerr != nil {
			c.log.Warn().Err(cerr).Msg("closing the cockpit")
		}
	}
	if c.profile != nil {
		pprof.StopCPUProfile()
		if cerr := c.profile.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("--cpu-profile: %w", cerr)
		}
	}
	if err == nil {
		return exitcode.OK
	}
	if !c.started {
		// Cobra's own errors (unknown command or flag, wrong arguments).
		err = exitcode.With(exitcode.Usage, fmt.Errorf("%w\nRun 'switcharoo --help' for usage.", err))
	}
	fmt.Fprintf(stderr, "switcharoo: %v\n", err)
	return exitcode.Of(err)
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "switcharoo",
		Short: "Move a live MySQL database to a new home with seconds of write downtime",
		Long: `switcharoo moves a live MySQL database (e.g. MySQL 5.6 on bare metal) to a new
home (e.g. Amazon Aurora): a binlog replicator keeps the new database in sync,
then a runbook runs the switchover night, with a dry run, a rehearsal and a
rollback. See docs/ for the configuration and every command.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if f, ok := c.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) && c.logFormat != "json" {
				c.bar = progress.New(c.stderr)
			}
			log, err := logging.New(c.logWriter(), c.logFormat, c.logLevel)
			if err != nil {
				return exitcode.With(exitcode.Usage, err)
			}
			c.log = log
			if c.cpuProfile != "" {
				f, err := os.Create(c.cpuProfile)
				if err != nil {
					return exitcode.With(exitcode.Usage, fmt.Errorf("--cpu-profile: %w", err))
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					return exitcode.With(exitcode.Usage, fmt.Errorf("--cpu-profile: %w", err))
				}
				c.profile = f
			}
			c.started = true
			return nil
		},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	flags := root.PersistentFlags()
	flags.StringVarP(&c.configPath, "config", "c", "./switcharoo.yaml", "configuration file")
	flags.StringVar(&c.logFormat, "log-format", "", "log format: console or json (default: console on a terminal, json otherwise)")
	flags.StringVar(&c.logLevel, "log-level", "info", "log level: trace, debug, info, warn or error")
	flags.StringVar(&c.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the command to this file (go tool pprof reads it)")

	root.AddCommand(c.versionCommand(), c.configCommand(), c.replicateCommand(), c.statusCommand(), c.verifyCommand(), c.dnsCommand(), c.appCommand(), c.sandboxCommand(), c.grantsCommand())
	root.AddCommand(c.runbookCommands()...)
	// cobra's completion command; a shell it does not know is a usage
	// error (exit 2), not its help.
	root.InitDefaultCompletionCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() == "completion" {
			cmd.Args = cobra.ArbitraryArgs
			cmd.RunE = func(cmd *cobra.Command, args []string) error {
				return exitcode.With(exitcode.Usage, fmt.Errorf("completion: name a shell: bash, zsh, fish or powershell (got %q)", strings.Join(args, " ")))
			}
		}
	}
	return root
}

// logWriter is where the log goes: stderr, through the progress bar on a
// terminal.
func (c *cli) logWriter() io.Writer {
	if c.bar != nil {
		return c.bar
	}
	return c.stderr
}

// httpFlag adds --http to a command that serves the cockpit.
func (c *cli) httpFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.httpAddr, "http", "", "serve the live status page and Prometheus /metrics on this address, e.g. 127.0.0.1:8080 (beyond loopback, "+cockpit.TokenEnv+" must hold a bearer token)")
}

// serveCockpit starts the cockpit when --http was given, with the log
// copied into it; nil without --http.
func (c *cli) serveCockpit(command string) (*cockpit.Board, error) {
	if c.httpAddr == "" {
		return nil, nil
	}
	board := cockpit.NewBoard(command)
	log, err := logging.New(c.logWriter(), c.logFormat, c.logLevel, board)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	srv, err := cockpit.Serve(c.httpAddr, secret.New(os.Getenv(cockpit.TokenEnv)), board)
	if err != nil {
		return nil, exitcode.With(exitcode.Usage, err)
	}
	c.log, c.cockpit = log, srv
	c.log.Info().Str("url", "http://"+srv.Addr+"/").Msg("the cockpit serves the live status page and /metrics")
	return board, nil
}

// loadConfig loads the file given by --config.
func (c *cli) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(c.configPath)
	if err != nil {
		return nil, err
	}
	c.log.Debug().Str("file", c.configPath).Msg("config loaded")
	return cfg, nil
}
