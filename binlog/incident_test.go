package binlog_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switcharoo/switcharoo/binlog"
)

// An incident event (LOST_EVENTS: the source could not log some changes)
// stops replication where it is, naming the position, as it stops a native
// replica; what came before it is applied, nothing after it.
//
// No SQL makes a server write one, so the test writes it into a closed
// binlog file of the real source, before that file's closing ROTATE event,
// as the server itself would have.
func TestIncidentEventStops(t *testing.T) {
	r := newRig(t)
	r.source("CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)", "INSERT INTO app.t VALUES (1)")
	run := r.run(binlog.RunOptions{})
	r.waitCaughtUp(run)
	if err := run.stop(); err != nil {
		t.Fatalf("replicate: %v\n%s", err, r.log)
	}
	var file string
	var pos, a, b any
	if err := r.srcDB.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b); err != nil {
		t.Fatal(err)
	}
	r.source("INSERT INTO app.t VALUES (2)", "FLUSH BINARY LOGS")
	at := spliceIncident(t, filepath.Join(r.src.Dir, "data", file), "disk full while logging")
	r.source("INSERT INTO app.t VALUES (3)")

	err := runOnce(t, r.cfg, binlog.RunOptions{})
	want := fmt.Sprintf("replication stopped at %s:%d: the source's binlog holds an incident event: LOST_EVENTS (\"disk full while logging\")", file, at)
	if err == nil || !strings.Contains(err.Error(), want) || exitCodeOf(err) != 4 {
		t.Fatalf("want exit 4 and %q, got %v (exit %d)", want, err, exitCodeOf(err))
	}
	if got := targetCount(t, r, "SELECT COUNT(*) FROM app.t"); got != 2 {
		t.Errorf("target holds %d rows; want the 2 written before the incident", got)
	}
}

// spliceIncident inserts an INCIDENT_EVENT (LOST_EVENTS) before the final
// ROTATE event of a closed binlog file (every event carries a CRC32, the
// sandbox's default), moving the ROTATE's end position, and returns the
// incident's offset.
func spliceIncident(t *testing.T, path, message string) uint32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const header = 19
	last := uint32(4) // after the magic number
	for off := uint32(4); off < uint32(len(data)); {
		last = off
		off += binary.LittleEndian.Uint32(data[off+9:])
	}
	if data[last+4] != 4 { // ROTATE_EVENT
		t.Fatalf("%s does not end with a ROTATE event (type %d)", path, data[last+4])
	}
	body := append([]byte{1, 0, byte(len(message))}, message...) // LOST_EVENTS
	incident := make([]byte, header, header+len(body)+4)
	copy(incident, data[last:last+header]) // timestamp, server_id, flags of the ROTATE
	incident[4] = 26                       // INCIDENT_EVENT
	size := uint32(header + len(body) + 4)
	binary.LittleEndian.PutUint32(incident[9:], size)
	binary.LittleEndian.PutUint32(incident[13:], last+size)
	binary.LittleEndian.PutUint16(incident[17:], 0)
	incident = append(incident, body...)
	incident = binary.LittleEndian.AppendUint32(incident, crc32.ChecksumIEEE(incident))

	rotate := append([]byte(nil), data[last:]...)
	binary.LittleEndian.PutUint32(rotate[13:], binary.LittleEndian.Uint32(rotate[13:])+size)
	binary.LittleEndian.PutUint32(rotate[len(rotate)-4:], crc32.ChecksumIEEE(rotate[:len(rotate)-4]))

	out := append(append(append([]byte(nil), data[:last]...), incident...), rotate...)
	if err := os.WriteFile(path, out, 0o660); err != nil {
		t.Fatal(err)
	}
	return last
}
