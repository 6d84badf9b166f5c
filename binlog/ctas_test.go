package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// CREATE TABLE ... SELECT under ddl: apply: the table is created on the
// target and the rows the source logged for it fill it (#16.8).
func TestCreateTableSelect(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app", "CREATE TABLE app.a (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO app.a VALUES (1, 'one'), (2, 'two')")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source("CREATE TABLE app.b (PRIMARY KEY (id)) SELECT id, v FROM app.a", "INSERT INTO app.b VALUES (3, 'three')")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
}
