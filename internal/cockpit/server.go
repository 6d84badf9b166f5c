package cockpit

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/switcharoo/switcharoo/internal/secret"
)

//go:embed assets
var assets embed.FS

// TokenEnv names the environment variable holding the bearer token that
// --http requires when bound beyond loopback.
const TokenEnv = "SWITCHAROO_HTTP_TOKEN"

// Server serves a board.
type Server struct {
	// Addr is where it listens, once started (the port chosen for ":0").
	Addr string
	srv  *http.Server
	done chan error
}

// Serve listens on addr and serves b until Close. Bound beyond loopback it
// requires token as a bearer token, and refuses to start without one.
func Serve(addr string, token secret.Value, b *Board) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--http %q: want host:port, e.g. 127.0.0.1:8080: %v", addr, err)
	}
	if !loopback(host) && !token.IsSet() {
		return nil, fmt.Errorf("--http %s is reachable beyond this machine: set a bearer token in %s (clients send Authorization: Bearer <token>), or bind to 127.0.0.1", addr, TokenEnv)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http: %w", err)
	}
	guard := func(h http.Handler) http.Handler { return h }
	if token.IsSet() {
		guard = func(h http.Handler) http.Handler { return requireToken(token, h) }
	}
	page, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	// The page itself holds no data: it loads without the token and sends
	// the one in its address's #token= fragment (which browsers never send
	// to the server) with every request for data.
	mux.Handle("GET /", http.FileServerFS(page))
	mux.Handle("GET /api/state", guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(b.Snapshot())
	})))
	mux.Handle("GET /metrics", guard(promhttp.HandlerFor(b.Registry(), promhttp.HandlerOpts{})))
	s := &Server{Addr: l.Addr().String(), done: make(chan error, 1),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Close stops the server, letting requests under way finish briefly.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// requireToken lets through requests bearing the token.
func requireToken(token secret.Value, next http.Handler) http.Handler {
	want := []byte("Bearer " + token.Reveal())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switcharoo"`)
			http.Error(w, "a bearer token is required (Authorization: Bearer <token>)", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// loopback reports whether host is only reachable from this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
