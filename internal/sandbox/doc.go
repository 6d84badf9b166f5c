// Package sandbox runs the local stand-ins for production that tests,
// `switcharoo demo` and rehearsals on a laptop use: throwaway MariaDB
// servers (mariadb.go), a throwaway BIND 9 (bind.go), an emulator of the
// Route 53 API that also serves its zones over DNS (route53.go), and an
// emulator of the ECS, EventBridge and Scheduler APIs whose tasks are local
// processes (aws.go, ecs.go, events.go, scheduler.go). The emulators speak
// the services' wire formats, so that switcharoo is always tested through
// the real aws-sdk-go-v2 clients; they listen on loopback ports only.
//
// The sample application (writer.go, web.go) is what the emulated tasks
// run: a cron job that writes a few rows, and a web service that serves
// reads and writes over HTTP behind a load balancer (lb.go: a round robin
// over the tasks registered in its target group, a directory of address
// files), retrying what a night's fence refuses as a well-written
// application does. An Env also plays the site's users (internal/traffic)
// through the load balancer from start to stop, and keeps the id of every
// write the application saw acknowledged: none may be missing at the end.
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
