package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// MariaDB's UUID (10.7+) and INET6 (10.5+) columns: catalog.Kind takes
// them for binary data, and the copy, which reads them as text
// ('123e4567-e89b-...', '::1'), writes that text as X'..' binary: a
// binary string that is not 16 bytes is no UUID, and the copy stops
// ("Incorrect uuid value"). The stream, which has the 16 stored bytes,
// replicates them. A MariaDB source with such a column can never finish
// its copy.
func TestReview15MariaDBUUIDAndINET6Copied(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app",
		"CREATE TABLE app.u (id UUID NOT NULL PRIMARY KEY, ip INET6, n INT NOT NULL DEFAULT 0)",
		"INSERT INTO app.u (id, ip) VALUES ('123e4567-e89b-12d3-a456-426655440000', '::1'), ('00000000-0000-0000-0000-000000000001', '10.0.0.1')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("INSERT INTO app.u (id, ip) VALUES ('ffffffff-0000-1111-2222-333333333333', 'fe80::1')",
		"UPDATE app.u SET n = n + 1")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSameQuery("SELECT id, ip, n FROM app.u ORDER BY 1")
}
