package binlog

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is a place in the source's binary log: a file and a byte offset.
// Positions this package records are always transaction boundaries, so a
// stream may start at any of them.
type Position struct {
	File string `json:"file"`
	Pos  uint32 `json:"pos"`
}

// ParsePosition reads FILE:POS, the form String writes.
func ParsePosition(s string) (Position, error) {
	file, pos, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(pos, 10, 32)
	if !ok || file == "" || err != nil {
		return Position{}, fmt.Errorf("want FILE:POS such as mysql-bin.000042:1234, got %q", s)
	}
	return Position{File: file, Pos: uint32(n)}, nil
}

func (p Position) String() string {
	if p.File == "" {
		return "(none)"
	}
	return fmt.Sprintf("%s:%d", p.File, p.Pos)
}

// IsZero reports whether p is unset.
func (p Position) IsZero() bool { return p.File == "" }

// Compare orders positions: by the file's sequence number (the numeric
// suffix, so binlog.1000000 follows binlog.999999), then by offset.
func (p Position) Compare(o Position) int {
	if c := compareFiles(p.File, o.File); c != 0 {
		return c
	}
	switch {
	case p.Pos < o.Pos:
		return -1
	case p.Pos > o.Pos:
		return 1
	}
	return 0
}

func compareFiles(a, b string) int {
	if a == b {
		return 0
	}
	abase, aseq := splitFile(a)
	bbase, bseq := splitFile(b)
	if abase == bbase && aseq >= 0 && bseq >= 0 {
		switch {
		case aseq < bseq:
			return -1
		case aseq > bseq:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// splitFile splits "mysql-bin.000042" into ("mysql-bin", 42); seq is -1
// when the name has no numeric extension.
func splitFile(name string) (base string, seq int64) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return name, -1
	}
	n, err := strconv.ParseInt(name[i+1:], 10, 64)
	if err != nil {
		return name, -1
	}
	return name[:i], n
}
