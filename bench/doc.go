// Command bench measures switcharoo side by side with what its users would
// use instead, in one run on one machine, and writes the results to
// bench/results/latest.md and latest.json. Run it with `go tool task bench`,
// which builds bin/switcharoo, installs the baselines (sysbench, mydumper,
// percona-toolkit) from the system's packages when missing, and runs
//
//	go run ./bench -binary bin/switcharoo
//
// Every server is a throwaway MariaDB the bench starts itself on loopback,
// all with the same settings (settings below), so that the only difference
// between two rows of a table is the tool. The scenarios, in order:
//
//  1. apply: a sysbench oltp_write_only backlog, written while every
//     applier is paused, applied by `switcharoo replicate --until-caught-up`
//     and by MariaDB's native replica with one SQL thread and with four
//     (slave_parallel_mode=optimistic). The native replicas have fetched
//     the backlog into their relay logs before their SQL threads start;
//     switcharoo reads it from the source over the network while applying.
//     Replicas log what they apply (log_slave_updates), as switcharoo's
//     target does, because a target with reverse replication must.
//  2. verify: `switcharoo verify` against pt-table-checksum on the data
//     the apply scenario left, then both once more after the same rows were
//     changed, deleted and added behind each tool's back on its target.
//  3. copy: the initial copy of the sysbench tables, and of one table four
//     times as large, by `switcharoo replicate --until-caught-up`, by
//     mydumper + myloader (4 threads) and by mysqldump | mariadb, each into
//     a fresh target.
//  4. lag: replicate streams while sysbench writes at fixed rates; a probe
//     inserts a row with its send time on the source every 50 ms and watches
//     the target every 5 ms, so each probe row gives one end-to-end lag
//     (source commit to visible on the target) by one clock.
//  5. cutover: the demo's night (cutover.Sandbox, its live writers and
//     write probe) run several times, each on a fresh sandbox: the write
//     unavailability window and each step's duration.
//
// The peak RSS of every replicate process is read from the kernel
// (getrusage's ru_maxrss) when it exits.
package main
