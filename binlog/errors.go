package binlog

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-sql-driver/mysql"
	"github.com/switcharoo/switcharoo/internal/exitcode"
)

// errTargetStalled: the target's watchdog got no answer to a ping.
var errTargetStalled = errors.New("the target did not answer a ping")

// errCheckpointMoved: a batch found the checkpoint row elsewhere than the
// session read it — a predecessor's batch committed meanwhile.
var errCheckpointMoved = errors.New("the checkpoint moved under this session (a previous session's batch committed after it started); resuming from the checkpoint")

// PreflightError lists every reason replicate refused to start. Nothing
// was changed. Exit code 2.
type PreflightError struct {
	Problems []string
}

func (e *PreflightError) Error() string {
	if len(e.Problems) == 1 {
		return "preflight: " + e.Problems[0]
	}
	return "preflight found " + strconv.Itoa(len(e.Problems)) + " problems:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// ExitCode implements exitcode.Coder.
func (e *PreflightError) ExitCode() int { return exitcode.Usage }

// StopError means replication stopped on something only a person can
// resolve: a DDL under the stop policy, data that does not match (a
// duplicate key, a missing row), a schema the binlog contradicts. The
// checkpoint is consistent; replicate continues from it once the cause is
// dealt with. Exit code 4.
type StopError struct {
	Position Position
	Reason   string
	Fix      string
}

func (e *StopError) Error() string {
	msg := "replication stopped: " + e.Reason
	if !e.Position.IsZero() {
		msg = "replication stopped at " + e.Position.String() + ": " + e.Reason
	}
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

// ExitCode implements exitcode.Coder.
func (e *StopError) ExitCode() int { return exitcode.NeedsHuman }

// MySQL error numbers the replicator tells apart.
const (
	errDupEntry         = 1062
	errNoSuchTable      = 1146
	errBadDB            = 1049
	errTableExists      = 1050
	errBadTable         = 1051
	errDBCreateExists   = 1007
	errDBDropExists     = 1008
	errDupFieldName     = 1060
	errDupKeyName       = 1061
	errCantDropField    = 1091
	errLockWaitTimeout  = 1205
	errLockDeadlock     = 1213
	errReadOnly         = 1290
	errServerShutdown   = 1053
	errQueryInterrupted = 1317
	errConnKilled       = 1927 // MariaDB: connection killed
	errTooManyConns     = 1040
)

func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	var ge *gomysql.MyError
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func isNoSuchTable(err error) bool {
	n := mysqlErrno(err)
	return n == errNoSuchTable || n == errBadDB
}

// transient reports whether an error is worth retrying from the last
// checkpoint: a lost or stalled connection, a server restarting or
// failing over, a lock timeout. Anything else (a SQL error in the data)
// would fail the same way again.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, errTargetStalled) || errors.Is(err, errCheckpointMoved) {
		return true
	}
	switch mysqlErrno(err) {
	case errLockWaitTimeout, errLockDeadlock, errReadOnly, errServerShutdown, errQueryInterrupted,
		errConnKilled, errTooManyConns, 2006, 2013:
		return true
	case 0:
	default:
		return false
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		strings.Contains(err.Error(), "connection") || strings.Contains(err.Error(), "broken pipe")
}
