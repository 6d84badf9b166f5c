package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// A library logging through Slog never prints a secret: not in a message,
// not in an attribute, not in a struct dump (which is dropped).
func TestSlogMasksSecrets(t *testing.T) {
	const pw = "Tapir-Secret-991"
	var out bytes.Buffer
	log := Slog(zerolog.New(&out).Level(zerolog.TraceLevel), secret.New(pw))
	type config struct{ User, Password string }
	log.Info("connecting with password "+pw, slog.String("dsn", "root:"+pw+"@tcp(x)"), slog.Any("config", config{"root", pw}))
	log.With("pw", pw).WithGroup("g").Error("failed", "detail", pw)
	if strings.Contains(out.String(), pw) {
		t.Fatalf("secret printed:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "connecting with password ********") || !strings.Contains(out.String(), `"level":"warn"`) {
		t.Errorf("want masked messages, demoted one level:\n%s", out.String())
	}
}

func TestNewRejectsUnknownFormatAndLevel(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "xml", ""); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("format: %v", err)
	}
	if _, err := New(&bytes.Buffer{}, "", "loud"); err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Errorf("level: %v", err)
	}
	var out bytes.Buffer
	log, err := New(&out, "", "debug") // not a terminal: JSON
	if err != nil {
		t.Fatal(err)
	}
	log.Debug().Msg("hello")
	if !strings.HasPrefix(out.String(), `{"level":"debug"`) {
		t.Errorf("want JSON when not on a terminal, got %q", out.String())
	}
}
