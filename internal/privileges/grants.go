package privileges

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
)

// Grants is what one account holds, as its own sessions see it: its
// grants and those of the roles active in them.
type Grants struct {
	// Account is CURRENT_USER(), quoted for a GRANT: 'user'@'host'.
	Account string
	global  privSet
	dbs     []dbGrant
	tables  map[Object]privSet
	// revoked are MySQL 8.0's partial revokes: a global privilege that
	// does not reach these databases.
	revoked map[string]privSet
	// inactiveRoles: roles are granted but none is active in a session
	// (no default role): their privileges do not count.
	inactiveRoles bool
	// literalWildcards: MySQL 8.0's partial_revokes is on, which makes an
	// unescaped _ or % in a database grant the character itself.
	literalWildcards bool
	// Unknown, when set, says why the grants could not be read whole;
	// what they do not show is then undecided, not missing.
	Unknown string
}

type privSet map[string]bool

type dbGrant struct {
	pattern string // a GRANT database pattern: _ and % are wildcards, \ escapes
	privs   privSet
	grantee string // the account or role it is granted to, as SHOW GRANTS writes it
}

// Read reads the grants of db's session user. On MySQL 8.0 the active
// roles' grants are read with SHOW GRANTS ... USING; MariaDB's SHOW
// GRANTS lists the current role's (and the roles it holds) itself.
func Read(ctx context.Context, db *sql.DB, f Flavor) (*Grants, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var current string
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&current); err != nil {
		return nil, fmt.Errorf("CURRENT_USER(): %w", err)
	}
	lines := func(q string) ([]string, error) {
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				return nil, err
			}
			out = append(out, l)
		}
		return out, rows.Err()
	}
	var unknown string
	var text []string
	var role sql.NullString
	switch {
	case f.MariaDB:
		text, err = lines("SHOW GRANTS")
		if err == nil {
			err = conn.QueryRowContext(ctx, "SELECT CURRENT_ROLE()").Scan(&role)
		}
	case f.mysql8():
		if err = conn.QueryRowContext(ctx, "SELECT CURRENT_ROLE()").Scan(&role); err != nil {
			break
		}
		if role.String != "NONE" {
			text, err = lines("SHOW GRANTS FOR CURRENT_USER() USING " + role.String)
			if err != nil {
				unknown = fmt.Sprintf("its active roles (%s) could not be read: %v", role.String, err)
				role.String = "NONE"
			}
		}
		if role.String == "NONE" {
			text, err = lines("SHOW GRANTS FOR CURRENT_USER()")
		}
	default:
		text, err = lines("SHOW GRANTS FOR CURRENT_USER()")
	}
	if err != nil {
		return nil, fmt.Errorf("SHOW GRANTS: %w", err)
	}
	g := parse(text)
	if f.mysql8() {
		var on sql.NullBool
		_ = conn.QueryRowContext(ctx, "SELECT @@GLOBAL.partial_revokes").Scan(&on)
		g.literalWildcards = on.Bool
	}
	g.Account = quoteAccount(current)
	g.Unknown = unknown
	g.inactiveRoles = g.inactiveRoles && (!role.Valid || role.String == "NONE")
	return g, nil
}

// quoteAccount turns CURRENT_USER()'s user@host into 'user'@'host'.
func quoteAccount(current string) string {
	i := strings.LastIndex(current, "@")
	if i < 0 {
		return quoteString(current) + "@'%'"
	}
	return quoteString(current[:i]) + "@" + quoteString(current[i+1:])
}

func quoteString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// parse reads SHOW GRANTS lines of MySQL 5.6 to 8.0 and MariaDB:
//
//	GRANT RELOAD, PROCESS ON *.* TO 'u'@'%' IDENTIFIED BY PASSWORD '*…'
//	GRANT BINLOG_ADMIN,CONNECTION_ADMIN ON *.* TO `u`@`%`
//	GRANT ALL PRIVILEGES ON `app\_%`.* TO `u`@`%`
//	GRANT SELECT (`id`), INSERT ON `db`.`t` TO …   (column grants: ignored)
//	GRANT EXECUTE ON PROCEDURE `mysql`.`rds_kill` TO …
//	GRANT `rds_superuser_role`@`%` TO `admin`@`%`  (a role)
//	REVOKE INSERT ON `mysql`.* FROM `u`@`%`        (a partial revoke)
//
// Whatever follows TO (a password hash among it) is never kept.
func parse(lines []string) *Grants {
	g := &Grants{global: privSet{}, tables: map[Object]privSet{}, revoked: map[string]privSet{}}
	for _, line := range lines {
		upper := strings.ToUpper(line)
		verb, sep := "GRANT ", " TO "
		if strings.HasPrefix(upper, "REVOKE ") {
			verb, sep = "REVOKE ", " FROM "
		} else if !strings.HasPrefix(upper, verb) {
			continue // SET DEFAULT ROLE …
		}
		on := indexOutsideQuotes(upper, " ON ")
		if on < 0 {
			g.inactiveRoles = true // GRANT role TO account
			continue
		}
		end := indexOutsideQuotes(upper[on:], sep)
		if end < 0 {
			continue
		}
		obj, ok := parseObject(strings.TrimSpace(line[on+4 : on+end]))
		if !ok {
			continue // PROXY ON ''@'%'
		}
		privs := privSet{}
		for _, p := range splitPrivileges(upper[len(verb):on]) {
			privs[canon(p)] = true
		}
		switch {
		case verb == "REVOKE ":
			g.revoked[obj.DB] = union(g.revoked[obj.DB], privs)
		case obj.DB == "":
			g.global = union(g.global, privs)
		case obj.Table == "":
			grantee, _, _ := strings.Cut(strings.TrimSpace(line[on+end+len(sep):]), " ")
			g.dbs = append(g.dbs, dbGrant{pattern: obj.DB, privs: privs, grantee: grantee})
		default:
			g.tables[obj] = union(g.tables[obj], privs)
		}
	}
	return g
}

func union(a, b privSet) privSet {
	if a == nil {
		a = privSet{}
	}
	for p := range b {
		a[p] = true
	}
	return a
}

// splitPrivileges splits "SELECT (`a`, `b`), INSERT" at the commas outside
// parentheses, leaving out column grants.
func splitPrivileges(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] == '(' {
			depth++
		}
		if i < len(s) && s[i] == ')' {
			depth--
		}
		if i == len(s) || (s[i] == ',' && depth == 0) {
			p := strings.TrimSpace(s[start:i])
			if p != "" && !strings.Contains(p, "(") {
				out = append(out, p)
			}
			start = i + 1
		}
	}
	return out
}

// indexOutsideQuotes finds sep outside `…` and '…'.
func indexOutsideQuotes(s, sep string) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
		case c == '`' || c == '\'':
			quote = c
		case strings.HasPrefix(s[i:], sep):
			return i
		}
	}
	return -1
}

// parseObject reads *.*, `db`.*, db.*, `db`.`t`, PROCEDURE `db`.`p`.
func parseObject(s string) (Object, bool) {
	for _, kind := range []string{"TABLE ", "PROCEDURE ", "FUNCTION "} {
		if len(s) > len(kind) && strings.EqualFold(s[:len(kind)], kind) {
			s = s[len(kind):]
		}
	}
	dot := indexOutsideQuotes(s, ".")
	if dot < 0 {
		return Object{}, false
	}
	db, table := unquote(s[:dot]), unquote(s[dot+1:])
	switch {
	case db == "*" && table == "*":
		return Global, true
	case db == "" || db == "*" || table == "":
		return Object{}, false
	case table == "*":
		return Object{DB: db}, true
	}
	return Object{DB: db, Table: table}, true
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '`' && s[len(s)-1] == '`' {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

// canon names a privilege the same way across flavors and spellings:
// upper case, underscores as spaces (MySQL's CONNECTION_ADMIN, MariaDB's
// CONNECTION ADMIN), aliases folded.
func canon(p string) string {
	p = strings.Join(strings.Fields(strings.ReplaceAll(strings.ToUpper(p), "_", " ")), " ")
	switch p {
	case "ALL":
		return "ALL PRIVILEGES"
	case "REPLICATION REPLICA":
		return "REPLICATION SLAVE"
	case "REPLICATION CLIENT": // MariaDB 10.5.2+: an alias of BINLOG MONITOR
		return "BINLOG MONITOR"
	}
	return p
}

// Has reports whether the account holds the grant: at its object's level
// or above. A database grant is a pattern (_ and % wildcards, \ escapes):
// it covers a database name it matches (`\_switcharoo`.* covers
// _switcharoo, `app%`.* covers app), and a wanted pattern when it matches
// every name that pattern does.
func (g *Grants) Has(want Grant) bool {
	p := canon(want.Priv)
	holds := func(s privSet) bool { return s[p] || s["ALL PRIVILEGES"] }
	wanted := tokens(want.On.dbPattern(), false)
	if holds(g.global) && !(want.On.DB != "" && g.revokedIn(wanted, holds)) {
		return true
	}
	if want.On.DB == "" {
		return false
	}
	if !want.On.Pattern {
		// For one database the server takes, of each grantee's database
		// grants that match it, the most specific only: they do not add
		// up (ALL on `\_switcharoo%` and SELECT on `\_switcharoo` give
		// SELECT there).
		best := map[string]dbGrant{}
		for _, d := range g.dbs {
			if !covers(tokens(d.pattern, g.literalWildcards), wanted) {
				continue
			}
			if b, ok := best[d.grantee]; !ok || specificity(d.pattern, g.literalWildcards) > specificity(b.pattern, g.literalWildcards) {
				best[d.grantee] = d
			}
		}
		for _, d := range best {
			if holds(d.privs) {
				return true
			}
		}
	} else {
		for _, d := range g.dbs {
			if holds(d.privs) && covers(tokens(d.pattern, g.literalWildcards), wanted) {
				return true
			}
		}
	}
	return want.On.Table != "" && !want.On.Pattern && holds(g.tables[want.On])
}

// specificity orders database grants as the server does: a name without
// wildcards first, then patterns by the literal characters before their
// first wildcard.
func specificity(pattern string, literal bool) int {
	toks := tokens(pattern, literal)
	for i, t := range toks {
		if t.wild != 0 {
			return i
		}
	}
	return math.MaxInt
}

// revokedIn reports whether a partial revoke that holds takes the
// privilege from a database the wanted pattern reaches. Partial revokes
// name databases as they are.
func (g *Grants) revokedIn(wanted []token, holds func(privSet) bool) bool {
	for db, privs := range g.revoked {
		if holds(privs) && covers(wanted, tokens(EscapeDB(db), false)) {
			return true
		}
	}
	return false
}

// token is one character of a GRANT database pattern: a literal byte, or
// the wildcard _ (any one character) or % (any run).
type token struct {
	wild byte // '_', '%', or 0 for lit
	lit  byte
}

// tokens reads a GRANT database pattern: _ and % are wildcards, \ makes
// the next character literal. literal: MySQL 8.0 with partial_revokes
// takes unescaped _ and % as themselves.
func tokens(pattern string, literal bool) []token {
	var out []token
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			out = append(out, token{lit: pattern[i]})
		case (c == '_' || c == '%') && !literal:
			out = append(out, token{wild: c})
		default:
			out = append(out, token{lit: c})
		}
	}
	return out
}

// covers reports whether every name the pattern p matches, g matches
// too (for a p without wildcards, a name: whether g matches it). It errs
// towards no: a p whose % sits where g has no %, it does not cover.
func covers(g, p []token) bool {
	switch {
	case len(g) == 0:
		return len(p) == 0
	case g[0].wild == '%':
		for i := 0; i <= len(p); i++ {
			if covers(g[1:], p[i:]) {
				return true
			}
		}
		return false
	case len(p) == 0 || p[0].wild == '%':
		return false
	case g[0].wild == '_':
		return covers(g[1:], p[1:])
	}
	return p[0].wild == 0 && p[0].lit == g[0].lit && covers(g[1:], p[1:])
}
