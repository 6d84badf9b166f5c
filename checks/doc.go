// Package checks answers "is it safe?": it verifies that the target holds
// exactly the source's data, and (with the runbook issue) runs the health
// checks after the switch.
//
// # Verify
//
//	report, err := checks.Verify(ctx, cfg, checks.OptionsFrom(cfg), log)
//
// Every replicated table (after filters and database renames) is compared
// in key chunks — numeric ranges for a single integer key, ranges found by
// walking the key index for any other key, the whole table without a key.
// Each chunk is checksummed on its own server, so only a row count and a
// 32-bit XOR of row hashes cross the network: a row's hash is the CRC32 of
// its canonical form (canonical.go), which reads the same on MySQL 5.6,
// 5.7, 8.0 and MariaDB for the same data, whatever the column's character
// set, DECIMAL scale or temporal precision, and tells NULL from the empty string. Both
// sides are checksummed at once, chunks by several workers, at most
// max_rate rows per second read from the source.
//
// While replicate streams, a chunk can differ only because a change is in
// flight: it is compared again once the replicator's checkpoint has passed
// the source's position, up to five times; only chunks that still differ
// are reported. With the source fenced, one pass is definitive.
//
// A chunk that differs is drilled into (rows.go): the keys and row hashes
// of both sides are compared to name the rows missing on the target, extra
// on it and different. Rows of tables with FLOAT or DOUBLE columns that
// hash differently are read whole and compared bit for bit, since servers
// of different versions print the same float differently.
//
// It may read binlog's checkpoint and position API; it imports no other
// top-level package.
package checks
