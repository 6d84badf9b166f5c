// Package faultproxy puts an in-process toxiproxy in front of a server,
// for tests: what goes through it can be stalled (bytes dropped both ways,
// sockets left open, as a failing VPN does), reset, slowed, then healed.
// It listens on 127.0.0.1 only.
package faultproxy

import (
	"context"
	"fmt"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Proxy is a toxiproxy in front of one server, stopped when its test ends.
type Proxy struct {
	p *toxiproxy.Proxy
	// Port is the port it listens on, on 127.0.0.1.
	Port int
}

// Host is the address a Proxy listens on.
const Host = "127.0.0.1"

// Start starts a proxy to host:port.
func Start(t testing.TB, host string, port int) *Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, fmt.Sprintf("%s:%d", host, port), Host+":0", fmt.Sprintf("%s:%d", host, port))
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	var got int
	if _, err := fmt.Sscanf(p.Listen[strings.LastIndexByte(p.Listen, ':')+1:], "%d", &got); err != nil {
		t.Fatalf("proxy address %q: %v", p.Listen, err)
	}
	return &Proxy{p: p, Port: got}
}

// Stall drops every byte both ways and keeps the connections open; new
// connections are accepted and get no answer.
func (p *Proxy) Stall(t testing.TB) { p.Toxic(t, "timeout", `{"timeout": 0}`) }

// DropReplies drops every byte the server sends and keeps the
// connections open: what the clients send still reaches it and runs, and
// they never hear of it.
func (p *Proxy) DropReplies(t testing.TB) { p.add(t, "downstream", "timeout", `{"timeout": 0}`) }

// DropRequests drops every byte the clients send: nothing reaches the
// server. With DropReplies, it is Stall.
func (p *Proxy) DropRequests(t testing.TB) { p.add(t, "upstream", "timeout", `{"timeout": 0}`) }

// Toxic adds a toxiproxy toxic of kind with attributes (JSON) both ways.
func (p *Proxy) Toxic(t testing.TB, kind, attributes string) {
	t.Helper()
	for _, stream := range []string{"downstream", "upstream"} {
		p.add(t, stream, kind, attributes)
	}
}

// add adds a toxic to one stream: downstream (server to client) or
// upstream.
func (p *Proxy) add(t testing.TB, stream, kind, attributes string) {
	t.Helper()
	spec := fmt.Sprintf(`{"name": "%s-%s", "type": %q, "stream": %q, "attributes": %s}`, kind, stream, kind, stream, attributes)
	if _, err := p.p.Toxics.AddToxicJson(strings.NewReader(spec)); err != nil {
		t.Fatal(err)
	}
}

// Heal removes every toxic.
func (p *Proxy) Heal(t testing.TB) {
	t.Helper()
	p.p.Toxics.ResetToxics(context.Background())
}
