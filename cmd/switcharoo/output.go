package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/pflag"
	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// outputFlag adds --output (-o) text|json to a command that prints state.
func outputFlag(flags *pflag.FlagSet, format *string) {
	flags.StringVarP(format, "output", "o", "text", "output format: text or json")
}

// checkOutput refuses an --output other than text or json.
func checkOutput(format string) error {
	if format != "text" && format != "json" {
		return exitcode.With(exitcode.Usage, fmt.Errorf("--output: must be text or json, got %q", format))
	}
	return nil
}

// printJSON prints v, indented, on stdout.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
