// Package binlog is switcharoo's replication engine: it makes a target MySQL
// an exact copy of a live source and keeps it so, for days, until the
// switchover night.
//
// It owns the consistent snapshot copy, the binlog stream, the applier, the
// checkpoint (kept on the target, in the same transaction as the changes it
// covers, so each source transaction is applied exactly once), schema
// tracking for servers whose TABLE_MAP events carry no column names, and
// the heartbeat that measures lag. It imports no other top-level package;
// the runbook and the checks read its checkpoint and lag through its
// exported API.
//
// The engine itself arrives with the replication issue; this file reserves
// the package and its place in the import graph.
package binlog
