package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/switcharoo/switcharoo/internal/config"
)

// report is everything one bench run measured.
type report struct {
	Date         string        `json:"date"`
	Minutes      float64       `json:"minutes"`
	Command      string        `json:"command"`
	Machine      machine       `json:"machine"`
	Settings     string        `json:"server_settings"`
	Measurements []measurement `json:"measurements"`
	Lag          []lagResult   `json:"lag"`
	Cutover      []cutoverRun  `json:"cutover"`
	Goals        []goal        `json:"goals"`
	// Profiles: the top of replicate's CPU profile, by scenario.
	Profiles map[string]string `json:"profiles,omitempty"`
	Failure  string            `json:"failure,omitempty"`
}

// measurement is one tool's run of one scenario's case.
type measurement struct {
	Scenario     string  `json:"scenario"`
	Case         string  `json:"case"`
	Tool         string  `json:"tool"`
	Command      string  `json:"command"`
	Seconds      float64 `json:"seconds"`
	Transactions int64   `json:"transactions,omitempty"`
	Rows         int64   `json:"rows"`
	TrxPerSec    float64 `json:"trx_per_s,omitempty"`
	RowsPerSec   float64 `json:"rows_per_s"`
	PeakRSSMB    float64 `json:"peak_rss_mb,omitempty"`
	CPUSeconds   float64 `json:"cpu_seconds,omitempty"` // of the switcharoo process alone
	Notes        string  `json:"notes,omitempty"`
}

func (r *report) add(m measurement) { r.Measurements = append(r.Measurements, m) }

// find is the measurement of tool in scenario's case, or nil.
func (r *report) find(scenario, caseName, tool string) *measurement {
	for i, m := range r.Measurements {
		if m.Scenario == scenario && m.Case == caseName && m.Tool == tool {
			return &r.Measurements[i]
		}
	}
	return nil
}

// machine describes where the numbers were measured.
type machine struct {
	Cores    int               `json:"cores"`
	CPU      string            `json:"cpu"`
	MemoryGB float64           `json:"memory_gb"`
	Kernel   string            `json:"kernel"`
	Versions map[string]string `json:"versions"`
}

func readMachine(binary string) machine {
	m := machine{Cores: runtime.NumCPU(), Versions: map[string]string{"go": runtime.Version()}}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			m.MemoryGB = kb / (1 << 20)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	for name, cmd := range map[string][]string{
		"switcharoo":        {binary, "version"},
		"mariadbd":          {"/usr/sbin/mariadbd", "--version"},
		"sysbench":          {"sysbench", "--version"},
		"mydumper":          {"mydumper", "--version"},
		"pt-table-checksum": {"pt-table-checksum", "--version"},
	} {
		out, err := exec.Command(cmd[0], cmd[1:]...).Output()
		if err != nil {
			m.Versions[name] = "not found"
			continue
		}
		m.Versions[name] = strings.Join(strings.Fields(strings.SplitN(string(out), "\n", 2)[0]), " ")
	}
	return m
}

// goal is one of the targets the engine is designed for.
type goal struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// goals judges the measurements against the design targets; a goal whose
// scenario did not run is left out.
func goals(r *report) []goal {
	var gs []goal
	ratio := func(scenario, caseName, baseline string, want float64, name string, per func(m *measurement) float64) {
		s, base := r.find(scenario, caseName, "switcharoo"), r.find(scenario, caseName, baseline)
		if s == nil || base == nil {
			return
		}
		x := per(s) / per(base)
		gs = append(gs, goal{name, fmt.Sprintf("%.2f× (%.0f vs %.0f)", x, per(s), per(base)), x >= want})
	}
	trx := func(m *measurement) float64 { return m.TrxPerSec }
	rows := func(m *measurement) float64 { return m.RowsPerSec }
	for _, m := range r.Measurements {
		if m.Tool != "switcharoo" {
			continue
		}
		switch m.Scenario {
		case "apply":
			ratio("apply", m.Case, "native replica, 1 SQL thread", 2, "apply ≥ 2× native single-threaded (trx/s)", trx)
			ratio("apply", m.Case, "native replica, 4 threads optimistic", 1.5, "apply ≥ 1.5× native parallel (trx/s)", trx)
		case "copy":
			ratio("copy", m.Case, "mydumper + myloader, 4 threads", 1.5, "copy ≥ 1.5× mydumper + myloader, "+m.Case+" (rows/s)", rows)
		case "verify":
			if m.Case == "identical data" {
				ratio("verify", m.Case, "pt-table-checksum", 2, "verify ≥ 2× pt-table-checksum (rows/s)", rows)
			}
		}
	}
	for _, l := range r.Lag {
		if l.Rate == 1000 {
			gs = append(gs, goal{"lag p99 < 1 s at 1000 trx/s", fmt.Sprintf("p99 %.0f ms (%.0f trx/s achieved)", l.P99MS, l.Achieved), l.P99MS < 1000 && l.Achieved >= 950})
		}
	}
	windows, noWrite, failed := map[string][]int64{}, map[string][]int64{}, map[string]int{}
	var shapes []string
	for _, c := range r.Cutover {
		shape := "app_mode: " + c.AppMode + ", dns_swap: " + c.DNSSwap
		if _, ok := windows[shape]; !ok {
			shapes = append(shapes, shape)
		}
		windows[shape] = append(windows[shape], c.WindowMS)
		noWrite[shape] = append(noWrite[shape], c.Users.LongestNoWriteMS)
		failed[shape] += c.Users.Failed
	}
	for _, shape := range shapes {
		w := windows[shape]
		slices.Sort(w)
		p50 := w[len(w)/2]
		gs = append(gs, goal{"write unavailability p50 < 1 s (" + shape + ")", fmt.Sprintf("p50 %d ms over %d nights", p50, len(w)), p50 < 1000})
		if !strings.Contains(shape, config.AppModeKeepServing) {
			continue
		}
		u := noWrite[shape]
		slices.Sort(u)
		gs = append(gs, goal{"users: 0 failed requests (" + shape + ")", fmt.Sprintf("%d failed over %d nights", failed[shape], len(u)), failed[shape] == 0},
			goal{"users: longest without a successful write p50 < 1 s, max < 2 s (" + shape + ")", fmt.Sprintf("p50 %d ms, max %d ms", u[len(u)/2], u[len(u)-1]), u[len(u)/2] < 1000 && u[len(u)-1] < 2000})
	}
	var peak float64
	for _, m := range r.Measurements {
		peak = max(peak, m.PeakRSSMB)
	}
	for _, l := range r.Lag {
		peak = max(peak, l.PeakRSSMB)
	}
	if peak > 0 {
		gs = append(gs, goal{"replicate peak RSS < 256 MB", fmt.Sprintf("%.0f MB (largest of every scenario)", peak), peak < 256})
	}
	return gs
}

// write writes latest.json and latest.md into dir.
func (r *report) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "latest.md"), []byte(r.markdown()), 0o644)
}

func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# switcharoo benchmarks")
	p("")
	p("Measured %s in %.1f minutes by `go tool task bench` (`%s`); every figure below comes from this one run, baselines side by side.", r.Date, r.Minutes, r.Command)
	if r.Failure != "" {
		p("")
		p("**The run failed:** %s", r.Failure)
	}
	p("")
	p("## Machine")
	p("")
	p("%d cores (%s), %.0f GiB, Linux %s. Every server is a throwaway MariaDB on loopback with the same settings: the sandbox's (binlog ROW/FULL, innodb_flush_log_at_trx_commit=2, sync_binlog=0) and `%s`.", r.Machine.Cores, r.Machine.CPU, r.Machine.MemoryGB, r.Machine.Kernel, r.Settings)
	p("")
	names := make([]string, 0, len(r.Machine.Versions))
	for n := range r.Machine.Versions {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p("- %s: %s", n, r.Machine.Versions[n])
	}
	p("")
	p("## Goals")
	p("")
	p("| goal | measured | met |")
	p("|---|---|---|")
	for _, g := range r.Goals {
		met := "no"
		if g.Met {
			met = "yes"
		}
		p("| %s | %s | %s |", g.Goal, g.Measured, met)
	}
	for _, s := range []struct{ scenario, title string }{{"apply", "Apply a backlog"}, {"copy", "Initial copy"}, {"verify", "Verify"}} {
		var ms []measurement
		for _, m := range r.Measurements {
			if m.Scenario == s.scenario {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 {
			continue
		}
		p("")
		p("## %s", s.title)
		p("")
		p("| case | tool | seconds | trx/s | rows/s | switcharoo ÷ tool | switcharoo CPU s | peak RSS |")
		p("|---|---|---|---|---|---|---|---|")
		for _, m := range ms {
			rel := "—"
			if sw := r.find(m.Scenario, m.Case, "switcharoo"); sw != nil && m.Tool != "switcharoo" {
				rel = fmt.Sprintf("%.2f×", sw.RowsPerSec/m.RowsPerSec)
			}
			trx, rss, cpu := "", "", ""
			if m.CPUSeconds > 0 {
				cpu = fmt.Sprintf("%.1f", m.CPUSeconds)
			}
			if m.TrxPerSec > 0 {
				trx = fmt.Sprintf("%.0f", m.TrxPerSec)
			}
			if m.PeakRSSMB > 0 {
				rss = fmt.Sprintf("%.0f MB", m.PeakRSSMB)
			}
			p("| %s | %s | %.2f | %s | %.0f | %s | %s | %s |", m.Case, strings.ReplaceAll(m.Tool, "|", `\|`), m.Seconds, trx, m.RowsPerSec, rel, cpu, rss)
		}
		p("")
		for _, m := range ms {
			note := ""
			if m.Notes != "" {
				note = " — " + m.Notes
			}
			p("- %s, %s: `%s`%s", m.Case, m.Tool, m.Command, note)
		}
	}
	if len(r.Lag) > 0 {
		p("")
		p("## Lag under steady load")
		p("")
		p("A probe row inserted on the source every %s, the target read every %s: the time from the source's commit to the row being visible on the target.", probeEvery, watchEvery)
		p("")
		p("| rate (trx/s) | achieved | samples | p50 ms | p99 ms | max ms |")
		p("|---|---|---|---|---|---|")
		for _, l := range r.Lag {
			p("| %d | %.0f | %d | %.1f | %.1f | %.1f |", l.Rate, l.Achieved, l.Samples, l.P50MS, l.P99MS, l.MaxMS)
		}
		p("")
		p("Load: `%s` (with each rate). Peak RSS of the replicate process streaming through all rates: %.0f MB.", r.Lag[0].Command, r.Lag[0].PeakRSSMB)
	}
	if len(r.Cutover) > 0 {
		p("")
		p("## Cutover")
		p("")
		p("The demo's night (`switcharoo demo`'s sandbox: a web service behind a load balancer and a cron job, writing through the DNS name), %d times, each on a fresh sandbox, in three shapes: `keep-serving` (`cutover.app_mode`: the web service is never scaled to 0 and retries what the fence refuses; the DNS swap comes before its rolling redeploy) and the seed's `stop-all` with the swap after the redeploy (the reference order) and before it. Users: the runbook's `checks.http_probe` at 50 requests/s through the load balancer, from the night's first step to its last — failed requests, the longest run of failures, the site-down time (the longest run of requests no web task answered: the load balancer's 503), the longest time without a successful write. Write unavailability is the runbook's SQL probe's window from the last write the old primary took to the first the new one took; a client that caches DNS may keep the old name up to the DNS cache share longer. Step columns are in milliseconds.", len(r.Cutover))
		p("")
		steps := r.Cutover[0].Steps
		p("| night | app_mode | dns_swap | users: requests | failed | longest failing ms | site down ms | longest without a write ms | p99 ms | unavailable ms | + DNS cache ms | writes acknowledged | lost | %s |", strings.Join(steps, " | "))
		p("|---|---|---|---|---|---|---|---|---|---|---|---|---|%s", strings.Repeat("---|", len(steps)))
		for i, c := range r.Cutover {
			var cells []string
			for _, s := range steps {
				cells = append(cells, fmt.Sprint(c.StepMS[s]))
			}
			p("| %d | %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %s |", i+1, c.AppMode, c.DNSSwap, c.Users.Requests, c.Users.Failed, c.Users.LongestFailureMS, c.Users.LongestDownMS, c.Users.LongestNoWriteMS, c.Users.P99MS,
				c.WindowMS, c.DNSCacheMS, c.Acknowledged, c.Lost, strings.Join(cells, " | "))
		}
	}
	if len(r.Profiles) > 0 {
		p("")
		p("## Where replicate's time goes")
		p("")
		p("The top of each measured replicate process's CPU profile (`--cpu-profile`, read with `go tool pprof -top -cum`). The time a process spends waiting on the servers is not in it: compare its total with the scenario's wall time.")
		names := make([]string, 0, len(r.Profiles))
		for n := range r.Profiles {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			p("")
			p("### %s", n)
			p("")
			p("```")
			p("%s", strings.TrimRight(r.Profiles[n], "\n"))
			p("```")
		}
	}
	return b.String()
}
