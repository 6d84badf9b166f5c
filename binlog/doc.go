// Package binlog is switcharoo's replication engine: it makes a target
// MySQL an exact copy of a live source and keeps it so, for days, until the
// switchover night. It is logical (row events applied as SQL), so it works
// across versions and flavors — MySQL 5.6 to Aurora MySQL 3 included, which
// native replication does not support — and in either direction.
//
// # Interface
//
//	r, _ := binlog.New(cfg, log)       // nothing contacted yet
//	err := r.Run(ctx, binlog.RunOptions{UntilCaughtUp: false})
//	cp, _ := binlog.ReadCheckpoint(ctx, targetDB, schema) // position applied
//	st, _ := binlog.ReadStatus(ctx, targetDB, schema)     // state, lag, progress
//
// Run returns nil when ctx ends (a clean stop at a transaction boundary) or,
// with UntilCaughtUp, once the source's position at the call is applied.
// Errors are typed: *PreflightError (exit 2: nothing changed) and
// *StopError (exit 4: a person must look; the checkpoint is consistent).
//
// # Algorithm
//
//  1. Preflight (preflight.go) reads both servers and refuses, with every
//     reason at once, what would break the guarantees: binlog off or not
//     ROW/FULL, a server_id in use, missing privileges, tables without a
//     usable key, a target that already holds rows, a read-only target, a
//     purged binlog, a checkpoint that belongs to another source.
//  2. Copy (copy.go, snapshot.go): FLUSH TABLES WITH READ LOCK is held only
//     while replication.workers connections start consistent-snapshot
//     transactions and the binlog position is read. Tables are created on
//     the target from SHOW CREATE TABLE (as InnoDB), split into key ranges,
//     and written with multi-row INSERTs; each range commits on the target
//     with its "copied under snapshot N" mark. An interrupted copy resumes
//     under a new snapshot; copyWindow (window.go) then decides, per row
//     change, whether the target's copy of that row already holds it, so
//     nothing is applied twice.
//  3. Stream (stream.go, apply.go): go-mysql's BinlogSyncer reads from the
//     checkpoint (never from the middle of a transaction); the applier
//     writes each row event as SQL text — character data as _charset X'..'
//     literals (literal.go), so bytes cross exactly — and commits groups of
//     source transactions in target transactions that also move the
//     checkpoint row. That is the exactly-once invariant: the data and the
//     position it corresponds to commit together, so after any crash they
//     agree and the stream resumes at a transaction start. Tables where the
//     order of rows' end states cannot matter get net changes
//     (netchange.go): a batch's last image of each row, written as one
//     DELETE and one REPLACE per table. Row images are mended first where
//     the source's format loses something (rowimage.go: BINARY padding,
//     old TIME), and each rows event is applied under the foreign-key and
//     unique checks its flags carry. Every statement carries what it
//     expects of the target — its rows present, its keys free — checked by
//     the server in the same round trip (divergence.go): a change that
//     finds the target in the wrong state stops replication, as a native
//     replica's 1032/1062, or is logged. A row too large to go as hex text
//     is sent alone, its values as prepared-statement parameters.
//  4. catalog.Schema (schema.go, tablemap.go, ddl.go, ddlapply.go): TABLE_MAP events
//     from MySQL 5.6 and MariaDB carry no column names, so the replicator
//     keeps a schema map, read from information_schema at the snapshot,
//     updated by each DDL it applies (re-read from the target, whose schema
//     then matches the source's at that point of the stream), and stored
//     with the checkpoint. Every TABLE_MAP is checked against it, so a
//     schema the replicator did not follow stops replication instead of
//     putting values in the wrong columns.
//  5. Faults (replicator.go): any transient failure of either side — a
//     lost or stalled connection (stall_timeout; on the target, a watchdog
//     in watchdog.go pings it and checks that the server runs the batch in
//     flight), a restarting server — rolls back the open target
//     transaction and starts a new session from the checkpoint, with
//     exponential backoff up to max_backoff; each outage and its length is
//     logged. A named lock on the target keeps a
//     second replicator out.
//  6. Lag (heartbeat.go, status.go): a heartbeat row written on the source
//     every replication.heartbeat by the replicator's own clock gives the
//     end-to-end lag when its change commits on the target; the status row
//     on the target, refreshed every second, is what `switcharoo status`
//     and the runbook read.
//  7. The write guard (guard.go): with RunOptions.GuardTarget (reverse
//     replication, whose target is the old master fenced by read_only
//     alone), the target's own binlog is read every two seconds, and a
//     transaction that wrote a replicated table without the checkpoint —
//     someone else's write — is recorded in the divergence table.
//     ForeignWrites serves the runbook too, which checks the same way that
//     a fenced target stands still before it unfences the source.
//
// Memory is bounded by design: at most 2 × 1024 events are read ahead; the
// applier holds at most 2000 rows' net changes before writing them as SQL,
// and sends its SQL buffer to the target whenever it holds 1 MB (a quarter
// of the target's max_allowed_packet if that is less), inside the open
// target transaction, however large the source transaction; one more
// buffer is in flight while the next is built.
//
// This package imports no other top-level package of switcharoo.
package binlog
