package privileges

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Flavor is a server's kind and version, which decide its privileges'
// names and what they imply.
type Flavor struct {
	MariaDB bool
	// Aurora is the Aurora MySQL major version (2: MySQL 5.7, 3: 8.0), 0
	// for any other server.
	Aurora int
	// Version is the server's version: 5.6.51, 8.0.32, 10.11.6.
	Version [3]int
	// RDSKill: the server has mysql.rds_kill (Amazon RDS and Aurora), which
	// kills another user's connection without SUPER or CONNECTION_ADMIN.
	RDSKill bool
}

// String names the flavor as a person would.
func (f Flavor) String() string {
	v := fmt.Sprintf("%d.%d.%d", f.Version[0], f.Version[1], f.Version[2])
	switch {
	case f.MariaDB:
		return "MariaDB " + v
	case f.Aurora > 0:
		return fmt.Sprintf("Aurora MySQL %d (MySQL %s)", f.Aurora, v)
	}
	return "MySQL " + v
}

// AtLeast reports whether the version is major.minor.patch or later.
func (f Flavor) AtLeast(major, minor, patch int) bool {
	for i, want := range [3]int{major, minor, patch} {
		if f.Version[i] != want {
			return f.Version[i] > want
		}
	}
	return true
}

// mysql8 reports MySQL 8.0 or later, Aurora MySQL 3 included: dynamic
// privileges and roles.
func (f Flavor) mysql8() bool { return !f.MariaDB && f.AtLeast(8, 0, 0) }

// mariaSplit reports MariaDB 10.5.2 or later, where SUPER was split into
// BINLOG MONITOR, CONNECTION ADMIN, READ_ONLY ADMIN, REPLICATION MASTER
// ADMIN and more.
func (f Flavor) mariaSplit() bool { return f.MariaDB && f.AtLeast(10, 5, 2) }

// superSplitOff reports MariaDB 11.0.1 or later, where SUPER no longer
// implies the privileges split from it.
func (f Flavor) superSplitOff() bool { return f.MariaDB && f.AtLeast(11, 0, 1) }

// Detect reads the flavor of the server db is connected to.
func Detect(ctx context.Context, db *sql.DB) (Flavor, error) {
	var version, comment string
	if err := db.QueryRowContext(ctx, "SELECT VERSION(), @@version_comment").Scan(&version, &comment); err != nil {
		return Flavor{}, fmt.Errorf("read the server's version: %w", err)
	}
	f := Flavor{MariaDB: strings.Contains(strings.ToLower(version+" "+comment), "mariadb"), Version: parseVersion(version)}
	if !f.MariaDB {
		// Only Aurora MySQL has @@aurora_version; elsewhere the query fails
		// (unknown system variable), which is the answer.
		var aurora string
		if err := db.QueryRowContext(ctx, "SELECT @@aurora_version").Scan(&aurora); err == nil {
			f.Aurora, _ = strconv.Atoi(strings.SplitN(aurora, ".", 2)[0])
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.ROUTINES
		WHERE ROUTINE_SCHEMA = 'mysql' AND ROUTINE_NAME = 'rds_kill'`).Scan(&n); err != nil {
		return f, fmt.Errorf("look for mysql.rds_kill: %w", err)
	}
	f.RDSKill = n > 0 || f.Aurora > 0
	return f, nil
}

// parseVersion reads "8.0.32-log", "10.11.6-MariaDB-0+deb12u1",
// "5.5.5-10.11.6-MariaDB" (a MariaDB's replication-era prefix).
func parseVersion(v string) [3]int {
	v = strings.TrimPrefix(v, "5.5.5-")
	var out [3]int
	for i, part := range strings.SplitN(v, ".", 3) {
		end := strings.IndexFunc(part, func(r rune) bool { return r < '0' || r > '9' })
		if end >= 0 {
			part = part[:end]
		}
		out[i], _ = strconv.Atoi(part)
	}
	return out
}

// FlavorNames lists what ParseFlavor accepts, for help texts.
const FlavorNames = "mysql-5.6, mysql-5.7, mysql-8.0 (any mysql-X.Y[.Z]), aurora-2, aurora-3, mariadb-10.11 (any mariadb-X.Y[.Z])"

// ParseFlavor reads a flavor name, for servers switcharoo cannot reach:
// mysql-5.6, aurora-3, mariadb-10.11.
func ParseFlavor(name string) (Flavor, error) {
	kind, version, ok := strings.Cut(strings.ToLower(strings.TrimSpace(name)), "-")
	bad := fmt.Errorf("flavor %q: want one of %s", name, FlavorNames)
	if !ok || version == "" || strings.Trim(version, "0123456789.") != "" {
		return Flavor{}, bad
	}
	switch kind {
	case "mysql":
		return Flavor{Version: parseVersion(version)}, nil
	case "mariadb":
		return Flavor{MariaDB: true, Version: parseVersion(version)}, nil
	case "aurora":
		switch version {
		case "2":
			return Flavor{Aurora: 2, Version: [3]int{5, 7, 12}, RDSKill: true}, nil
		case "3":
			return Flavor{Aurora: 3, Version: [3]int{8, 0, 23}, RDSKill: true}, nil
		}
	}
	return Flavor{}, bad
}
