package cutover

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// review17: DESIGN.md's reference night streamed from a dedicated 5.6
// replica of the master (log_slave_updates) and fenced the master: "the
// night has two source servers". switcharoo has one `source`, and nothing
// checks what it is: pointed at such a replica, as the reference
// migration would point it, preflight passes, fence-source puts read_only
// and the global read lock on the replica, and the master — where the
// application's crons, web servers and every writer switcharoo did not
// stop still write — is never fenced. From unfence-target on, the master
// and the target both take application writes, the one-writable check
// sees neither the master nor a problem, and a write the master
// acknowledges after the switch is on neither the target nor anywhere
// switcharoo looks. Either a source that is a replica is refused
// ("point source at the master, or name it in …"), or the master is a
// server of the night, fenced and checked.
func TestReview17SourceIsAReplicaMasterNeverFenced(t *testing.T) {
	sb := startSandbox(t)
	ctx := context.Background()
	src, dst := rootDB(t, sb.Source), rootDB(t, sb.Target)
	master := sandboxtest.Start(t, sandboxtest.ServerID(77))
	mdb := sandboxtest.DB(t, master, "")
	// The master holds the application's table (its rows are not the
	// point); the sandbox's source replicates it.
	sandboxtest.Exec(t, mdb, "SET SESSION sql_log_bin = 0", "CREATE DATABASE app",
		"CREATE TABLE app.writes (id BIGINT PRIMARY KEY AUTO_INCREMENT, writer VARCHAR(32) NOT NULL, server_id INT UNSIGNED NOT NULL, at DATETIME(6) NOT NULL)",
		"SET SESSION sql_log_bin = 1")
	exec1(t, src, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST = '%s', MASTER_PORT = %d, MASTER_USER = 'root', MASTER_USE_GTID = no", master.Addr, master.Port),
		"START SLAVE")
	waitFor(t, "the source replicating from its master", 30*time.Second, func() (bool, string) {
		rows, err := src.Query("SHOW SLAVE STATUS")
		if err != nil {
			return false, err.Error()
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		if !rows.Next() {
			return false, "no replica status"
		}
		vals := make([]any, len(cols))
		raw := make([]*string, len(cols))
		for i := range vals {
			vals[i] = &raw[i]
		}
		_ = rows.Scan(vals...)
		st := map[string]string{}
		for i, c := range cols {
			if raw[i] != nil {
				st[c] = *raw[i]
			}
		}
		return st["Slave_IO_Running"] == "Yes" && st["Slave_SQL_Running"] == "Yes", st["Slave_IO_Running"] + "/" + st["Slave_SQL_Running"] + " " + st["Last_IO_Error"]
	})
	var both string
	report, err := newRunbook(t, sb, sb.Config, func(step string, at hookPoint) bool {
		if step == "unfence-target" && at == afterStep {
			// An application writer that switcharoo did not stop writes on
			// the master, as it always has.
			if _, err := mdb.ExecContext(ctx, "INSERT INTO app.writes (id, writer, server_id, at) VALUES (9000001, 'on the master', @@server_id, NOW(6))"); err == nil {
				both = fmt.Sprintf("the master (read_only %s) took an application write, and the target is open (read_only %s)",
					query(t, mdb, "SELECT @@global.read_only"), query(t, dst, "SELECT @@global.read_only"))
			}
		}
		return false
	}).Run(ctx)
	if err != nil {
		if strings.Contains(err.Error(), "replica") || strings.Contains(err.Error(), "master") {
			return // refused, naming what the source is
		}
		t.Fatalf("run: %v", err)
	}
	checkReport(t, report, "run", "finished", nightSteps)
	if both != "" {
		t.Errorf("with source pointing at a replica, the night fenced the replica and never its master: after unfence-target %s; "+
			"the write is on the target: %s rows", both, query(t, dst, "SELECT COUNT(*) FROM app.writes WHERE id = 9000001"))
	}
	exec1(t, src, "STOP SLAVE")
}
