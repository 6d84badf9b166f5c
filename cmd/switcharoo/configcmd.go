package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func (c *cli) configCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the configuration file",
	}
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate the config and print the effective config, secrets masked",
		Long: `Loads the file given by --config, applies SWITCHAROO_* environment overrides,
validates every key and reads every secret it names, then prints the effective
configuration with every secret masked. It contacts no server.
Exit code 2 lists every problem found.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			out, err := cfg.YAML()
			if err != nil {
				return fmt.Errorf("render config: %w", err)
			}
			if output == "json" {
				// The same document, keys as in the file, secrets masked.
				var doc any
				if err := yaml.Unmarshal(out, &doc); err != nil {
					return fmt.Errorf("render config: %w", err)
				}
				err = c.printJSON(doc)
			} else {
				_, err = fmt.Fprintf(c.stdout, "# effective configuration of %s (secrets masked)\n%s", c.configPath, out)
			}
			if err != nil {
				return err
			}
			c.log.Info().Str("file", c.configPath).Msg("config is valid")
			return nil
		},
	}
	outputFlag(check.Flags(), &output)
	cmd.AddCommand(check)
	return cmd
}
