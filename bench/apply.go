package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandbox"
)

// apply measures how fast a backlog is applied: switcharoo, switcharoo
// with replication.compare_before_image, then the native replica
// single-threaded, then with four parallel threads, each alone on the
// machine while it works.
func (b *bench) apply(ctx context.Context) error {
	target, err := b.server(ctx)
	if err != nil {
		return err
	}
	compared, err := b.server(ctx)
	if err != nil {
		return err
	}
	single, err := b.server(ctx)
	if err != nil {
		return err
	}
	parallel, err := b.server(ctx, "slave_parallel_threads=4", "slave_parallel_mode=optimistic")
	if err != nil {
		return err
	}
	src, err := open(b.source, "")
	if err != nil {
		return err
	}
	defer src.Close()

	b.logf("copying the dataset to switcharoo's target; native replicas replay it from the binlog")
	config, err := b.replicateConfig("apply", b.source, target, "sbtest")
	if err != nil {
		return err
	}
	if _, err := b.replicate(ctx, config, ""); err != nil {
		return err
	}
	compareConfig, err := b.replicateConfig("apply-compare", b.source, compared, "sbtest", "compare_before_image: true")
	if err != nil {
		return err
	}
	if _, err := b.replicate(ctx, compareConfig, ""); err != nil {
		return err
	}
	replicas := []*sandbox.MariaDB{single, parallel}
	file, pos, err := position(ctx, src)
	if err != nil {
		return err
	}
	for _, r := range replicas {
		if err := startReplica(ctx, r, b.source); err != nil {
			return err
		}
		if err := waitApplied(ctx, r, file, pos, 10*time.Minute); err != nil {
			return err
		}
		if err := replicaExec(ctx, r, "STOP SLAVE SQL_THREAD"); err != nil {
			return err
		}
	}

	b.logf("writing the backlog: sysbench oltp_write_only for %s, every applier paused", b.o.backlog)
	out, err := b.sysbench(ctx, b.source, "sbtest", b.o.tables, b.o.tableRows,
		"--threads=4", "--time="+strconv.Itoa(int(b.o.backlog.Seconds())), "--report-interval=0", "run")
	if err != nil {
		return err
	}
	trx, rows, err := sysbenchCounts(out)
	if err != nil {
		return err
	}
	if file, pos, err = position(ctx, src); err != nil {
		return err
	}
	for _, r := range replicas {
		if err := waitFetched(ctx, r, file, pos); err != nil {
			return err
		}
	}
	backlog := fmt.Sprintf("sysbench oltp_write_only backlog: %s, 4 threads, %d × %d rows", b.o.backlog, b.o.tables, b.o.tableRows)
	add := func(tool, command string, m measured, notes string) {
		s := m.elapsed.Seconds()
		b.report.add(measurement{Scenario: "apply", Case: backlog, Tool: tool, Command: command, Seconds: s,
			Transactions: trx, Rows: rows, TrxPerSec: float64(trx) / s, RowsPerSec: float64(rows) / s,
			PeakRSSMB: m.rssMB, CPUSeconds: m.cpu.Seconds(), Notes: notes})
	}

	b.logf("applying %d transactions (%d rows): switcharoo", trx, rows)
	m, err := b.replicate(ctx, config, "apply")
	if err != nil {
		return err
	}
	add("switcharoo", "switcharoo replicate --until-caught-up", m, "wall time of the process: start, preflight, reading the binlog from the source, applying")
	b.logf("applying: switcharoo with replication.compare_before_image")
	if m, err = b.replicate(ctx, compareConfig, ""); err != nil {
		return err
	}
	add("switcharoo, compare_before_image", "switcharoo replicate --until-caught-up (replication.compare_before_image: true)", m, "the same, every UPDATE and DELETE checked against its before-image: rows found by their whole images (a REPLACE of net changes preceded by a count of them)")
	for _, c := range []struct {
		tool    string
		replica *sandbox.MariaDB
	}{{"native replica, 1 SQL thread", single}, {"native replica, 4 threads optimistic", parallel}} {
		b.logf("applying: %s", c.tool)
		start := time.Now()
		if err := replicaExec(ctx, c.replica, "START SLAVE SQL_THREAD"); err != nil {
			return err
		}
		if err := waitApplied(ctx, c.replica, file, pos, 30*time.Minute); err != nil {
			return err
		}
		add(c.tool, "START SLAVE SQL_THREAD", measured{elapsed: time.Since(start)}, "relay log already fetched; from START SLAVE SQL_THREAD until Exec_Master_Log_Pos reaches the source's position (polled every 20 ms)")
	}

	want, err := checksum(ctx, b.source, "sbtest", b.o.tables)
	if err != nil {
		return err
	}
	for _, m := range []*sandbox.MariaDB{target, compared, single, parallel} {
		got, err := checksum(ctx, m, "sbtest", b.o.tables)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("after the apply, server %d differs from the source: %s, source %s", m.ServerID, got, want)
		}
	}
	b.logf("all three targets hold the source's data (CHECKSUM TABLE)")
	b.release(parallel)
	b.release(compared)
	b.applied, b.replica = target, single
	return nil
}

// startReplica makes r a native replica of src from the start of its
// binlog.
func startReplica(ctx context.Context, r, src *sandbox.MariaDB) error {
	return replicaExec(ctx, r,
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%d, MASTER_USER='root', MASTER_PASSWORD='', MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4, MASTER_USE_GTID=no", src.Addr, src.Port),
		"START SLAVE")
}

func replicaExec(ctx context.Context, r *sandbox.MariaDB, statements ...string) error {
	db, err := open(r, "")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range statements {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("replica %d: %s: %w", r.ServerID, s, err)
		}
	}
	return nil
}

// slaveStatus is SHOW SLAVE STATUS as column → value.
func slaveStatus(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, fmt.Errorf("SHOW SLAVE STATUS: not a replica")
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	st := map[string]string{}
	for i, c := range cols {
		st[c] = vals[i].String
	}
	return st, rows.Err()
}

// waitReplica polls r's replica status until done says so, failing at
// once when a replication thread stopped with an error.
func waitReplica(ctx context.Context, r *sandbox.MariaDB, what string, timeout time.Duration, done func(st map[string]string) bool) error {
	db, err := open(r, "")
	if err != nil {
		return err
	}
	defer db.Close()
	return poll(ctx, fmt.Sprintf("replica %d: %s", r.ServerID, what), 20*time.Millisecond, timeout, func() (bool, error) {
		st, err := slaveStatus(ctx, db)
		if err != nil {
			return false, err
		}
		if st["Last_SQL_Error"] != "" || st["Last_IO_Error"] != "" {
			return false, fmt.Errorf("replica %d stopped: %s%s", r.ServerID, st["Last_SQL_Error"], st["Last_IO_Error"])
		}
		return done(st), nil
	})
}

// waitApplied waits until r's SQL thread has executed the source's binlog
// up to file:pos.
func waitApplied(ctx context.Context, r *sandbox.MariaDB, file string, pos int64, timeout time.Duration) error {
	return waitReplica(ctx, r, fmt.Sprintf("apply up to %s:%d", file, pos), timeout, func(st map[string]string) bool {
		at, _ := strconv.ParseInt(st["Exec_Master_Log_Pos"], 10, 64)
		return st["Relay_Master_Log_File"] == file && at >= pos
	})
}

// waitFetched waits until r's IO thread has fetched the source's binlog up
// to file:pos into its relay log.
func waitFetched(ctx context.Context, r *sandbox.MariaDB, file string, pos int64) error {
	return waitReplica(ctx, r, fmt.Sprintf("fetch up to %s:%d", file, pos), 5*time.Minute, func(st map[string]string) bool {
		at, _ := strconv.ParseInt(st["Read_Master_Log_Pos"], 10, 64)
		return st["Master_Log_File"] == file && at >= pos
	})
}
