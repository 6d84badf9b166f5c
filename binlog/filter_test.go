package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
	"github.com/switcharoo/switcharoo/internal/sandboxtest"
)

// Only the databases and tables the filter selects reach the target, and
// a renamed database lands under its new name, for copied rows, streamed
// rows and schema changes, qualified or not.
func TestFiltersAndRenaming(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.Databases = []string{"app", "sh?p"}
	r.cfg.Replication.ExcludeTables = []string{"app.tmp_*"}
	r.cfg.Replication.DatabaseMap = []config.Rename{{Source: "shop", Target: "shop_new"}}
	r.source(
		"CREATE DATABASE app", "CREATE DATABASE shop", "CREATE DATABASE other",
		"CREATE TABLE app.users (id INT PRIMARY KEY, name VARCHAR(20))",
		"CREATE TABLE app.tmp_cache (id INT PRIMARY KEY)",
		"CREATE TABLE shop.orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(10,2))",
		"CREATE TABLE other.x (id INT PRIMARY KEY)",
		"INSERT INTO app.users VALUES (1, 'ann'), (2, 'bob')",
		"INSERT INTO app.tmp_cache VALUES (1)",
		"INSERT INTO shop.orders VALUES (1, 1, 9.99)",
		"INSERT INTO other.x VALUES (1)",
	)
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(
		"INSERT INTO app.users VALUES (3, 'cy')",
		"INSERT INTO app.tmp_cache VALUES (2)",
		"INSERT INTO other.x VALUES (2)",
		"UPDATE shop.orders SET total = 19.99 WHERE id = 1",
		"INSERT INTO shop.orders VALUES (2, 3, 1.00)",
		"ALTER TABLE shop.orders ADD COLUMN note VARCHAR(10)",
		"USE shop; ALTER TABLE orders ADD COLUMN note2 VARCHAR(10); INSERT INTO orders VALUES (3, 2, 2.50, 'n', 'm')",
		// A foreign key's REFERENCES is renamed too (#16.8).
		"CREATE TABLE shop.items (id INT PRIMARY KEY, order_id INT, FOREIGN KEY (order_id) REFERENCES shop.orders (id))",
		"INSERT INTO shop.items VALUES (1, 1)",
		"CREATE TABLE app.tmp_new (id INT PRIMARY KEY)",
		"INSERT INTO app.tmp_new VALUES (1)",
	)
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	want := []string{"users"}
	got := tableNames(t, r, "app")
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("target app tables = %v, want %v (tmp_* excluded)", got, want)
	}
	r.assertSameTable("app", "app", "users")
	r.assertSameDB("shop", "shop_new")
	if refs := sandboxtest.Text(t, r.dstDB, "SELECT CONCAT(CONSTRAINT_SCHEMA, '>', UNIQUE_CONSTRAINT_SCHEMA, '.', REFERENCED_TABLE_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS"); len(refs) != 1 || refs[0] != "shop_new>shop_new.orders" {
		t.Errorf("foreign keys on the target: %v, want shop_new>shop_new.orders", refs)
	}
	if dbs := sandboxtest.Dump(t, r.dstDB, "SHOW DATABASES WHERE `Database` IN ('shop', 'other')"); len(dbs) != 0 {
		t.Errorf("unexpected databases on the target: %v", dbs)
	}
}

func tableNames(t *testing.T, r *rig, db string) []string {
	var names []string
	for _, h := range sandboxtest.Dump(t, r.dstDB, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='"+db+"' ORDER BY 1") {
		names = append(names, unhex(h))
	}
	return names
}
