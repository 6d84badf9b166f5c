// Package cutover is the switchover runbook: a journaled state machine that
// stops the application's writers, fences the old primary, waits for the
// replicator to catch up, verifies, redeploys the application against the
// new database, swaps DNS and checks health — and undoes all of it, in
// reverse, when anything fails before the point of no return.
//
// It is the only package that imports binlog, checks, dnsswap and deploy;
// nothing imports it but the CLI. The runbook arrives with its own issue;
// this file reserves the package.
package cutover
