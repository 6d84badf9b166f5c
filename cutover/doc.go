// Package cutover is the switchover runbook: a journaled state machine that
// stops the application's writers, fences the old primary, waits for the
// replicator to catch up, verifies, starts reverse replication, redeploys
// the application against the new database, swaps DNS and checks health —
// and undoes all of it, in reverse, when anything fails before the point
// of no return.
//
// It is the only package that imports binlog, checks, dnsswap and deploy;
// nothing imports it but the CLI.
//
// # Steps
//
// A step (steps.go) has a plan (the concrete actions, for `switcharoo
// plan` and the plan hash), an apply, an undo and a timeout. Apply and undo
// are idempotent and re-read the real state before acting, because after a
// crash they run again: a step that acted but whose result was never
// journaled is simply applied once more. The DNS swap (or, without DNS,
// the deploy) is the point of no return: a failure before it undoes every
// step done so far under cutover.undo_timeout; a failure after it stops for
// a person, who resumes or rolls back. An undo that fails stops the undo
// there: the steps before it stay done (unfencing the source while the
// target's writes have not come back would lose them).
//
// # Journal and lock
//
// The journal (journal.go) is state_dir/journal.jsonl, append-only, every
// event fsynced before the runbook goes on: a step's intent before it acts,
// its result after, with the facts it recorded (the fenced binlog position,
// the servers' ids, where reverse replication started). Resume and rollback
// rebuild the run from it. run.lock, an flock in state_dir, keeps a second
// command on the same state_dir out; its holder removes it on letting go
// (a command refused leaves state_dir as it found it), and a process
// killed leaves it behind, unlocked, for the next one to take. A lease in
// the databases (lease.go: a named lock on the source, a row with a
// heartbeat on the target) keeps out a second operator on another host or
// state_dir.
//
// # Fences
//
// fence.go fences a server against application writes. The source (MySQL
// 5.6 has no super_read_only) gets read_only, a grace period, its client
// connections killed, then FLUSH TABLES WITH READ LOCK held by the
// runbook's own connection until reverse replication needs to write into
// the source (or, without it, until the runbook ends); the lock dies with
// the process, so resume takes it again. The target is fenced by read_only
// or, on Aurora where nobody has SUPER, by locking the accounts in
// cutover.app_users. After every step and undo the runbook checks that at
// most one side accepts application writes — counting a locked account's
// surviving sessions as open, and a side it cannot read as unknown, which
// stops the night. The fence turns the source's event scheduler off (an
// event with a SUPER definer writes through read_only); before an undo
// unfences the source, the target's binlog must show no write but
// replication's since it was fenced again.
//
// # Unreachable servers
//
// A server that stops answering switcharoo (a VPN failing with its sockets
// left open) must not hold the night forever, nor be taken as closed: its
// own clients may still reach it. While a step, an undo, the one-writable
// check or the lease waits on servers, reach.go pings them on the side;
// one that has answered nothing for three times its connect_timeout ends
// the wait with an error naming it. The step then fails like any other,
// and an undo that needs the server stops there.
//
// # Replication at the switch
//
// The runbook drives the replicators through their control rows
// (binlog.SetCommand): quiet before the fence, so heartbeats do not move
// the fenced position; pause once caught up; stop at the end. Reverse
// replication (target → source) is seeded at the target's position while
// nothing writes there, and never runs at the same time as forward
// replication: each would send the other's writes back. So forward
// replication's checkpoint is marked switched when it stops (a restarted
// replicator refuses), and an undo stops reverse replication, and sees it
// stopped, before forward replication is seeded again. Where nothing
// brought the target's writes back, a fenced verify must find both sides
// equal before the undo unfences the source.
//
// # Measuring
//
// A probe (probe.go) writes as an application user through the DNS name,
// resolving it afresh each time, every 50 ms through the night; the report
// (report.go) takes the write-unavailability window from it: the last
// write the old primary took to the first the new one took, with the DNS
// cache's share (the longest TTL the swap read) shown apart. The journal
// keeps the probe's runs of writes with one outcome (as each begins and
// ends, and at each step's start), so that the report of a night resumed
// or rolled back after a crash covers it whole.
//
// # Cockpit
//
// With Options.Board (--http) the runbook reports to internal/cockpit as
// it goes: the steps and undos with their times and outcomes, the write
// probe's writes, the final verify's progress, and, read from the target
// every second (cockpit.go), replication's status; FollowReplication does
// the last for replicate alone.
//
// # Sandbox
//
// sandbox.go runs the whole world on one machine for `switcharoo demo`,
// `switcharoo sandbox up` and the tests: two MariaDB servers, the Route 53
// and ECS/EventBridge emulators with a sample application writing through
// the DNS name, and the replicator, supervised as a service manager would.
package cutover
