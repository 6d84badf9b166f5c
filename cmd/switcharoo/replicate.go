package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/cockpit"
	"github.com/switcharoo/switcharoo/internal/exitcode"
)

func (c *cli) replicateCommand() *cobra.Command {
	var opts binlog.RunOptions
	var ddlApplied string
	var reverse bool
	cmd := &cobra.Command{
		Use:   "replicate",
		Short: "Copy the source into the target, then stream every change until stopped",
		Long: `Checks both servers, copies every replicated table under one consistent
snapshot (resuming an interrupted copy), then applies every change from the
source's binlog, exactly once, until SIGINT or SIGTERM, when it stops at a
transaction boundary. It survives restarts and lost connections: run it
again and it continues from the checkpoint kept on the target.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ddlApplied != "" {
				p, err := binlog.ParsePosition(ddlApplied)
				if err != nil {
					return exitcode.With(exitcode.Usage, fmt.Errorf("--ddl-applied: %w", err))
				}
				opts.DDLApplied = p
			}
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			if reverse {
				cfg = binlog.ReverseConfig(cfg)
				opts.GuardTarget = true
			}
			board, err := c.serveCockpit("replicate")
			if err != nil {
				return err
			}
			r, err := binlog.New(cfg, c.log)
			if err != nil {
				return err
			}
			defer r.Close()
			stopFollow := func() {}
			if board != nil || c.bar != nil {
				stopFollow, err = cutover.FollowReplication(cmd.Context(), cfg, func(rep cockpit.Replication) {
					rep.BinlogBytesRead = r.BinlogBytesRead()
					board.Replicated(rep)
					if rep.Copy != nil {
						c.bar.Set("copy", "rows", rep.Copy.Done, rep.Copy.Total)
					} else {
						c.bar.Complete() // the copy is over, if one was shown
					}
				})
				if err != nil {
					return err
				}
			}
			err = r.Run(cmd.Context(), opts)
			stopFollow()
			if err == nil {
				c.bar.Complete() // a copy shown is over
			} else {
				c.bar.Finish()
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&opts.UntilCaughtUp, "until-caught-up", false, "exit 0 once everything the source had written when replicate started is applied")
	c.httpFlag(cmd)
	cmd.Flags().BoolVar(&reverse, "reverse", false, "replicate from the target back to the source, from where the runbook seeded it at the switchover")
	cmd.Flags().StringVar(&ddlApplied, "ddl-applied", "", "FILE:POS of a schema change you applied to the target by hand after a stop under replication.ddl: stop")
	return cmd
}
