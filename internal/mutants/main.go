package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	files     []string
	sample    int
	seed      uint64
	budget    time.Duration
	results   string
	out       string
	check     bool
	survivors bool
	command   string
}

func main() {
	var o options
	files := flag.String("files", "", "comma-separated files to mutate (default: every safety-critical file)")
	flag.IntVar(&o.sample, "sample", 0, "run at most N mutants of each file, chosen at random (0: all)")
	flag.Uint64Var(&o.seed, "seed", 0, "seed for -sample (0: from the clock; printed)")
	flag.DurationVar(&o.budget, "for", 0, "start no mutant after this long (0: no limit); results so far are kept")
	flag.StringVar(&o.results, "results", "internal/mutants/results/results.json", "the cached results")
	flag.StringVar(&o.out, "out", "docs/mutation.md", "the report")
	flag.BoolVar(&o.check, "check", false, "CI sample: ignore and keep the cache and the report; fail when a mutant survives that the report does not explain")
	flag.BoolVar(&o.survivors, "survivors", false, "run again only the cached survivors (after adding tests that should catch them)")
	flag.StringVar(&o.command, "command", "go tool task mutants", "the command named in the report")
	flag.Parse()
	o.files = slices.Sorted(maps.Keys(targets))
	if *files != "" {
		o.files = strings.Split(*files, ",")
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "mutants:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "switcharoo-mutants-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &runner{root: root, tmp: tmp}
	cached := map[string]Result{}
	if !o.check {
		rs, err := loadResults(o.results)
		if err != nil {
			return err
		}
		for _, res := range rs {
			cached[res.key()] = res
		}
	}
	explained, err := readExplanations(o.out)
	if err != nil {
		return err
	}
	fmt.Printf("mutants: seed %d\n", o.seed)
	rng := rand.New(rand.NewPCG(o.seed, 0))
	start := time.Now()
	var unexplained []string
	for _, file := range o.files {
		t, ok := targets[file]
		if !ok {
			return fmt.Errorf("-files: %s is not a target; the targets are %s", file, strings.Join(slices.Sorted(maps.Keys(targets)), ", "))
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("-files: %w", err)
		}
		hash := fileHash(src)
		ms, err := Mutants(file, src)
		if err != nil {
			return err
		}
		todo := ms
		if !o.check {
			// Forget the results of this file's earlier versions and of
			// mutants the generator no longer makes.
			maps.DeleteFunc(cached, func(_ string, res Result) bool {
				return res.File == file && (res.Hash != hash || !slices.ContainsFunc(ms, func(m Mutant) bool { return m.ID == res.ID }))
			})
			todo = slices.DeleteFunc(slices.Clone(ms), func(m Mutant) bool {
				res, done := cached[Result{File: file, Hash: hash, ID: m.ID}.key()]
				if o.survivors {
					return !done || res.Status != survived
				}
				return done
			})
		}
		if o.sample > 0 && o.sample < len(todo) {
			rng.Shuffle(len(todo), func(i, j int) { todo[i], todo[j] = todo[j], todo[i] })
			todo = todo[:o.sample]
		}
		if len(todo) > 0 && !o.over(start) {
			if base, err := r.test(ctx, file, src, t); err != nil {
				return err
			} else if base.Status != survived {
				return fmt.Errorf("%s: the unmutated tests do not pass (%s), so no mutant can be judged:\n%s", file, base.Status, base.Output)
			}
		}
		for i, m := range todo {
			if o.over(start) {
				break
			}
			out, err := r.test(ctx, file, m.Apply(src), t)
			if err != nil {
				return err
			}
			res := Result{File: file, Hash: hash, ID: m.ID, Op: m.Op, Line: m.Line, Status: out.Status,
				Test: out.Test, Seconds: out.Seconds, At: time.Now().UTC()}
			fmt.Printf("%s %d/%d %s:%d %s  %s %s (%.0fs)\n", file, i+1, len(todo), file, m.Line, m.ID, out.Status, out.Test, out.Seconds)
			if out.Status == survived && explained[file+"\x00"+m.ID] == "" {
				unexplained = append(unexplained, fmt.Sprintf("%s:%d %s", file, m.Line, m.ID))
			}
			if o.check {
				continue
			}
			cached[res.key()] = res
			if err := saveResults(o.results, file, cached); err != nil {
				return err
			}
		}
	}
	fmt.Printf("mutants: done in %s\n", time.Since(start).Round(time.Second))
	if o.check {
		if len(unexplained) > 0 {
			return fmt.Errorf("%d mutants survived that %s does not explain (run %s -files on their file, then add a test or explain them):\n  %s",
				len(unexplained), o.out, o.command, strings.Join(unexplained, "\n  "))
		}
		return nil
	}
	// The report covers every target, not only this run's -files.
	var states []fileState
	for _, file := range slices.Sorted(maps.Keys(targets)) {
		st, err := stateOf(file, cached)
		if err != nil {
			return err
		}
		states = append(states, st)
	}
	if err := os.WriteFile(o.out, []byte(render(states, explained, o.command)), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	fmt.Printf("mutants: wrote %s\n", o.out)
	return nil
}

// over says whether the -for budget is spent.
func (o options) over(start time.Time) bool {
	return o.budget > 0 && time.Since(start) > o.budget
}

// stateOf is a file's mutants and cached results, without running any.
func stateOf(file string, cached map[string]Result) (fileState, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return fileState{}, fmt.Errorf("read %s: %w", file, err)
	}
	hash := fileHash(src)
	ms, err := Mutants(file, src)
	if err != nil {
		return fileState{}, err
	}
	// Results of mutants the generator no longer makes (its operators
	// changed) are left out.
	ids := map[string]bool{}
	for _, m := range ms {
		ids[m.ID] = true
	}
	st := fileState{file: file, mutants: len(ms)}
	for _, res := range cached {
		if res.File == file && res.Hash == hash && ids[res.ID] {
			st.results = append(st.results, res)
		}
	}
	slices.SortFunc(st.results, func(a, b Result) int { return cmpOr(a.Line-b.Line, strings.Compare(a.ID, b.ID)) })
	return st, nil
}

func fileHash(src []byte) string {
	sum := sha256.Sum256(src)
	return hex.EncodeToString(sum[:])
}
