package sandbox

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LoadBalancer stands in for the application's load balancer: it spreads
// requests over the web tasks registered in its target group (files that
// RunWeb writes into Dir) in turn. Like an ALB it does not retry: a
// request to a task that is gone gets 502, and with no task registered,
// 503 — the site is down.
type LoadBalancer struct {
	Dir string // the target group
	URL string // http://127.0.0.1:port

	srv  *http.Server
	next atomic.Uint64

	mu   sync.Mutex
	down []time.Time // when a request found no task registered (503)
}

// Down says how many requests between from and to found no task
// registered, and when the first and the last of them came: the site was
// down at least that long.
func (lb *LoadBalancer) Down(from, to time.Time) (requests int, first, last time.Time) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for _, at := range lb.down {
		if at.Before(from) || at.After(to) {
			continue
		}
		if requests == 0 {
			first = at
		}
		requests++
		last = at
	}
	return requests, first, last
}

func (lb *LoadBalancer) noTarget() {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.down = append(lb.down, time.Now())
}

// StartLoadBalancer serves on a free loopback port.
func StartLoadBalancer(dir string) (*LoadBalancer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	lb := &LoadBalancer{Dir: dir, URL: "http://" + l.Addr().String()}
	transport := &http.Transport{DialContext: (&net.Dialer{Timeout: time.Second}).DialContext, MaxIdleConnsPerHost: 16}
	gone := func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	lb.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targets := lb.Targets()
		if len(targets) == 0 {
			lb.noTarget()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		target := &url.URL{Scheme: "http", Host: targets[int(lb.next.Add(1)%uint64(len(targets)))]}
		proxy := &httputil.ReverseProxy{Rewrite: func(p *httputil.ProxyRequest) { p.SetURL(target) }, Transport: transport, ErrorHandler: gone}
		proxy.ServeHTTP(w, r)
	})}
	go lb.srv.Serve(l)
	return lb, nil
}

// Targets are the addresses registered now, in a stable order. The
// directory is read for every request: a cache keyed on its modification
// time could miss a deregistration made within one timestamp tick of a
// registration, and keep sending users to a task that is draining.
func (lb *LoadBalancer) Targets() []string {
	files, _ := filepath.Glob(filepath.Join(lb.Dir, "*.addr"))
	var out []string
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
			out = append(out, strings.TrimSpace(string(b)))
		}
	}
	slices.Sort(out)
	return out
}

// Close stops serving.
func (lb *LoadBalancer) Close() {
	if lb != nil && lb.srv != nil {
		lb.srv.Close()
	}
}
