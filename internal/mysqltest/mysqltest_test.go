package mysqltest

import (
	"database/sql"
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
		tables := strings.Join(queryColumn(t, db, "SHOW TABLES FROM app"), ",")
		if want := fmt.Sprintf("only_on_%d", i); tables != want {
			t.Errorf("server %d has tables %q, want only %q", i, tables, want)
		}
		binlog := strings.Join(queryColumn(t, db, "SHOW BINLOG EVENTS IN 'binlog.000001'", 5), "\n")
		for j := range dbs {
			name := fmt.Sprintf("only_on_%d", j)
			if has := strings.Contains(binlog, name); has != (i == j) {
				t.Errorf("server %d binlog mentions %s: %v, want %v", i, name, has, i == j)
			}
		}
	}
}

// queryColumn returns column col (default 0) of every row of query.
func queryColumn(t *testing.T, db *sql.DB, query string, col ...int) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		c := 0
		if len(col) > 0 {
			c = col[0]
		}
		out = append(out, vals[c].String)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
