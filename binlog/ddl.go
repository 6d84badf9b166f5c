package binlog

import (
	"github.com/switcharoo/switcharoo/internal/catalog"
	"slices"
	"strings"
)

// Statements in QUERY events are recognised by a small lexer rather than a
// full SQL parser: the replicator needs only the statement's kind, the
// tables and databases it names, and where their database qualifiers are
// (to rename databases on the target). It covers CREATE/ALTER/DROP/RENAME/
// TRUNCATE TABLE, CREATE/DROP INDEX and CREATE/ALTER/DROP DATABASE; other
// statements (users, grants, views, routines) are not replicated.

type ddlKind uint8

const (
	ddlNone ddlKind = iota
	ddlCreateTable
	ddlAlterTable
	ddlDropTable
	ddlRenameTable
	ddlTruncateTable
	ddlCreateIndex
	ddlDropIndex
	ddlCreateDatabase
	ddlAlterDatabase
	ddlDropDatabase
)

func (k ddlKind) isDatabase() bool {
	return k == ddlCreateDatabase || k == ddlAlterDatabase || k == ddlDropDatabase
}

// ddlStatement is a recognised schema change.
type ddlStatement struct {
	kind     ddlKind
	text     string
	tables   []catalog.TableName // tables named, in order (for RENAME: from, to, from, to ...)
	database string              // for database statements
	names    []nameRef           // where each table name is, for rewriting
	engines  []tokenSpan         // ENGINE values that are not InnoDB
	ifExists bool                // DROP ... IF EXISTS / CREATE ... IF NOT EXISTS
}

// nameRef locates one table name in the text: its database qualifier (if
// written) and the table identifier.
type nameRef struct {
	qualifier *tokenSpan
	db        string // the qualifier unquoted, as the session's sql_mode lexed it
	table     tokenSpan
}

type tokenSpan struct{ start, end int }

type tokenKind uint8

const (
	tokWord tokenKind = iota
	tokQuoted
	tokString
	tokPunct
)

type token struct {
	kind       tokenKind
	text       string // identifier or keyword; for quoted identifiers, unquoted
	start, end int
}

func (t token) is(keyword string) bool {
	return t.kind == tokWord && strings.EqualFold(t.text, keyword)
}

func (t token) isIdent() bool { return t.kind == tokWord || t.kind == tokQuoted }

// lexMode is what the session's sql_mode changes in the lexing: "..."
// quotes an identifier under ANSI_QUOTES, and a backslash is an ordinary
// character under NO_BACKSLASH_ESCAPES. mariaDB is the source's flavor:
// MariaDB runs what a /*M!NNNNNN ... */ comment holds, MySQL ignores it.
type lexMode struct {
	ansiQuotes, noBackslashEscapes bool
	mariaDB                        bool
}

// mariaDBComment is the token that stands for the opening of a MariaDB
// executable comment (/*M!NNNNNN) on a MariaDB source: what it holds is
// lexed, and the statement is one parseDDL does not read (a MySQL target
// would ignore the comment the source ran).
const mariaDBComment = "/*M!"

// lex splits a statement into tokens, dropping comments but keeping the
// contents of MySQL's executable comments (/*!50100 ... */).
func lex(s string) []token { return lexIn(s, lexMode{}) }

// lexIn lexes s as a session with mode does.
func lexIn(s string, mode lexMode) []token {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c >= '\t' && c <= '\r': // space, tab, newline, vertical tab, form feed, carriage return
			i++
		case c == '#' || (c == '-' && strings.HasPrefix(s[i:], "--") && (i+2 == len(s) || s[i+2] <= ' ' || s[i+2] == 0x7f)): // "--" then whitespace, a control character or the end
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(s[i:], "/*!"), c == '/' && mode.mariaDB && strings.HasPrefix(s[i:], mariaDBComment):
			if s[i+2] == 'M' {
				toks = append(toks, token{kind: tokPunct, text: mariaDBComment, start: i, end: i + 4})
				i++
			}
			i += 3
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return toks
			}
			i += end + 4
		case c == '*' && strings.HasPrefix(s[i:], "*/"):
			i += 2 // the end of an executable comment
		case c == '`' || c == '\'' || c == '"':
			j := i + 1
			var b strings.Builder
			for j < len(s) {
				if s[j] == '\\' && c == '\'' && !mode.noBackslashEscapes && j+1 < len(s) ||
					s[j] == '\\' && c == '"' && !mode.ansiQuotes && !mode.noBackslashEscapes && j+1 < len(s) {
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			kind := tokString
			if c == '`' || c == '"' && mode.ansiQuotes {
				kind = tokQuoted
			}
			toks = append(toks, token{kind: kind, text: b.String(), start: i, end: min(j+1, len(s))})
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tokWord, text: s[i:j], start: i, end: j})
			i = j
		default:
			toks = append(toks, token{kind: tokPunct, text: s[i : i+1], start: i, end: i + 1})
			i++
		}
	}
	return toks
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// parser walks the tokens of one statement.
type parser struct {
	toks      []token
	i         int
	defaultDB string
	st        ddlStatement
}

func (p *parser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: tokPunct}
}

// accept consumes the keywords, in order, if they all come next.
func (p *parser) accept(keywords ...string) bool {
	for k, kw := range keywords {
		if p.i+k >= len(p.toks) || !p.toks[p.i+k].is(kw) {
			return false
		}
	}
	p.i += len(keywords)
	return true
}

// name reads [db.]table and records it.
func (p *parser) name() bool {
	t := p.peek()
	if !t.isIdent() {
		return false
	}
	p.i++
	ref := nameRef{table: tokenSpan{t.start, t.end}}
	name := catalog.TableName{DB: p.defaultDB, Table: t.text}
	if p.i+1 < len(p.toks) && p.toks[p.i].text == "." && p.toks[p.i].kind == tokPunct && p.toks[p.i+1].isIdent() {
		ref.qualifier, ref.db = &tokenSpan{t.start, t.end}, t.text
		name = catalog.TableName{DB: t.text, Table: p.toks[p.i+1].text}
		ref.table = tokenSpan{p.toks[p.i+1].start, p.toks[p.i+1].end}
		p.i += 2
	}
	p.st.tables = append(p.st.tables, name)
	p.st.names = append(p.st.names, ref)
	return true
}

// parseDDL recognises a schema change; ok is false for any other statement.
func parseDDL(defaultDB, text string) (st ddlStatement, ok bool) {
	return parseDDLIn(defaultDB, text, lexMode{})
}

// parseDDLIn is parseDDL for a statement a session with mode wrote.
func parseDDLIn(defaultDB, text string, mode lexMode) (st ddlStatement, ok bool) {
	p := &parser{toks: lexIn(text, mode), defaultDB: defaultDB}
	p.st.text = text
	if slices.ContainsFunc(p.toks, isMariaDBComment) {
		return st, false
	}
	switch {
	case p.accept("CREATE"):
		p.accept("OR", "REPLACE")
		p.accept("DEFINER") // CREATE DEFINER=... VIEW/TRIGGER/...: not a table
		switch {
		case p.accept("TEMPORARY"):
			return st, false // temporary tables live in one session
		case p.accept("TABLE"):
			p.st.kind = ddlCreateTable
			p.st.ifExists = p.accept("IF", "NOT", "EXISTS")
			if !p.name() {
				return st, false
			}
			if p.accept("LIKE") || (p.peek().text == "(" && p.i+1 < len(p.toks) && p.toks[p.i+1].is("LIKE") && p.skip(2)) {
				p.name()
			}
		case p.accept("DATABASE"), p.accept("SCHEMA"):
			p.st.kind = ddlCreateDatabase
			p.st.ifExists = p.accept("IF", "NOT", "EXISTS")
			return p.database()
		default:
			p.accept("ONLINE")
			p.accept("OFFLINE")
			if !p.accept("UNIQUE") && !p.accept("FULLTEXT") {
				p.accept("SPATIAL")
			}
			if !p.accept("INDEX") {
				return st, false
			}
			p.st.kind = ddlCreateIndex
			if !p.skipTo("ON") || !p.name() {
				return st, false
			}
		}
	case p.accept("ALTER"):
		p.accept("ONLINE")
		p.accept("IGNORE")
		switch {
		case p.accept("TABLE"):
			p.st.kind = ddlAlterTable
			p.accept("IF", "EXISTS")
			if !p.name() {
				return st, false
			}
			if p.movesRowsBetweenTables() {
				return st, false
			}
			if p.findRename() {
				p.accept("TO")
				p.accept("AS")
				if !p.name() {
					return st, false
				}
			}
		case p.accept("DATABASE"), p.accept("SCHEMA"):
			p.st.kind = ddlAlterDatabase
			if t := p.peek(); t.isIdent() && !isDatabaseOption(t) {
				return p.database()
			}
			p.st.database = defaultDB
		default:
			return st, false
		}
	case p.accept("DROP"):
		switch {
		case p.accept("TEMPORARY"):
			return st, false
		case p.accept("TABLE"), p.accept("TABLES"):
			p.st.kind = ddlDropTable
			p.st.ifExists = p.accept("IF", "EXISTS")
			for p.name() {
				if p.peek().text != "," || p.peek().kind != tokPunct {
					break
				}
				p.i++
			}
			p.waitOption()
			if !p.accept("RESTRICT") {
				p.accept("CASCADE")
			}
			if !p.atEnd() {
				return st, false
			}
		case p.accept("DATABASE"), p.accept("SCHEMA"):
			p.st.kind = ddlDropDatabase
			p.st.ifExists = p.accept("IF", "EXISTS")
			return p.database()
		case p.accept("INDEX"):
			p.st.kind = ddlDropIndex
			if !p.skipTo("ON") || !p.name() {
				return st, false
			}
		default:
			return st, false
		}
	case p.accept("RENAME", "TABLE"), p.accept("RENAME", "TABLES"):
		p.st.kind = ddlRenameTable
		p.st.ifExists = p.accept("IF", "EXISTS") // MariaDB 10.5+
		for p.name() && p.waitOption() && p.accept("TO") && p.name() {
			if p.peek().text != "," || p.peek().kind != tokPunct {
				break
			}
			p.i++
		}
		if !p.atEnd() || len(p.st.tables)%2 != 0 {
			return st, false
		}
	case p.accept("TRUNCATE"):
		p.accept("TABLE")
		p.st.kind = ddlTruncateTable
		if !p.name() || !p.waitOption() || !p.atEnd() {
			return st, false
		}
	default:
		return st, false
	}
	if len(p.st.tables) == 0 {
		return st, false
	}
	p.findEngines()
	p.findReferences()
	return p.st, true
}

// findReferences records the database qualifiers of the tables a foreign
// key references (REFERENCES db.t), for rewrite to map them too.
func (p *parser) findReferences() {
	if p.st.kind != ddlCreateTable && p.st.kind != ddlAlterTable {
		return
	}
	for i := 0; i+3 < len(p.toks); i++ {
		db, dot, table := p.toks[i+1], p.toks[i+2], p.toks[i+3]
		if p.toks[i].is("REFERENCES") && db.isIdent() && dot.kind == tokPunct && dot.text == "." && table.isIdent() {
			p.st.names = append(p.st.names, nameRef{qualifier: &tokenSpan{db.start, db.end}, db: db.text, table: tokenSpan{table.start, table.end}})
		}
	}
}

func (p *parser) database() (ddlStatement, bool) {
	t := p.peek()
	if !t.isIdent() {
		return p.st, false
	}
	p.st.database = t.text
	p.st.names = append(p.st.names, nameRef{qualifier: &tokenSpan{t.start, t.end}})
	return p.st, true
}

func isDatabaseOption(t token) bool {
	for _, kw := range []string{"DEFAULT", "CHARACTER", "CHARSET", "COLLATE", "COMMENT", "READ", "ENCRYPTION", "UPGRADE"} {
		if t.is(kw) {
			return true
		}
	}
	return false
}

func (p *parser) skip(n int) bool { p.i += n; return true }

// waitOption moves past MariaDB's WAIT n or NOWAIT, if it comes next; it
// always returns true, to chain in a condition.
func (p *parser) waitOption() bool {
	if p.accept("WAIT") && p.i < len(p.toks) {
		p.i++
	} else {
		p.accept("NOWAIT")
	}
	return true
}

// atEnd reports whether nothing but a final ';' is left.
func (p *parser) atEnd() bool {
	for _, t := range p.toks[min(p.i, len(p.toks)):] {
		if t.kind != tokPunct || t.text != ";" {
			return false
		}
	}
	return true
}

// movesRowsBetweenTables reports whether an ALTER TABLE moves rows to or
// from another table (EXCHANGE PARTITION ... WITH TABLE; MariaDB 10.7's
// CONVERT PARTITION ... TO TABLE and CONVERT TABLE ... TO PARTITION): a
// change of two tables, one of which parseDDL does not plan for.
func (p *parser) movesRowsBetweenTables() bool {
	for i := p.i; i+1 < len(p.toks); i++ {
		if p.toks[i].is("EXCHANGE") && p.toks[i+1].is("PARTITION") ||
			p.toks[i].is("CONVERT") && (p.toks[i+1].is("PARTITION") || p.toks[i+1].is("TABLE")) {
			return true
		}
	}
	return false
}

func isMariaDBComment(t token) bool { return t.kind == tokPunct && t.text == mariaDBComment }

// skipTo moves past the next top-level keyword kw.
func (p *parser) skipTo(kw string) bool {
	for ; p.i < len(p.toks); p.i++ {
		if p.toks[p.i].is(kw) {
			p.i++
			return true
		}
	}
	return false
}

// findRename moves past a top-level RENAME [TO|AS] clause of ALTER TABLE
// (not RENAME COLUMN / INDEX / KEY).
func (p *parser) findRename() bool {
	depth := 0
	for ; p.i < len(p.toks); p.i++ {
		t := p.toks[p.i]
		switch {
		case t.kind == tokPunct && t.text == "(":
			depth++
		case t.kind == tokPunct && t.text == ")":
			depth--
		case depth == 0 && t.is("RENAME") && p.i+1 < len(p.toks):
			n := p.toks[p.i+1]
			if n.is("COLUMN") || n.is("INDEX") || n.is("KEY") {
				continue
			}
			p.i++
			return true
		}
	}
	return false
}

// findEngines records ENGINE = x clauses naming an engine other than InnoDB:
// every table on the target must be transactional for exactly-once.
func (p *parser) findEngines() {
	if p.st.kind != ddlCreateTable && p.st.kind != ddlAlterTable {
		return
	}
	for i := 0; i < len(p.toks); i++ {
		if !p.toks[i].is("ENGINE") && !p.toks[i].is("TYPE") {
			continue
		}
		j := i + 1
		if j < len(p.toks) && p.toks[j].text == "=" {
			j++
		}
		if j < len(p.toks) && p.toks[j].isIdent() && !strings.EqualFold(p.toks[j].text, "InnoDB") {
			p.st.engines = append(p.st.engines, tokenSpan{p.toks[j].start, p.toks[j].end})
		}
	}
}

// rewrite returns the statement with every database qualifier mapped by
// rename and every non-InnoDB engine replaced by InnoDB.
func (st ddlStatement) rewrite(rename func(db string) string) string {
	type edit struct {
		span tokenSpan
		with string
	}
	var edits []edit
	for _, ref := range st.names {
		if ref.qualifier == nil {
			continue
		}
		if to := rename(ref.db); to != ref.db {
			edits = append(edits, edit{*ref.qualifier, catalog.QuoteIdent(to)})
		}
	}
	for _, e := range st.engines {
		edits = append(edits, edit{e, "InnoDB"})
	}
	slices.SortFunc(edits, func(x, y edit) int { return x.span.start - y.span.start })
	out := st.text
	for i := len(edits) - 1; i >= 0; i-- { // from the end, so earlier offsets stay valid
		out = out[:edits[i].span.start] + edits[i].with + out[edits[i].span.end:]
	}
	return out
}

// dmlTable returns the table a statement-based INSERT, REPLACE, UPDATE or
// DELETE writes, when it can tell.
func dmlTable(defaultDB, text string) (catalog.TableName, bool) {
	p := &parser{toks: lex(text), defaultDB: defaultDB}
	switch {
	case p.accept("INSERT"), p.accept("REPLACE"):
		for _, kw := range []string{"LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"} {
			p.accept(kw)
		}
	case p.accept("UPDATE"):
		p.accept("LOW_PRIORITY")
		p.accept("IGNORE")
	case p.accept("DELETE"):
		for _, kw := range []string{"LOW_PRIORITY", "QUICK", "IGNORE"} {
			p.accept(kw)
		}
		if !p.accept("FROM") {
			return catalog.TableName{}, false
		}
	default:
		return catalog.TableName{}, false
	}
	if !p.name() {
		return catalog.TableName{}, false
	}
	return p.st.tables[0], true
}

// Statements parseDDL does not read are sorted by their verb and the
// first object they name. CREATE, ALTER, DROP, RENAME and TRUNCATE of a
// table, an index, a database or a MariaDB sequence (a table there), or
// of an object not listed here, are schema changes replication must
// follow: one it cannot read stops replication when it may concern a
// replicated table, never passes unseen. Views, triggers, routines,
// events, users and the like are not replicated (row events carry what
// they do), nor are temporary tables, which live in one session.
var unreplicatedObjects = []string{"VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "USER", "ROLE",
	"SERVER", "TABLESPACE", "LOGFILE", "RESOURCE", "INSTANCE", "PACKAGE", "REFERENCE", "TEMPORARY"}

var tableObjects = []string{"TABLE", "TABLES", "INDEX", "DATABASE", "SCHEMA", "SEQUENCE"}

// unreadSchemaChange reports whether a statement parseDDL did not read is
// a schema change all the same, and returns every name it could mean,
// erring on the side of too many: each db.t as a table, the name after
// CREATE ... TABLE or SEQUENCE as a table of the default database, the
// name after DATABASE or SCHEMA as a database, and every other identifier
// as what could be a table of the default database.
func unreadSchemaChange(defaultDB, text string, mode lexMode) (names unreadNames, ok bool) {
	toks := slices.DeleteFunc(lexIn(text, mode), isMariaDBComment)
	if _, _, at, isSet := setStatementFor(toks); isSet {
		toks = toks[at:]
	}
	if len(toks) == 0 {
		return names, false
	}
	switch verb := toks[0]; {
	case verb.is("TRUNCATE"):
	case verb.is("CREATE"), verb.is("ALTER"), verb.is("DROP"), verb.is("RENAME"):
	object:
		for _, t := range toks[1:] {
			for _, o := range unreplicatedObjects {
				if t.is(o) {
					return names, false
				}
			}
			for _, o := range tableObjects {
				if t.is(o) {
					break object
				}
			}
		}
	default:
		return names, false
	}
	// after is the keyword an identifier follows, IF [NOT] EXISTS aside.
	var after token
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if !t.isIdent() {
			continue
		}
		if t.kind == tokWord && (t.is("IF") || t.is("NOT") || t.is("EXISTS")) {
			continue
		}
		if i+2 < len(toks) && toks[i+1].kind == tokPunct && toks[i+1].text == "." && toks[i+2].isIdent() {
			names.qualified = append(names.qualified, catalog.TableName{DB: t.text, Table: toks[i+2].text})
			i += 2
			after = token{}
			continue
		}
		bare := catalog.TableName{DB: defaultDB, Table: t.text}
		switch {
		case after.is("DATABASE") || after.is("SCHEMA"):
			names.dbs = append(names.dbs, t.text)
		case toks[0].is("CREATE") && (after.is("TABLE") || after.is("SEQUENCE")):
			// A table it creates, which replication cannot know yet.
			names.qualified = append(names.qualified, bare)
		default:
			names.bare = append(names.bare, bare)
		}
		after = t
	}
	return names, true
}

// unreadNames are the names a statement parseDDL did not read could mean.
type unreadNames struct {
	qualified []catalog.TableName // each db.t, and the table a CREATE names
	bare      []catalog.TableName // each other identifier (or keyword, or column), in the default database
	dbs       []string            // each identifier after DATABASE or SCHEMA
}

// setStatementFor reads MariaDB's SET STATEMENT var=value, ... FOR
// statement, which the binlog keeps as written: the variables it sets and
// the index of the statement's first token. isSet is false for any other
// statement.
func setStatementFor(toks []token) (vars []string, inner token, at int, isSet bool) {
	if len(toks) < 2 || !toks[0].is("SET") || !toks[1].is("STATEMENT") {
		return nil, token{}, 0, false
	}
	depth := 0
	for i := 2; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokPunct && t.text == "(":
			depth++
		case t.kind == tokPunct && t.text == ")":
			depth--
		case depth == 0 && t.kind == tokPunct && t.text == "=" && i > 2:
			vars = append(vars, strings.ToLower(toks[i-1].text))
		case depth == 0 && t.is("FOR") && i+1 < len(toks):
			return vars, toks[i+1], i + 1, true
		}
	}
	return nil, token{}, 0, false
}

// timeoutVariables are what SET STATEMENT may set around a schema change
// that is then applied without them: how long it waits, not what it does.
var timeoutVariables = []string{"lock_wait_timeout", "innodb_lock_wait_timeout", "max_statement_time", "wait_timeout", "net_read_timeout", "net_write_timeout"}

// withoutTimeouts returns the statement a SET STATEMENT ... FOR that sets
// only timeouts wraps, and true; a statement that is no such wrapper as
// it is, and true; one that sets anything else, and false: what its
// statement means may depend on it.
func withoutTimeouts(text string, mode lexMode) (string, bool) {
	toks := slices.DeleteFunc(lexIn(text, mode), isMariaDBComment)
	vars, inner, _, isSet := setStatementFor(toks)
	switch {
	case !isSet:
		return text, true
	case slices.ContainsFunc(vars, func(v string) bool { return !slices.Contains(timeoutVariables, v) }):
		return text, false
	}
	return text[inner.start:], true
}

// foldNames gives the names the statement reads as the source keeps them
// (fold: Replicator.sourceName).
func (st *ddlStatement) foldNames(fold func(string) string) {
	for i, t := range st.tables {
		st.tables[i] = catalog.TableName{DB: fold(t.DB), Table: fold(t.Table)}
	}
	for i := range st.names {
		st.names[i].db = fold(st.names[i].db)
	}
	st.database = fold(st.database)
}

// foldNames gives the names as the source keeps them.
func (n *unreadNames) foldNames(fold func(string) string) {
	for _, list := range [][]catalog.TableName{n.qualified, n.bare} {
		for i, t := range list {
			list[i] = catalog.TableName{DB: fold(t.DB), Table: fold(t.Table)}
		}
	}
	for i, d := range n.dbs {
		n.dbs[i] = fold(d)
	}
}
