// Package faultpoint names the moments of the replication engine and the
// runbook where an invariant is at stake — between a schema change and
// its checkpoint, between a batch's statements and its commit — so that a
// test can crash the process exactly there. Random kills rarely land in a
// window a few microseconds wide; a named point always does.
//
// A point is armed through the environment of the process:
//
//	SWITCHAROO_TEST_FAULTPOINTS=after-ddl-before-checkpoint:kill
//
// (several points separated by commas). kill sends the process SIGKILL,
// which leaves the servers exactly as a crash would: open transactions and
// sessions included. pause sends it SIGSTOP: the test injects its race (a
// writer, a second replicator, a killed connection) while the process
// stands still at the point, then sends SIGCONT. Tests that run the engine
// or the runbook in process arm a point with Arm, a hook that runs there.
// Unarmed, Hit is a read-locked lookup in two empty maps. The variable is
// meant for tests; nothing else sets it.
package faultpoint
