package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc1234" ./cmd/switcharoo
//
// Without them, commit comes from the VCS stamp Go embeds in the binary.
var (
	version = "dev"
	commit  = ""
)

func (c *cli) versionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			platform := runtime.GOOS + "/" + runtime.GOARCH
			if output == "json" {
				return c.printJSON(map[string]string{"version": version, "commit": buildCommit(), "go": runtime.Version(), "platform": platform})
			}
			_, err := fmt.Fprintf(c.stdout, "switcharoo %s\ncommit     %s\ngo         %s %s\n", version, buildCommit(), runtime.Version(), platform)
			return err
		},
	}
	outputFlag(cmd.Flags(), &output)
	return cmd
}

func buildCommit() string {
	if commit != "" {
		return commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += " (modified)"
	}
	return rev
}
