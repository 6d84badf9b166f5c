package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// copy measures the initial copy of two datasets — the sysbench tables,
// and one table as large as all of them — by switcharoo, mydumper +
// myloader and mysqldump | mariadb, each into a fresh target.
func (b *bench) copy(ctx context.Context) error {
	for _, ds := range []struct {
		database string
		tables   int
		name     string
	}{
		{"sbtest", b.o.tables, fmt.Sprintf("%d tables × %d rows", b.o.tables, b.o.tableRows)},
		{"sbbig", 1, fmt.Sprintf("1 table × %d rows", b.o.tables*b.o.tableRows)},
	} {
		rows, err := countRows(ctx, b.source, ds.database, ds.tables)
		if err != nil {
			return err
		}
		want, err := checksum(ctx, b.source, ds.database, ds.tables)
		if err != nil {
			return err
		}
		src := fmt.Sprintf("-h %s -P %d -u root", b.source.Addr, b.source.Port)
		dump := filepath.Join(b.o.workDir, "dump-"+ds.database)
		for _, tool := range []struct {
			name    string
			command func(dst *sandbox.MariaDB) string // a bash command line; "" for switcharoo
		}{
			{"switcharoo", nil},
			// myloader turns the binlog off for its sessions unless told:
			// every tool here writes it, as a target with reverse
			// replication must.
			{"mydumper + myloader, 4 threads", func(dst *sandbox.MariaDB) string {
				return fmt.Sprintf("mydumper %s -B %s -t 4 --rows 50000 -o %s && myloader -h %s -P %d -u root -d %s -t 4 --enable-binlog",
					src, ds.database, dump, dst.Addr, dst.Port, dump)
			}},
			{"mysqldump | mariadb", func(dst *sandbox.MariaDB) string {
				return fmt.Sprintf("set -o pipefail; mysqldump %s --single-transaction --databases %s | mariadb -h %s -P %d -u root",
					src, ds.database, dst.Addr, dst.Port)
			}},
		} {
			dst, err := b.server(ctx)
			if err != nil {
				return err
			}
			b.logf("copy %s: %s", ds.name, tool.name)
			var m measured
			var command string
			if tool.command == nil {
				config, err := b.replicateConfig("copy-"+ds.database, b.source, dst, ds.database)
				if err != nil {
					return err
				}
				command = "switcharoo replicate --until-caught-up (replication.workers: 4)"
				m, err = b.replicate(ctx, config, "copy "+ds.name)
				if err != nil {
					return err
				}
			} else {
				command = tool.command(dst)
				if m, err = timed(ctx, "bash", "-c", command); err != nil {
					return err
				}
			}
			got, err := checksum(ctx, dst, ds.database, ds.tables)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("%s copied %s wrongly: %s, source %s", tool.name, ds.database, got, want)
			}
			if tool.command != nil {
				// bash's children are several processes: their memory and
				// CPU are not one process's.
				m.rssMB, m.cpu = 0, 0
			}
			b.report.add(measurement{Scenario: "copy", Case: ds.name, Tool: tool.name, Command: command,
				Seconds: m.elapsed.Seconds(), Rows: rows, RowsPerSec: float64(rows) / m.elapsed.Seconds(), PeakRSSMB: m.rssMB, CPUSeconds: m.cpu.Seconds()})
			if tool.command == nil && ds.database == "sbtest" && b.o.scenarios["lag"] {
				b.copied = dst
				continue
			}
			b.release(dst)
		}
	}
	return nil
}
