package binlog

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// sessionVars are the settings of the source session that wrote a query
// event, from the event's status variables (log_event.h, Q_*_CODE): a
// schema change means what it meant under them — the bytes of a DEFAULT
// in the client's character set, a quoted "identifier" under ANSI_QUOTES,
// a TIMESTAMP default in the session's time zone.
type sessionVars struct {
	sqlMode         uint64
	hasSQLMode      bool
	charsetClient   uint16 // collation ids, as the event carries them
	collationConn   uint16
	collationServer uint16
	hasCharset      bool
	// charsetNames, when resolved, are what the target is given for the
	// three ids: the client's character set, the connection's and the
	// server's collations (collation ids are the source server's).
	charsetNames       [3]string
	timeZone           string
	explicitDefaultsTS int8 // -1 unknown, else 0 or 1 (MySQL 5.7+ writes it)
	// autoIncrement: the session's auto_increment_increment and _offset,
	// which number the rows of a column added with AUTO_INCREMENT.
	autoIncrement [2]uint16
	// when is the statement's time (the event header's seconds, and the
	// microseconds MySQL or MariaDB add): what CURRENT_TIMESTAMP means
	// when a schema change fills a column of existing rows. 0: unknown.
	when   uint32
	micros uint32
}

// Status variable codes of MySQL and MariaDB query events.
const (
	qFlags2                = 0
	qSQLMode               = 1
	qCatalog               = 2
	qAutoIncrement         = 3
	qCharset               = 4
	qTimeZone              = 5
	qCatalogNZ             = 6
	qLCTimeNames           = 7
	qCharsetDatabase       = 8
	qTableMapForUpdate     = 9
	qMasterDataWritten     = 10
	qInvoker               = 11
	qUpdatedDBNames        = 12
	qMicroseconds          = 13
	qCommitTS              = 14
	qCommitTS2             = 15
	qExplicitDefaultsForTS = 16
	qDDLLoggedWithXID      = 17
	qDefaultCollationUTF8  = 18
	qSQLRequirePrimaryKey  = 19
	qDefaultTableEncrypt   = 20
	qHRNow                 = 128 // MariaDB
	qXID                   = 129 // MariaDB
	qGTIDFlags3            = 130 // MariaDB
)

// fixedStatusVars are the lengths of the fixed-size status variables.
var fixedStatusVars = map[byte]int{
	qFlags2: 4, qSQLMode: 8, qAutoIncrement: 4, qCharset: 6, qLCTimeNames: 2, qCharsetDatabase: 2,
	qTableMapForUpdate: 8, qMasterDataWritten: 4, qMicroseconds: 3, qExplicitDefaultsForTS: 1,
	qDDLLoggedWithXID: 8, qDefaultCollationUTF8: 2, qSQLRequirePrimaryKey: 1, qDefaultTableEncrypt: 1,
	qHRNow: 3, qXID: 8, qGTIDFlags3: 1,
}

// parseStatusVars reads the settings a schema change depends on. A code
// it does not know ends the walk (its length is unknown): what was read
// before it stands, and ok says whether the whole block was understood.
func parseStatusVars(b []byte) (v sessionVars, ok bool) {
	v.explicitDefaultsTS = -1
	for len(b) > 0 {
		code := b[0]
		b = b[1:]
		if n, fixed := fixedStatusVars[code]; fixed {
			if len(b) < n {
				return v, false
			}
			switch code {
			case qSQLMode:
				v.sqlMode, v.hasSQLMode = binary.LittleEndian.Uint64(b), true
			case qCharset:
				v.charsetClient = binary.LittleEndian.Uint16(b)
				v.collationConn = binary.LittleEndian.Uint16(b[2:])
				v.collationServer = binary.LittleEndian.Uint16(b[4:])
				v.hasCharset = true
			case qExplicitDefaultsForTS:
				v.explicitDefaultsTS = int8(b[0])
			case qAutoIncrement:
				v.autoIncrement = [2]uint16{binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])}
			case qMicroseconds, qHRNow:
				v.micros = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
			}
			b = b[n:]
			continue
		}
		switch code {
		case qTimeZone, qCatalogNZ:
			if len(b) < 1 || len(b) < 1+int(b[0]) {
				return v, false
			}
			if code == qTimeZone {
				v.timeZone = string(b[1 : 1+b[0]])
			}
			b = b[1+b[0]:]
		case qCatalog: // length, name, NUL (before MySQL 5.0.4)
			if len(b) < 1 || len(b) < 2+int(b[0]) {
				return v, false
			}
			b = b[2+b[0]:]
		case qInvoker: // user and host, each length-prefixed
			for range 2 {
				if len(b) < 1 || len(b) < 1+int(b[0]) {
					return v, false
				}
				b = b[1+b[0]:]
			}
		case qUpdatedDBNames: // a count, then NUL-terminated names (254: too many, none follow)
			if len(b) < 1 {
				return v, false
			}
			n := int(b[0])
			b = b[1:]
			if n == 254 {
				n = 0
			}
			for range n {
				i := strings.IndexByte(string(b), 0)
				if i < 0 {
					return v, false
				}
				b = b[i+1:]
			}
		case qCommitTS, qCommitTS2:
			return v, false // never written by a released server
		default:
			return v, false
		}
	}
	return v, true
}

// sqlModeNames are the sql_mode bits (the same on MySQL 5.6, 8.0 and
// MariaDB up to bit 31) that decide what a schema change means, by name.
// Others are left out: combinations (ANSI, TRADITIONAL) arrive expanded,
// and modes MySQL 8.0 removed (NO_AUTO_CREATE_USER, MYSQL40, POSTGRESQL…)
// would make the SET fail there while changing no DDL.
var sqlModeNames = []struct {
	bit  uint64
	name string
}{
	{1 << 0, "REAL_AS_FLOAT"}, {1 << 1, "PIPES_AS_CONCAT"}, {1 << 2, "ANSI_QUOTES"}, {1 << 3, "IGNORE_SPACE"},
	{1 << 5, "ONLY_FULL_GROUP_BY"}, {1 << 6, "NO_UNSIGNED_SUBTRACTION"}, {1 << 7, "NO_DIR_IN_CREATE"},
	{1 << 19, "NO_AUTO_VALUE_ON_ZERO"}, {1 << 20, "NO_BACKSLASH_ESCAPES"}, {1 << 21, "STRICT_TRANS_TABLES"},
	{1 << 22, "STRICT_ALL_TABLES"}, {1 << 23, "NO_ZERO_IN_DATE"}, {1 << 24, "NO_ZERO_DATE"},
	{1 << 25, "ALLOW_INVALID_DATES"}, {1 << 26, "ERROR_FOR_DIVISION_BY_ZERO"}, {1 << 29, "HIGH_NOT_PRECEDENCE"},
	{1 << 30, "NO_ENGINE_SUBSTITUTION"}, {1 << 31, "PAD_CHAR_TO_FULL_LENGTH"},
	// MariaDB's own, set only by a MariaDB source (a MySQL target refuses
	// the name: the schema change stops there).
	{1 << 32, "EMPTY_STRING_IS_NULL"}, {1 << 33, "SIMULTANEOUS_ASSIGNMENT"}, {1 << 34, "TIME_ROUND_FRACTIONAL"},
}

// lexMode is how the session's sql_mode lexes a statement.
func (v sessionVars) lexMode() lexMode {
	return lexMode{ansiQuotes: v.sqlMode&(1<<2) != 0, noBackslashEscapes: v.sqlMode&(1<<20) != 0}
}

// setStatement is the SET that gives a target session the source
// session's settings, "" when the event carried none.
func (v sessionVars) setStatement() string {
	var parts []string
	if v.hasSQLMode {
		var modes []string
		for _, m := range sqlModeNames {
			if v.sqlMode&m.bit != 0 {
				modes = append(modes, m.name)
			}
		}
		parts = append(parts, fmt.Sprintf("sql_mode='%s'", strings.Join(modes, ",")))
	}
	switch {
	case v.hasCharset && v.charsetNames[0] != "":
		parts = append(parts, fmt.Sprintf("character_set_client='%s', collation_connection='%s', collation_server='%s'",
			v.charsetNames[0], v.charsetNames[1], v.charsetNames[2]))
	case v.hasCharset:
		parts = append(parts, fmt.Sprintf("character_set_client=%d, collation_connection=%d, collation_server=%d",
			v.charsetClient, v.collationConn, v.collationServer))
	}
	if v.timeZone != "" && validTimeZone(v.timeZone) {
		parts = append(parts, "time_zone='"+v.timeZone+"'")
	}
	if v.explicitDefaultsTS >= 0 {
		parts = append(parts, fmt.Sprintf("explicit_defaults_for_timestamp=%d", v.explicitDefaultsTS))
	}
	if v.autoIncrement[0] > 0 {
		parts = append(parts, fmt.Sprintf("auto_increment_increment=%d, auto_increment_offset=%d", v.autoIncrement[0], max(v.autoIncrement[1], 1)))
	}
	if v.when > 0 {
		parts = append(parts, fmt.Sprintf("timestamp=%d.%06d", v.when, v.micros))
	}
	if len(parts) == 0 {
		return ""
	}
	return "SET SESSION " + strings.Join(parts, ", ")
}

// validTimeZone accepts the time zone names and offsets a session may
// have (SYSTEM, +05:00, Europe/Paris), nothing that could end the quote.
func validTimeZone(tz string) bool {
	for _, c := range tz {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("+-:/_", c):
		default:
			return false
		}
	}
	return true
}
