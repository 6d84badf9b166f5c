package cutover

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/dnsswap"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// Sandbox is a local world to practise the night in: the sandbox Env
// (servers, emulators, sample application) with switcharoo's replicator
// running in it, caught up, and the DNS TTLs lowered.
type Sandbox struct {
	*sandbox.Env
	log zerolog.Logger

	mu      sync.Mutex
	cancels []context.CancelFunc
	wg      sync.WaitGroup
}

// SandboxCredentials are the AWS credentials the emulators accept; the
// SDK's default chain reads them from the environment.
var SandboxCredentials = map[string]string{
	"AWS_ACCESS_KEY_ID":         "AKIDSANDBOX",
	"AWS_SECRET_ACCESS_KEY":     "sandbox-secret",
	"AWS_EC2_METADATA_DISABLED": "true",
	// The user's own AWS profiles play no part in the sandbox.
	"AWS_CONFIG_FILE":             os.DevNull,
	"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
}

// StartSandbox builds the world in o.Dir; o.Binary is the switcharoo
// executable the emulated tasks run. The caller sets SandboxCredentials in
// the environment first.
func StartSandbox(ctx context.Context, o sandbox.EnvOptions, log zerolog.Logger) (*Sandbox, error) {
	env, err := sandbox.StartEnv(ctx, o)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{Env: env, log: log}
	if err := s.prepare(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// prepare starts replication, waits until it streams, and lowers the TTLs.
func (s *Sandbox) prepare(ctx context.Context) error {
	s.replicate(s.Config, binlog.RunOptions{}, true)
	target, err := sql.Open("mysql", s.Target.DSN(""))
	if err != nil {
		return err
	}
	defer target.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := binlog.ReadStatus(ctx, target, s.Config.Replication.CheckpointSchema)
		if err == nil && st.State == binlog.StateStreaming {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox: replication did not start streaming (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sw, err := dnsswap.New(ctx, s.Config, s.log)
	if err != nil {
		return err
	}
	lowered, err := sw.LowerTTL(ctx)
	if err != nil {
		return err
	}
	for _, l := range lowered {
		time.Sleep(time.Until(l.SwapAllowedAt))
	}
	return nil
}

// replicate runs a replicator for cfg until Stop. A supervised one is
// started again whenever it ends, as a service manager would: after the
// switch its preflight refuses (replicating the old source again would
// replay the new side's changes), after a rollback it runs again.
func (s *Sandbox) replicate(cfg *config.Config, opts binlog.RunOptions, supervised bool) {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.cancels = append(s.cancels, cancel)
	s.mu.Unlock()
	log := s.log.With().Str("replicator", cfg.Replication.CheckpointSchema).Logger()
	s.wg.Go(func() {
		for {
			r, err := binlog.New(cfg, log)
			if err != nil {
				log.Error().Err(err).Msg("sandbox replicator")
				return
			}
			err = r.Run(ctx, opts)
			r.Close()
			if err != nil {
				log.Debug().Err(err).Msg("sandbox replicator ended")
			}
			if !supervised {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
}

// StartReverse runs reverse replication in the sandbox: the runbook's
// Options.StartReverse.
func (s *Sandbox) StartReverse(context.Context) error {
	s.replicate(binlog.ReverseConfig(s.Config), binlog.RunOptions{GuardTarget: true}, false)
	return nil
}

// Stop stops the replicators, the emulators and the servers.
func (s *Sandbox) Stop() {
	s.mu.Lock()
	for _, c := range s.cancels {
		c()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.Env.Stop()
}

// LostWrites returns the writes the sample application saw acknowledged
// that the given server does not hold, and how many were acknowledged.
func (s *Sandbox) LostWrites(ctx context.Context, on *sandbox.MariaDB) ([]int64, int, error) {
	return sandbox.LostWrites(ctx, s.AckFile, on.DSN(""))
}

// Demo runs the whole night on a fresh sandbox in dir: plan, run, report;
// then checks that no acknowledged write was lost, and tears the sandbox
// down (dir keeps the configuration, journal, reports and task logs).
func Demo(ctx context.Context, dir, binary string, out io.Writer, log zerolog.Logger) error {
	start := time.Now()
	fmt.Fprintf(out, "Starting the sandbox in %s: two MariaDB servers, a Route 53 and an ECS/EventBridge emulator, a web service and a cron job writing through db.example.test…\n", dir)
	sb, err := StartSandbox(ctx, sandbox.EnvOptions{Dir: dir, Binary: binary}, log)
	if err != nil {
		return err
	}
	defer sb.Stop()
	fmt.Fprintf(out, "Replication is streaming (copied in %s). Planning the night…\n", time.Since(start).Round(time.Millisecond))
	rb, err := New(ctx, sb.Config, log, Options{Yes: true, StartReverse: sb.StartReverse})
	if err != nil {
		return err
	}
	defer rb.Close()
	plan, hash, err := rb.Plan(ctx)
	if err != nil {
		return err
	}
	for i, p := range plan {
		fmt.Fprintf(out, "%2d. %-16s %s\n", i, p.Step, p.Plan)
	}
	fmt.Fprintf(out, "plan hash %s. Running it…\n", hash)
	rb.opts.PlanHash = hash
	report, err := rb.Run(ctx)
	if report != nil {
		var b strings.Builder
		report.WriteText(&b)
		fmt.Fprint(out, b.String())
	}
	if err != nil {
		return err
	}
	time.Sleep(time.Second) // the sample application writes on the new side a while
	lost, acked, err := sb.LostWrites(ctx, sb.Target)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d writes acknowledged to the sample application; %d missing on the new primary.\n", acked, len(lost))

	if len(lost) > 0 {
		return fmt.Errorf("writes lost: %v", lost)
	}
	fmt.Fprintf(out, "Done in %s. Configuration, journal and reports are in %s.\n", time.Since(start).Round(time.Second), dir)
	return nil
}
