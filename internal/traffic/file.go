package traffic

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// OpenRecord returns a record kept in the file at path as well: the
// requests a file already holds (an earlier process's, before a crash)
// are read back, and every request added is appended as a line of its
// own. A request written to the file survives a SIGKILL of the process (it
// is in the page cache); a line cut short by one is skipped when read.
//
//	<start, unix ns> <end, unix ns> <r|w> <1 ok|0 failed|d down>
func OpenRecord(path string) (*Record, error) {
	r := &Record{}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if q, ok := parseRequest(sc.Text()); ok {
				r.reqs = append(r.reqs, q)
			}
		}
		err := sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	// A line cut short ends here, not glued to the next request's.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			_, _ = f.WriteString("\n")
		}
	}
	r.file = f
	return r, nil
}

// Close closes the record's file, if it has one.
func (r *Record) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	return err
}

func (q Request) line() string {
	kind, ok := "r", "0"
	if q.Write {
		kind = "w"
	}
	switch {
	case q.OK:
		ok = "1"
	case q.Down:
		ok = "d"
	}
	return fmt.Sprintf("%d %d %s %s\n", q.Start.UnixNano(), q.End.UnixNano(), kind, ok)
}

func parseRequest(line string) (Request, bool) {
	f := strings.Fields(line)
	if len(f) != 4 || (f[2] != "r" && f[2] != "w") || (f[3] != "0" && f[3] != "1" && f[3] != "d") {
		return Request{}, false
	}
	start, err1 := strconv.ParseInt(f[0], 10, 64)
	end, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || end < start {
		return Request{}, false
	}
	return Request{Start: time.Unix(0, start), End: time.Unix(0, end), Write: f[2] == "w", OK: f[3] == "1", Down: f[3] == "d"}, true
}
