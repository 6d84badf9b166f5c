// Package sandbox runs the local stand-ins for production that tests,
// `switcharoo demo` and rehearsals on a laptop use: throwaway MariaDB
// servers now; DNS and AWS API emulators and a sample application as their
// issues land.
//
// A MariaDB from StartMariaDB is an ordinary child process with its own
// temporary data directory (initialised by mariadb-install-db), a free
// loopback port, its own server_id and the binlog settings a replication
// source needs (ROW, FULL row image). It reads only the option file this
// package writes (--defaults-file), so the system's /etc/mysql and the
// system's MariaDB service are never read, started, stopped or changed.
// Stop ends the process by its PID and removes the directory; the child also
// dies with its parent (Linux parent-death signal), so an aborted test run
// leaves no server behind.
package sandbox
