package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// verify compares the source with switcharoo's target (switcharoo verify)
// and with the native replica (pt-table-checksum, which needs one), on
// identical data, then after the same three rows were made to differ on
// both: one changed, one deleted, one added.
func (b *bench) verify(ctx context.Context) error {
	config, err := b.replicateConfig("verify", b.source, b.applied, "sbtest")
	if err != nil {
		return err
	}
	if err := b.percona(ctx); err != nil {
		return err
	}
	rows, err := countRows(ctx, b.source, "sbtest", b.o.tables)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name   string
		differ int // rows changed behind the tools' backs
	}{{"identical data", 0}, {"3 rows differ", 3}} {
		if c.differ > 0 {
			for _, m := range []*sandbox.MariaDB{b.applied, b.replica} {
				if err := makeDifferences(ctx, m); err != nil {
					return err
				}
			}
		}
		b.logf("verify, %s: switcharoo verify", c.name)
		m, err := timed(ctx, b.o.binaryAbs, "--log-level", "warn", "-c", config, "verify", "--fenced", "--output", "json")
		if err != nil && exitCode(err) != 1 { // 1: differences found
			return err
		}
		var v struct {
			Identical   bool              `json:"identical"`
			Rows        int64             `json:"rows"`
			Differences []json.RawMessage `json:"differences"`
		}
		if err := json.Unmarshal([]byte(m.output), &v); err != nil {
			return fmt.Errorf("switcharoo verify --output json: %w\n%s", err, m.output)
		}
		if found := len(v.Differences); found != c.differ {
			return fmt.Errorf("switcharoo verify found %d differences, want %d:\n%s", found, c.differ, m.output)
		}
		b.report.add(measurement{Scenario: "verify", Case: c.name, Tool: "switcharoo", Command: "switcharoo verify --fenced --output json",
			Seconds: m.elapsed.Seconds(), Rows: rows, RowsPerSec: float64(rows) / m.elapsed.Seconds(), PeakRSSMB: m.rssMB, CPUSeconds: m.cpu.Seconds(),
			Notes: fmt.Sprintf("found %d differing rows, each by key", len(v.Differences))})

		b.logf("verify, %s: pt-table-checksum", c.name)
		args := []string{fmt.Sprintf("h=%s,P=%d,u=root", b.source.Addr, b.source.Port), "--databases=sbtest",
			"--replicate=percona.checksums", "--no-check-binlog-format",
			fmt.Sprintf("--recursion-method=dsn=h=%s,P=%d,u=root,D=percona,t=dsns", b.source.Addr, b.source.Port)}
		m, err = timed(ctx, "pt-table-checksum", args...)
		if err != nil && exitCode(err) == 0 {
			return err
		}
		diffs, checked, err := ptDiffs(m.output)
		if err != nil {
			return err
		}
		if (diffs > 0) != (c.differ > 0) || checked < rows-int64(c.differ) {
			return fmt.Errorf("pt-table-checksum checked %d rows and found %d differing chunks; want %d rows and differences %v:\n%s", checked, diffs, rows, c.differ > 0, m.output)
		}
		b.report.add(measurement{Scenario: "verify", Case: c.name, Tool: "pt-table-checksum", Command: "pt-table-checksum " + strings.Join(args, " "),
			Seconds: m.elapsed.Seconds(), Rows: rows, RowsPerSec: float64(rows) / m.elapsed.Seconds(),
			Notes: fmt.Sprintf("found %d differing chunks (not rows: pt-table-sync would find those)", diffs)})
	}
	b.release(b.applied)
	b.release(b.replica)
	b.applied, b.replica = nil, nil
	return nil
}

// percona prepares pt-table-checksum's replica discovery by DSN table (the
// sandbox's replicas report no host it could connect back to).
func (b *bench) percona(ctx context.Context) error {
	db, err := open(b.source, "")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, stmt := range []string{
		"CREATE DATABASE IF NOT EXISTS percona",
		"CREATE TABLE IF NOT EXISTS percona.dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT, dsn VARCHAR(255) NOT NULL)",
		fmt.Sprintf("INSERT INTO percona.dsns (dsn) VALUES ('h=%s,P=%d,u=root')", b.replica.Addr, b.replica.Port),
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	return nil
}

// makeDifferences changes one row, deletes one and adds one on m, without
// binlogging them.
func makeDifferences(ctx context.Context, m *sandbox.MariaDB) error {
	db, err := open(m, "sbtest")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, stmt := range []string{
		"SET sql_log_bin = 0",
		"UPDATE sbtest1 SET c = 'changed behind the tools'' backs' WHERE id = 1000",
		"DELETE FROM sbtest2 WHERE id = 2000",
		"INSERT INTO sbtest3 (id, k, c, pad) VALUES (99999999, 1, 'extra', 'extra')",
	} {
		res, err := conn.ExecContext(ctx, stmt)
		if err != nil {
			return fmt.Errorf("server %d: %s: %w", m.ServerID, stmt, err)
		}
		if n, _ := res.RowsAffected(); n != 1 && !strings.HasPrefix(stmt, "SET") {
			return fmt.Errorf("server %d: %s changed %d rows, want 1", m.ServerID, stmt, n)
		}
	}
	return nil
}

// ptLine is a table's line of pt-table-checksum's report.
var ptLine = regexp.MustCompile(`^\S+\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+sbtest\.`)

// ptDiffs sums the DIFFS and ROWS columns of pt-table-checksum's report:
// TS ERRORS DIFFS ROWS DIFF_ROWS CHUNKS SKIPPED TIME TABLE.
func ptDiffs(out string) (diffs, rows int64, err error) {
	tables := 0
	for _, l := range strings.Split(out, "\n") {
		m := ptLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		tables++
		if m[1] != "0" {
			return 0, 0, fmt.Errorf("pt-table-checksum reported errors:\n%s", out)
		}
		d, _ := strconv.ParseInt(m[2], 10, 64)
		r, _ := strconv.ParseInt(m[3], 10, 64)
		diffs += d
		rows += r
	}
	if tables == 0 {
		return 0, 0, fmt.Errorf("pt-table-checksum reported no tables:\n%s", out)
	}
	return diffs, rows, nil
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return 0
}
