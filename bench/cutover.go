package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/config"
)

// cutover runs the demo's night on a fresh sandbox several times in each
// place of the DNS swap (before and after the redeploy): its
// sample web service and cron job write through the DNS name all along,
// and the runbook's write probe measures the unavailability window.
func (b *bench) cutover(ctx context.Context) error {
	for k, v := range cutover.SandboxCredentials {
		os.Setenv(k, v)
	}
	logFile, err := os.Create(filepath.Join(b.o.workDir, "cutover.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := zerolog.New(logFile).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	for i := 1; i <= b.o.cutovers; i++ {
		for _, order := range []string{config.DNSSwapAfterDeploy, config.DNSSwapBeforeDeploy} {
			b.logf("cutover %d of %d, dns_swap %s", i, b.o.cutovers, order)
			r, err := b.night(ctx, filepath.Join(b.o.workDir, fmt.Sprintf("night-%d-%s", i, order)), order, log)
			if err != nil {
				return err
			}
			b.report.Cutover = append(b.report.Cutover, r)
		}
	}
	return nil
}

// night is one sandbox's night, measured.
func (b *bench) night(ctx context.Context, dir, order string, log zerolog.Logger) (cutoverRun, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return cutoverRun{}, err
	}
	sb, err := cutover.StartSandbox(ctx, dir, b.o.binaryAbs, log)
	if err != nil {
		return cutoverRun{}, err
	}
	defer sb.Stop()
	sb.Config.Cutover.DNSSwap = order
	rb, err := cutover.New(ctx, sb.Config, log, cutover.Options{Yes: true, StartReverse: sb.StartReverse})
	if err != nil {
		return cutoverRun{}, err
	}
	defer rb.Close()
	report, err := rb.Run(ctx)
	if err != nil {
		return cutoverRun{}, fmt.Errorf("the night failed: %w", err)
	}
	if report.Writes == nil {
		return cutoverRun{}, fmt.Errorf("the night's report has no write-unavailability measure")
	}
	lost, acked, err := sb.LostWrites(ctx, sb.Target)
	if err != nil {
		return cutoverRun{}, err
	}
	run := cutoverRun{DNSSwap: order, WindowMS: report.Writes.WindowMS, DNSCacheMS: report.Writes.DNSCacheMS,
		Acknowledged: acked, Lost: len(lost), StepMS: map[string]int64{}}
	for _, s := range report.Steps {
		if !s.Undo {
			run.StepMS[s.Step] = s.DurationMS
			run.Steps = append(run.Steps, s.Step)
		}
	}
	if run.Lost > 0 {
		return run, fmt.Errorf("the night lost %d acknowledged writes: %v", run.Lost, lost)
	}
	return run, nil
}

// cutoverRun is one night's measure.
type cutoverRun struct {
	DNSSwap      string           `json:"dns_swap"`
	WindowMS     int64            `json:"write_unavailability_ms"`
	DNSCacheMS   int64            `json:"dns_cache_ms"`
	Acknowledged int              `json:"writes_acknowledged"`
	Lost         int              `json:"writes_lost"`
	Steps        []string         `json:"steps"`
	StepMS       map[string]int64 `json:"step_ms"`
}
