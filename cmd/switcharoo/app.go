package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/deploy"
	"github.com/switcharoo/switcharoo/internal/exitcode"
)

func (c *cli) appCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Stop, redeploy and start the application's writers",
		Long: `Runs the actions of the app section: app.stop (scale ECS services to 0,
disable and drain scheduled jobs, hooks), app.deploy (redeploy against the new
database) and app.start (bring back what stop stopped, then the start list).
See docs/app.md.`,
	}
	outputFlag(cmd.PersistentFlags(), &output)
	runner := func(cmd *cobra.Command) (*deploy.Runner, error) {
		if err := checkOutput(output); err != nil {
			return nil, err
		}
		cfg, err := c.loadConfig()
		if err != nil {
			return nil, err
		}
		return deploy.New(cmd.Context(), cfg, c.log)
	}
	emit := func(v any, text func(w io.Writer) error) error {
		if output == "json" {
			return c.printJSON(v)
		}
		return text(c.stdout)
	}

	plan := &cobra.Command{
		Use:   "plan",
		Short: "Print what every action would do; changes nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := runner(cmd)
			if err != nil {
				return err
			}
			p, err := r.Plan(cmd.Context())
			if err != nil {
				return exitcode.With(exitcode.Usage, err)
			}
			return emit(p, func(w io.Writer) error {
				for _, x := range p {
					if _, err := fmt.Fprintf(w, "%s: %s\n", x.Action, x.Plan); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	phase := func(use, short string, run func(cmd *cobra.Command, r *deploy.Runner) error) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				r, err := runner(cmd)
				if err != nil {
					return err
				}
				return run(cmd, r)
			},
		}
	}
	stop := phase("stop", "Run app.stop: the writers stop (undone in reverse if an action fails)", func(cmd *cobra.Command, r *deploy.Runner) error {
		return r.Run(cmd.Context(), deploy.Stop)
	})
	redeploy := phase("deploy", "Run app.deploy: redeploy against the new database (undone if it fails)", func(cmd *cobra.Command, r *deploy.Runner) error {
		return r.Run(cmd.Context(), deploy.Deploy)
	})
	start := phase("start", "Bring back what app stop stopped, then run app.start", func(cmd *cobra.Command, r *deploy.Runner) error {
		if err := r.Undo(cmd.Context(), deploy.Stop); err != nil {
			return exitcode.With(exitcode.NeedsHuman, fmt.Errorf("restoring what app stop stopped: %w", err))
		}
		if err := r.Run(cmd.Context(), deploy.Start); err != nil {
			return err
		}
		return r.ForgetStop()
	})
	status := phase("status", "Show each service, rule and schedule, and what was recorded to restore", func(cmd *cobra.Command, r *deploy.Runner) error {
		st, err := r.Status(cmd.Context())
		if err != nil {
			return exitcode.With(exitcode.Usage, err)
		}
		return emit(st, func(w io.Writer) error {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tRESOURCE\tSTATE\tRECORDED")
			for _, s := range st {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Kind, s.Resource, s.State, s.Recorded)
			}
			return tw.Flush()
		})
	})
	cmd.AddCommand(plan, stop, redeploy, start, status)
	return cmd
}
