package sandboxtest

import (
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// Three servers started at once each have their own port, server_id, data
// and binlog, and are binlog-ROW sources.
func TestThreeConcurrentServers(t *testing.T) {
	servers := StartN(t, 3, ServerID(101))
	dbs := make([]*sql.DB, len(servers))
	ports := map[int]bool{}
	for i, m := range servers {
		if ports[m.Port] {
			t.Fatalf("port %d used twice", m.Port)
		}
		ports[m.Port] = true
		dbs[i] = DB(t, m, "")
		Exec(t, dbs[i],
			"CREATE DATABASE app",
			fmt.Sprintf("CREATE TABLE app.only_on_%d (id INT PRIMARY KEY, who VARCHAR(20))", i),
			fmt.Sprintf("INSERT INTO app.only_on_%d VALUES (1, 'server %d')", i, i),
		)
	}
	for i, db := range dbs {
		var serverID uint32
		var format, rowImage string
		if err := db.QueryRow("SELECT @@server_id, @@binlog_format, @@binlog_row_image").Scan(&serverID, &format, &rowImage); err != nil {
			t.Fatal(err)
		}
		if serverID != 101+uint32(i) || format != "ROW" || rowImage != "FULL" {
			t.Errorf("server %d: server_id=%d binlog_format=%s binlog_row_image=%s, want %d ROW FULL", i, serverID, format, rowImage, 101+i)
		}
		own := fmt.Sprintf("only_on_%d", i)
		if tables := Dump(t, db, "SHOW TABLES FROM app"); len(tables) != 1 || tables[0] != hex.EncodeToString([]byte(own)) {
			t.Errorf("server %d has tables %v, want only %s", i, tables, own)
		}
		binlog := strings.Join(Dump(t, db, "SHOW BINLOG EVENTS IN 'binlog.000001'"), "\n")
		for j := range dbs {
			name := fmt.Sprintf("only_on_%d", j)
			if has := strings.Contains(binlog, hex.EncodeToString([]byte(name))); has != (i == j) {
				t.Errorf("server %d binlog mentions %s: %v, want %v", i, name, has, i == j)
			}
		}
	}
}
