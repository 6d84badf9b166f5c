package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/cutover"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandbox"
	"github.com/switcharoo/switcharoo/internal/traffic"
)

// cutover runs the demo's night on a fresh sandbox several times in each
// shape: keeping the site serving (the DNS swap before the rolling
// redeploy), and the seed's stop-all with the swap after the redeploy and
// before it. Through each night the sandbox's users send requests through
// its load balancer, and the runbook's checks.http_probe measures what
// they saw; its write probe measures the database's unavailability window.
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
		for _, sh := range nightShapes {
			b.logf("cutover %d of %d, app_mode %s, dns_swap %s", i, b.o.cutovers, sh.appMode, sh.dnsSwap)
			r, err := b.night(ctx, filepath.Join(b.o.workDir, fmt.Sprintf("night-%d-%s-%s", i, sh.appMode, sh.dnsSwap)), sh, log)
			if err != nil {
				return err
			}
			b.report.Cutover = append(b.report.Cutover, r)
		}
	}
	return nil
}

// nightShape is what a night does with the application.
type nightShape struct{ appMode, dnsSwap string }

var nightShapes = []nightShape{
	{config.AppModeKeepServing, config.DNSSwapBeforeDeploy},
	{config.AppModeStopAll, config.DNSSwapAfterDeploy},
	{config.AppModeStopAll, config.DNSSwapBeforeDeploy},
}

// night is one sandbox's night, measured.
func (b *bench) night(ctx context.Context, dir string, sh nightShape, log zerolog.Logger) (cutoverRun, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return cutoverRun{}, err
	}
	sb, err := cutover.StartSandbox(ctx, sandbox.EnvOptions{Dir: dir, Binary: b.o.binaryAbs, StopAll: sh.appMode == config.AppModeStopAll}, log)
	if err != nil {
		return cutoverRun{}, err
	}
	defer sb.Stop()
	sb.Config.Cutover.DNSSwap = sh.dnsSwap
	rb, err := cutover.New(ctx, sb.Config, log, cutover.Options{Yes: true, StartReverse: sb.StartReverse})
	if err != nil {
		return cutoverRun{}, err
	}
	defer rb.Close()
	report, err := rb.Run(ctx)
	if err != nil {
		return cutoverRun{}, fmt.Errorf("the night failed: %w", err)
	}
	if report.Writes == nil || report.Users == nil {
		return cutoverRun{}, fmt.Errorf("the night's report lacks the write probe's or the users' measure")
	}
	lost, acked, err := sb.LostWrites(ctx, sb.Target)
	if err != nil {
		return cutoverRun{}, err
	}
	run := cutoverRun{AppMode: sh.appMode, DNSSwap: sh.dnsSwap, WindowMS: report.Writes.WindowMS, DNSCacheMS: report.Writes.DNSCacheMS,
		Users: *report.Users, Acknowledged: acked, Lost: len(lost), StepMS: map[string]int64{}}
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
	AppMode      string           `json:"app_mode"`
	DNSSwap      string           `json:"dns_swap"`
	Users        traffic.Summary  `json:"users"`
	WindowMS     int64            `json:"write_unavailability_ms"`
	DNSCacheMS   int64            `json:"dns_cache_ms"`
	Acknowledged int              `json:"writes_acknowledged"`
	Lost         int              `json:"writes_lost"`
	Steps        []string         `json:"steps"`
	StepMS       map[string]int64 `json:"step_ms"`
}
