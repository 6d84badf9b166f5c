package main

import (
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/internal/traffic"
)

// The bench reads other tools' reports; these are their formats as the
// Debian packages print them (sysbench 1.0.20, pt-table-checksum 3.2.1).

func TestSysbenchCounts(t *testing.T) {
	out := `SQL statistics:
    queries performed:
        read:                            0
        write:                           954260
        other:                           477130
        total:                           1431390
    transactions:                        238565 (3975.91 per sec.)
`
	trx, writes, err := sysbenchCounts(out)
	if err != nil || trx != 238565 || writes != 954260 {
		t.Fatalf("got %d transactions, %d writes, %v", trx, writes, err)
	}
	if _, _, err := sysbenchCounts("FATAL: unable to connect"); err == nil {
		t.Fatal("a failed run's output was read as counts")
	}
}

func TestPTDiffs(t *testing.T) {
	out := `            TS ERRORS  DIFFS     ROWS  DIFF_ROWS  CHUNKS SKIPPED    TIME TABLE
11-28T14:02:35      0      1   100000          1       5       0   0.512 sbtest.sbtest1
11-28T14:02:36      0      0   100000          0       5       0   0.498 sbtest.sbtest2
11-28T14:02:36      0      2    99999          2       5       0   0.501 sbtest.sbtest3
`
	diffs, rows, err := ptDiffs(out)
	if err != nil || diffs != 3 || rows != 299999 {
		t.Fatalf("got %d differing chunks, %d rows, %v", diffs, rows, err)
	}
	if _, _, err := ptDiffs(strings.Replace(out, "      0      0   100000", "      1      0   100000", 1)); err == nil {
		t.Fatal("a table with errors was not reported")
	}
	if _, _, err := ptDiffs("Cannot connect to MySQL"); err == nil {
		t.Fatal("a report without tables was read")
	}
}

func TestGoals(t *testing.T) {
	r := &report{Measurements: []measurement{
		{Scenario: "apply", Case: "c", Tool: "switcharoo", TrxPerSec: 300, PeakRSSMB: 40},
		{Scenario: "apply", Case: "c", Tool: "native replica, 1 SQL thread", TrxPerSec: 100},
		{Scenario: "apply", Case: "c", Tool: "native replica, 4 threads optimistic", TrxPerSec: 250},
	}, Cutover: []cutoverRun{{AppMode: "stop-all", DNSSwap: "a", WindowMS: 900}, {AppMode: "stop-all", DNSSwap: "b", WindowMS: 3000}, {AppMode: "stop-all", DNSSwap: "a", WindowMS: 1500},
		{AppMode: "stop-all", DNSSwap: "b", WindowMS: 900}, {AppMode: "stop-all", DNSSwap: "a", WindowMS: 800}, {AppMode: "stop-all", DNSSwap: "b", WindowMS: 1200},
		{AppMode: "keep-serving", DNSSwap: "b", WindowMS: 700, Users: traffic.Summary{LongestNoWriteMS: 900}},
		{AppMode: "keep-serving", DNSSwap: "b", WindowMS: 800, Users: traffic.Summary{LongestNoWriteMS: 2100, Failed: 1}},
		{AppMode: "keep-serving", DNSSwap: "b", WindowMS: 900, Users: traffic.Summary{LongestNoWriteMS: 800}}}}
	got := map[string]bool{}
	for _, g := range goals(r) {
		got[g.Goal] = g.Met
	}
	want := map[string]bool{
		"apply ≥ 2× native single-threaded (trx/s)":                                                            true,
		"apply ≥ 1.5× native parallel (trx/s)":                                                                 false,
		"write unavailability p50 < 1 s (app_mode: stop-all, dns_swap: a)":                                     true,
		"write unavailability p50 < 1 s (app_mode: stop-all, dns_swap: b)":                                     false,
		"write unavailability p50 < 1 s (app_mode: keep-serving, dns_swap: b)":                                 true,
		"users: 0 failed requests (app_mode: keep-serving, dns_swap: b)":                                       false,
		"users: longest without a successful write p50 < 1 s, max < 2 s (app_mode: keep-serving, dns_swap: b)": false,
		"replicate peak RSS < 256 MB":                                                                          true,
	}
	if len(got) != len(want) {
		t.Errorf("goals %v, want %v", got, want)
	}
	for g, met := range want {
		if m, ok := got[g]; !ok || m != met {
			t.Errorf("goal %q: met %v (present %v), want %v", g, m, ok, met)
		}
	}
}
