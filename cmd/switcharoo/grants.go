package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/exitcode"
	"github.com/switcharoo/switcharoo/internal/privileges"
)

func (c *cli) grantsCommand() *cobra.Command {
	var opts cutover.GrantsOptions
	cmd := &cobra.Command{
		Use:   "grants",
		Short: "Print the GRANT statements every configured user needs for the night",
		Long: `Prints, per server and user, the GRANT statements that give every privilege
the configured night needs: the runbook's fences, forward replication and its
copy, reverse replication, the heartbeat, the write probe. Each privilege
comes with the features that need it; what no grant can give on the server's
flavor (read_only on Aurora) is a comment saying what to configure instead.

The flavor of each server is read from the live server; one switcharoo
cannot reach is named with --source-flavor or --target-flavor (` + privileges.FlavorNames + `).
The accounts are those the servers report for the configured users, or
'user'@'%' when unreachable. plan and the runbook's preflight check the same
list. It changes nothing and prints no secret.

Exit codes: 0 printed, 2 usage or config error, 3 a server unreachable
without its flavor given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for flag, name := range map[string]string{"source-flavor": opts.SourceFlavor, "target-flavor": opts.TargetFlavor} {
				if name == "" {
					continue
				}
				if _, err := privileges.ParseFlavor(name); err != nil {
					return exitcode.With(exitcode.Usage, fmt.Errorf("--%s: %w", flag, err))
				}
			}
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			text, err := cutover.Grants(cmd.Context(), cfg, opts)
			if err != nil {
				return exitcode.With(exitcode.Failed, err)
			}
			_, err = fmt.Fprint(c.stdout, text)
			return err
		},
	}
	cmd.Flags().StringVar(&opts.SourceFlavor, "source-flavor", "", "the source's flavor, when switcharoo cannot reach it: "+privileges.FlavorNames)
	cmd.Flags().StringVar(&opts.TargetFlavor, "target-flavor", "", "the target's flavor, when switcharoo cannot reach it")
	return cmd
}
