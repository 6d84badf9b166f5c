package logging

import (
	"context"
	"log/slog"
	"strings"

	"github.com/rs/zerolog"
	"github.com/switcharoo/switcharoo/internal/secret"
)

// Slog adapts a zerolog.Logger for libraries that log through log/slog
// (go-mysql's BinlogSyncer). Their messages are demoted one level (their
// Info is routine for us), attributes holding whole structs (a config
// dump) are dropped, and any text equal to one of the secrets is masked.
func Slog(log zerolog.Logger, secrets ...secret.Value) *slog.Logger {
	var clear []string
	for _, s := range secrets {
		if s.IsSet() {
			clear = append(clear, s.Reveal())
		}
	}
	return slog.New(&slogHandler{log: log, secrets: clear})
}

type slogHandler struct {
	log     zerolog.Logger
	secrets []string
	attrs   []slog.Attr
	group   string
}

func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.GetLevel() <= zerologLevel(l)
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	e := h.log.WithLevel(zerologLevel(r.Level))
	add := func(a slog.Attr) bool {
		a.Value = a.Value.Resolve()
		switch a.Value.Kind() {
		case slog.KindAny, slog.KindGroup, slog.KindLogValuer:
			return true // structs such as the syncer's config: not logged
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		e = e.Str(key, h.mask(a.Value.String()))
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	e.Msg(h.mask(r.Message))
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = strings.TrimPrefix(h.group+"."+name, ".")
	return &c
}

func (h *slogHandler) mask(s string) string {
	for _, secret := range h.secrets {
		s = strings.ReplaceAll(s, secret, "********")
	}
	return s
}

// zerologLevel maps a library's slog level to ours, one level lower.
func zerologLevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.WarnLevel
	case l >= slog.LevelWarn:
		return zerolog.InfoLevel
	case l >= slog.LevelInfo:
		return zerolog.DebugLevel
	default:
		return zerolog.TraceLevel
	}
}
