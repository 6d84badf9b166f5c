// Package checks answers "is it safe?": chunked checksum verification of
// source against target, and the health checks (HTTP, SQL write probe, DNS)
// the runbook runs after the switch.
//
// It may read binlog's checkpoint and lag API, and nothing else of the
// project's top-level packages. The checks arrive with their issues; this
// file reserves the package.
package checks
