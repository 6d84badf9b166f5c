package binlog_test

import (
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
	"github.com/switcharoo/switcharoo/internal/config"
)

// A schema change means what it meant in the session that wrote it: the
// bytes of a client declared latin1 that sends UTF-8 (common with 5.6
// applications), a TIMESTAMP default under time_zone +05:00, identifiers
// quoted with "..." under ANSI_QUOTES (#16.5, #16.6).
func TestDDLUnderTheSourceSessionSettings(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app", "CREATE TABLE app.seed (id INT PRIMARY KEY)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(
		"SET NAMES latin1; CREATE TABLE app.c (id INT PRIMARY KEY, s VARCHAR(10) CHARACTER SET utf8mb4 DEFAULT 'é', e ENUM('é', 'a') DEFAULT 'é'); SET NAMES utf8mb4; SET character_set_results = NULL",
		"SET time_zone = '+05:00'; CREATE TABLE app.tz (id INT PRIMARY KEY, ts TIMESTAMP NOT NULL DEFAULT '2020-01-01 05:00:00'); SET time_zone = '+00:00'",
		`SET sql_mode = 'ANSI_QUOTES'; CREATE TABLE "app"."q" (id INT PRIMARY KEY, "v" INT); SET sql_mode = DEFAULT`,
		"INSERT INTO app.c (id) VALUES (1)", "INSERT INTO app.tz (id) VALUES (1)", "INSERT INTO app.q VALUES (1, 1)",
	)
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSame("app")
	r.assertSameQuery("SELECT HEX(s), HEX(e) FROM app.c")
	r.assertSameQuery("SELECT COLUMN_NAME, HEX(COLUMN_DEFAULT) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app' ORDER BY TABLE_NAME, ORDINAL_POSITION")
}

// A database renamed by database_map is renamed in a schema change
// written with "..." under ANSI_QUOTES too, in its REFERENCES as well.
func TestANSIQuotedNamesRenamed(t *testing.T) {
	r := newRig(t)
	r.cfg.Replication.Databases = []string{"shop"}
	r.cfg.Replication.DatabaseMap = []config.Rename{{Source: "shop", Target: "shop_new"}}
	r.source("CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY)", "INSERT INTO shop.orders VALUES (1)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	r.source(`SET sql_mode = 'ANSI_QUOTES'; CREATE TABLE "shop"."x" (id INT PRIMARY KEY, o INT, FOREIGN KEY (o) REFERENCES "shop"."orders" (id)); SET sql_mode = DEFAULT`,
		"INSERT INTO shop.x VALUES (1, 1)")
	r.waitCaughtUp(run)
	r.stopClean(run)
	r.assertSameDB("shop", "shop_new")
}
