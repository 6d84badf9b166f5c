package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/checks"
	"github.com/switcharoo/switcharoo/internal/exitcode"
)

func (c *cli) verifyCommand() *cobra.Command {
	var (
		output string
		tables []string
		flags  checks.VerifyOptions
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Compare every replicated table of the source with the target",
		Long: `Compares the replicated tables chunk by chunk, each chunk checksummed on its
own server so that only checksums cross the network, and lists the rows that
differ. While replicate runs, a differing chunk is compared again once the
replicator has caught up; with --fenced (the source takes no writes) one
pass is definitive. It changes nothing.

Exit codes: 0 identical, 1 differences found, 2 usage or config error,
3 runtime error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			opts := checks.OptionsFrom(cfg)
			opts.Tables, opts.Fast, opts.Fenced = tables, flags.Fast, flags.Fenced
			fl := cmd.Flags()
			if fl.Changed("chunk-rows") {
				opts.ChunkRows = flags.ChunkRows
			}
			if fl.Changed("workers") {
				opts.Workers = flags.Workers
			}
			if fl.Changed("max-rate") {
				opts.MaxRate = flags.MaxRate
			}
			switch {
			case opts.ChunkRows < 1:
				return exitcode.With(exitcode.Usage, fmt.Errorf("--chunk-rows: must be at least 1, got %d", opts.ChunkRows))
			case opts.Workers < 1 || opts.Workers > 64:
				return exitcode.With(exitcode.Usage, fmt.Errorf("--workers: must be 1..64, got %d", opts.Workers))
			case opts.MaxRate < 0:
				return exitcode.With(exitcode.Usage, fmt.Errorf("--max-rate: must be 0 (no limit) or more, got %d", opts.MaxRate))
			}
			if c.bar != nil {
				opts.OnProgress = func(rows, estimate int64) { c.bar.Set("verify", "rows", rows, estimate) }
			}
			report, err := checks.Verify(cmd.Context(), cfg, opts, c.log)
			if err != nil {
				c.bar.Finish()
				return err
			}
			c.bar.Complete()
			if output == "json" {
				err = c.printJSON(report)
			} else {
				err = report.WriteText(c.stdout)
			}
			if err != nil {
				return err
			}
			if !report.Identical {
				return exitcode.With(exitcode.Problem, fmt.Errorf("the target differs from the source (differences: %d; the report above lists them)", len(report.Differences)))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&tables, "tables", nil, "compare only these tables: db.table glob patterns, comma-separated")
	f.IntVar(&flags.ChunkRows, "chunk-rows", 0, "rows per chunk (default checks.verify.chunk_rows)")
	f.IntVar(&flags.Workers, "workers", 0, "chunks compared at once (default checks.verify.workers)")
	f.IntVar(&flags.MaxRate, "max-rate", 0, "rows read per second from the source, 0 for no limit (default checks.verify.max_rate)")
	f.BoolVar(&flags.Fast, "fast", false, "checksums and counts only: report differing chunks, not rows")
	f.BoolVar(&flags.Fenced, "fenced", false, "the source takes no writes: one pass is definitive, no re-checks")
	outputFlag(f, &output)
	return cmd
}
