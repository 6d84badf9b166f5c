// Package privileges says which MySQL privileges each configured user
// needs on each server for what switcharoo will do, reads what the user
// holds, and names every gap at once, with the GRANT that closes it.
//
// # Why one place
//
// The runbook and the replicators issue statements whose privileges differ
// by flavor: SET GLOBAL read_only needs SUPER on MySQL 5.6,
// SYSTEM_VARIABLES_ADMIN (or SUPER) on MySQL 8.0, READ_ONLY ADMIN on
// MariaDB 10.11 (where SUPER no longer implies it) and is impossible on
// Aurora, whose parameter group owns it; killing another user's
// connection needs SUPER, CONNECTION_ADMIN, CONNECTION ADMIN, or Aurora's
// mysql.rds_kill. A night that finds one missing after the fence fails in
// its most fragile moment, so `plan` and the runbook's preflight check
// every one of them before anything changes, `replicate` checks its own,
// and `switcharoo grants` prints them.
//
// # Algorithm
//
//  1. Detect (flavor.go) reads VERSION(), @@version_comment and
//     @@aurora_version: MySQL, Aurora MySQL 2 or 3, or MariaDB, and its
//     version. ParseFlavor does the same from a name (--source-flavor).
//  2. Night and Stream (needs.go) derive, from what the configuration
//     turns on (reverse replication, a target fenced by cutover.app_users
//     or by read_only, the heartbeat, DDL apply, the write probe) and the
//     flavors, a list of Needs: side, user, the privileges any one of
//     which is enough (each on its object: *.*, a database, a table), and
//     the feature and statement that need it.
//  3. Read (grants.go) parses SHOW GRANTS of the session's own account,
//     with the roles active in it (MariaDB lists the current role's
//     grants itself; on MySQL 8.0 they are read with SHOW GRANTS ...
//     USING), into global, database (patterns: _ and % wildcards, \
//     escapes; literal under MySQL 8.0's partial_revokes) and table
//     grants, minus MySQL 8.0's partial revokes. ALL PRIVILEGES counts at
//     its level; column grants count for nothing.
//  4. Check (check.go) compares: a Need no grant satisfies is a Gap, with
//     the GRANT statement that closes it; one that cannot be decided (a
//     role whose grants could not be read) is a warning, never a refusal.
//     Audit does it all for a list of sessions, reporting gaps as
//     refusals and the rest as warnings. Statements turns Needs into the
//     GRANT statements `grants` prints. An Object's database is a name
//     (escaped when a GRANT writes it: `\_switcharoo`.*) or a pattern
//     (DatabasePattern: replication.databases for `grants`); a grant
//     covers a name it matches, and a pattern when it matches every name
//     the pattern does.
package privileges
