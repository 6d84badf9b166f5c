// Package logging builds the one zerolog.Logger a switcharoo process uses.
//
// The CLI creates it from --log-format and --log-level and passes it down;
// no package keeps a logger in a global. Format "console" is for people at a
// terminal, "json" for log shippers; "" picks console when the output is a
// terminal and json otherwise.
package logging

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Formats and levels accepted by New, in the order the CLI documents them.
var (
	Formats = []string{"console", "json"}
	Levels  = []string{"trace", "debug", "info", "warn", "error"}
)

// New returns a logger writing to w in the given format ("" = auto) at the
// given level ("" = info), and to each of also as plain console lines.
func New(w io.Writer, format, level string, also ...io.Writer) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if level != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(level))
		if err != nil || !slices.Contains(Levels, strings.ToLower(level)) {
			return zerolog.Nop(), fmt.Errorf("--log-level: must be one of %s, got %q", strings.Join(Levels, ", "), level)
		}
		lvl = l
	}
	switch format {
	case "":
		if isTerminal(w) {
			format = "console"
		} else {
			format = "json"
		}
	case "console", "json":
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format: must be one of %s, got %q", strings.Join(Formats, ", "), format)
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: !isTerminal(w)}
	}
	if len(also) > 0 {
		ws := []io.Writer{w}
		for _, a := range also {
			ws = append(ws, zerolog.ConsoleWriter{Out: a, TimeFormat: "15:04:05.000", NoColor: true})
		}
		w = zerolog.MultiLevelWriter(ws...)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func init() {
	// Milliseconds in JSON timestamps: a cutover is measured in seconds.
	zerolog.TimeFieldFormat = time.RFC3339Nano
}

func isTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ Terminal() bool }); ok {
		return t.Terminal() // a writer that draws on a terminal itself
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
