package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.binary, "binary", "bin/switcharoo", "the switcharoo binary to measure")
	flag.StringVar(&o.out, "out", "bench/results", "directory for latest.md and latest.json")
	flag.IntVar(&o.tables, "tables", 4, "sysbench tables")
	flag.IntVar(&o.tableRows, "table-rows", 100000, "rows per sysbench table")
	flag.DurationVar(&o.backlog, "backlog", 60*time.Second, "how long sysbench writes the apply scenario's backlog")
	flag.DurationVar(&o.lagTime, "lag-time", 30*time.Second, "how long each lag rate runs")
	flag.StringVar(&o.rates, "rates", "500,1000,2000", "sysbench --rate values (trx/s) of the lag scenario")
	flag.IntVar(&o.cutovers, "cutovers", 5, "runs of the cutover scenario")
	flag.StringVar(&o.only, "only", "apply,verify,copy,lag,cutover", "scenarios to run (verify and lag need apply and copy)")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	binary, out        string
	tables, tableRows  int
	backlog, lagTime   time.Duration
	rates, only        string
	cutovers           int
	scenarios          map[string]bool
	binaryAbs, workDir string
}

func (o *options) check() error {
	abs, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() {
		return fmt.Errorf("no switcharoo binary at %s: build it first (go tool task build), or name it with -binary", o.binary)
	}
	o.binaryAbs = abs
	o.scenarios = map[string]bool{}
	for _, s := range strings.Split(o.only, ",") {
		switch s = strings.TrimSpace(s); s {
		case "apply", "verify", "copy", "lag", "cutover":
			o.scenarios[s] = true
		default:
			return fmt.Errorf("-only: unknown scenario %q (apply, verify, copy, lag, cutover)", s)
		}
	}
	if o.scenarios["verify"] && !o.scenarios["apply"] {
		return fmt.Errorf("-only: verify runs on what apply leaves; add apply")
	}
	if o.scenarios["lag"] && !o.scenarios["copy"] {
		return fmt.Errorf("-only: lag streams into the target copy leaves; add copy")
	}
	return nil
}

// run starts the source, runs the chosen scenarios in order and writes the
// results, also when a scenario failed (what was measured before it).
func run(ctx context.Context, o options) (err error) {
	dir, err := os.MkdirTemp("", "switcharoo-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o.workDir = dir
	b := &bench{o: o, started: time.Now()}
	defer b.stopServers()
	b.report.Machine = readMachine(o.binaryAbs)
	b.report.Settings = strings.Join(serverSettings, " ")
	b.report.Command = strings.Join(append([]string{"go run ./bench"}, os.Args[1:]...), " ")

	err = b.scenarios(ctx)
	if err != nil {
		b.report.Failure = err.Error()
	}
	b.report.Date = b.started.UTC().Format(time.RFC3339)
	b.report.Minutes = time.Since(b.started).Minutes()
	b.report.Goals = goals(&b.report)
	if werr := b.report.write(o.out); werr != nil && err == nil {
		err = werr
	}
	return err
}

func (b *bench) scenarios(ctx context.Context) error {
	if err := b.startSource(ctx); err != nil {
		return err
	}
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"apply", b.apply}, {"verify", b.verify}, {"copy", b.copy}, {"lag", b.lag}, {"cutover", b.cutover},
	}
	for _, s := range steps {
		if !b.o.scenarios[s.name] {
			continue
		}
		b.logf("== %s", s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}
