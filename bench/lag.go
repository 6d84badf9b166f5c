package main

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Probe timing: a row every probeEvery on the source, the target read
// every watchEvery, so a lag is known to within watchEvery.
const (
	probeEvery = 50 * time.Millisecond
	watchEvery = 5 * time.Millisecond
)

// lag streams into the copy scenario's target while sysbench writes at
// each fixed rate, and measures each probe row's end-to-end lag.
func (b *bench) lag(ctx context.Context) error {
	config, err := b.replicateConfig("copy-sbtest", b.source, b.copied, "sbtest")
	if err != nil {
		return err
	}
	src, err := open(b.source, "sbtest")
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := open(b.copied, "sbtest")
	if err != nil {
		return err
	}
	defer dst.Close()

	cmd := exec.CommandContext(ctx, b.o.binaryAbs, "--log-format", "json", "--log-level", "warn", "-c", config, "replicate")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	stopped := false
	stop := func() (float64, error) {
		if stopped {
			return 0, nil
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		rss := 0.0
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = float64(ru.Maxrss) / 1024
		}
		if err != nil {
			return rss, fmt.Errorf("replicate: %w\n%s", err, stderr.String())
		}
		return rss, nil
	}
	defer stop()

	if _, err := src.ExecContext(ctx, "CREATE TABLE bench_probe (id BIGINT AUTO_INCREMENT PRIMARY KEY, sent BIGINT NOT NULL)"); err != nil {
		return err
	}
	if err := poll(ctx, "the probe table on the target", 50*time.Millisecond, time.Minute, func() (bool, error) {
		var n int
		err := dst.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'sbtest' AND TABLE_NAME = 'bench_probe'").Scan(&n)
		return n == 1, err
	}); err != nil {
		return fmt.Errorf("%w\n%s", err, stderr.String())
	}

	var results []lagResult
	for _, field := range strings.Split(b.o.rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || rate <= 0 {
			return fmt.Errorf("-rates: %q is not a positive number", field)
		}
		b.logf("lag at %d trx/s for %s", rate, b.o.lagTime)
		r, err := b.lagAt(ctx, src, dst, rate)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, stderr.String())
		}
		results = append(results, r)
	}
	rss, err := stop()
	if err != nil {
		return err
	}
	for i := range results {
		results[i].PeakRSSMB = rss // one process streamed through every rate
	}
	b.report.Lag = results
	return nil
}

// lagAt runs sysbench at rate while probing.
func (b *bench) lagAt(ctx context.Context, src, dst *sql.DB, rate int) (lagResult, error) {
	res := lagResult{Rate: rate, Command: fmt.Sprintf("sysbench oltp_write_only --rate=%d --threads=8 --time=%d run", rate, int(b.o.lagTime.Seconds()))}
	var lastID int64
	if err := dst.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM bench_probe").Scan(&lastID); err != nil {
		return res, err
	}
	var (
		mu   sync.Mutex
		sent = map[int64]time.Time{}
	)
	load := make(chan error, 1)
	var out string
	go func() {
		var err error
		out, err = b.sysbench(ctx, b.source, "sbtest", b.o.tables, b.o.tableRows,
			"--threads=8", "--rate="+strconv.Itoa(rate), "--time="+strconv.Itoa(int(b.o.lagTime.Seconds())), "--report-interval=0", "run")
		load <- err
	}()
	probes := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				probes <- nil
				return
			case <-t.C:
			}
			at := time.Now()
			r, err := src.ExecContext(ctx, "INSERT INTO bench_probe (sent) VALUES (?)", at.UnixMicro())
			if err != nil {
				probes <- err
				return
			}
			id, _ := r.LastInsertId()
			mu.Lock()
			sent[id] = at
			mu.Unlock()
		}
	}()
	watch := func() error {
		var max int64
		if err := dst.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM bench_probe").Scan(&max); err != nil {
			return err
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for id := lastID + 1; id <= max; id++ {
			if at, ok := sent[id]; ok {
				res.lags = append(res.lags, now.Sub(at))
			}
		}
		if max > lastID {
			lastID = max
		}
		return nil
	}
	var loadErr error
	for running := true; running; {
		select {
		case loadErr = <-load:
			running = false
		case <-time.After(watchEvery):
			if err := watch(); err != nil {
				return res, err
			}
		}
	}
	close(done)
	if err := <-probes; err != nil {
		return res, err
	}
	if loadErr != nil {
		return res, loadErr
	}
	var last int64
	if err := src.QueryRowContext(ctx, "SELECT MAX(id) FROM bench_probe").Scan(&last); err != nil {
		return res, err
	}
	if err := poll(ctx, "the last probe on the target", watchEvery, time.Minute, func() (bool, error) {
		return lastID >= last, watch()
	}); err != nil {
		return res, err
	}
	trx, _, err := sysbenchCounts(out)
	if err != nil {
		return res, err
	}
	res.Achieved = float64(trx) / b.o.lagTime.Seconds()
	res.summarise()
	return res, nil
}

// lagResult is one rate's lag distribution.
type lagResult struct {
	Rate      int     `json:"rate_trx_per_s"`
	Achieved  float64 `json:"achieved_trx_per_s"`
	Command   string  `json:"command"`
	Samples   int     `json:"samples"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	lags      []time.Duration
}

func (r *lagResult) summarise() {
	slices.Sort(r.lags)
	r.Samples = len(r.lags)
	if r.Samples == 0 {
		return
	}
	q := func(p float64) float64 {
		return ms(r.lags[min(len(r.lags)-1, int(p*float64(len(r.lags))))])
	}
	r.P50MS, r.P99MS, r.MaxMS = q(0.50), q(0.99), ms(r.lags[len(r.lags)-1])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
