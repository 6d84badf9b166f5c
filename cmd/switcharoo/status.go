package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/mysqlconn"
)

func (c *cli) statusCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show replication's state, position, lag, rate and copy progress, and the last run of the night",
		Long: `Reads the replicator's state from the target (the checkpoint schema), so it
works from any machine and whether or not replicate is running; and the last
run of the night from the journal in state_dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := c.loadConfig()
			if err != nil {
				return err
			}
			db, err := mysqlconn.Open(cfg.Target, "", nil)
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := binlog.ReadStatus(cmd.Context(), db, cfg.Replication.CheckpointSchema)
			switch {
			case errors.Is(err, binlog.ErrNoCheckpoint):
				s = &binlog.Status{State: binlog.StateStopped}
				c.log.Warn().Msg("no replication state on the target: replicate has not run against it")
			case err != nil:
				return fmt.Errorf("target %s: %w", mysqlconn.Addr(cfg.Target), err)
			}
			run, err := cutover.LastRun(cfg.StateDir)
			if err != nil {
				return err
			}
			// After the switch, the old master is fenced by read_only alone:
			// what reverse replication's write guard found written there.
			var foreign *int64
			if run.State == "finished" {
				if n, err := oldMasterForeignWrites(cmd.Context(), cfg); err != nil {
					c.log.Warn().Err(err).Msg("the old master's write guard cannot be read")
				} else {
					foreign = &n
				}
			}
			if output == "json" {
				return c.printJSON(struct {
					*binlog.Status
					Runbook         *cutover.RunStatus `json:"runbook"`
					OldMasterWrites *int64             `json:"old_master_foreign_writes,omitempty"`
				}{s, run, foreign})
			}
			_, err = fmt.Fprintf(c.stdout, "state       %s\nlag         %d ms\ncheckpoint  %s:%d\ngtid        %s\nrate        %.0f rows/s\ncopy        %d of about %d rows\ndivergences %d\nrunbook     %s\n",
				s.State, s.LagMillis, s.Checkpoint.File, s.Checkpoint.Pos, s.Checkpoint.GTID, s.RowsPerSecond, s.Copy.RowsDone, s.Copy.RowsTotal, s.Divergences, describeRun(run))
			if err == nil && foreign != nil {
				_, err = fmt.Fprintf(c.stdout, "old master  %d writes reverse replication did not make (%s%s.divergence on the source)\n", *foreign, cfg.Replication.CheckpointSchema, binlog.ReverseSuffix)
			}
			return err
		},
	}
	outputFlag(cmd.Flags(), &output)
	return cmd
}

// oldMasterForeignWrites counts the writes reverse replication's write
// guard found on the source that it did not make.
func oldMasterForeignWrites(ctx context.Context, cfg *config.Config) (int64, error) {
	db, err := mysqlconn.Open(cfg.Source, "", nil)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return binlog.ReadDivergences(ctx, db, cfg.Replication.CheckpointSchema+binlog.ReverseSuffix)
}

// describeRun says where the last run of the night stands, in a line.
func describeRun(r *cutover.RunStatus) string {
	if r.State == "none" {
		return "no run yet"
	}
	text := fmt.Sprintf("%s, run %s, %d steps done", r.State, r.Run, len(r.Done))
	if r.State == "in progress" {
		text += fmt.Sprintf("; last: %s %s", r.LastEvent, r.Step)
		if r.Error != "" {
			text += ": " + r.Error
		}
		text += " (switcharoo resume or switcharoo rollback)"
	}
	return text
}
