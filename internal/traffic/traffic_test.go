package traffic

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// brokenSite answers status (an error) while broken, and remembers when it
// answered the first and the last failure: what the users' figures must
// match.
type brokenSite struct {
	mu                sync.Mutex
	status            int
	broken            bool
	firstFail, lastOK time.Time
	lastFail          time.Time
}

func (b *brokenSite) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.broken {
		if b.firstFail.IsZero() {
			b.firstFail = now
		}
		b.lastFail = now
		w.WriteHeader(b.status)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (b *brokenSite) set(broken bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.broken = broken
}

// A site broken for a known time: the summary reports that window within
// ±100 ms, counts the failures, and no failure outside it. The window is
// the site down when no web task answered (the balancer's 503), and not
// when the application answered its own error (500).
func TestSummaryMeasuresABrokenWindow(t *testing.T) {
	t.Run("the application fails", func(t *testing.T) { measureBrokenWindow(t, http.StatusInternalServerError, false) })
	t.Run("no web task answers", func(t *testing.T) { measureBrokenWindow(t, http.StatusServiceUnavailable, true) })
}

func measureBrokenWindow(t *testing.T, status int, down bool) {
	site := &brokenSite{status: status}
	srv := httptest.NewServer(site)
	defer srv.Close()
	rec := &Record{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	g := &Generator{ReadURL: srv.URL + "/read", WriteURL: srv.URL + "/write", Rate: 50, Timeout: 5 * time.Second}
	go func() { g.Run(ctx, rec); close(done) }()

	waitRequests(t, rec, 20)
	site.set(true)
	brokenFrom := time.Now()
	for time.Since(brokenFrom) < 700*time.Millisecond {
		time.Sleep(10 * time.Millisecond) // the site's outage lasts this long: the measured thing, not a synchronisation
	}
	site.set(false)
	n := len(rec.snapshot())
	waitRequests(t, rec, n+20)
	cancel()
	<-done

	s := rec.Summary(time.Time{}, time.Time{})
	site.mu.Lock()
	served := site.lastFail.Sub(site.firstFail)
	site.mu.Unlock()
	if s.Failed == 0 || s.Failed >= s.Requests {
		t.Fatalf("failed %d of %d requests; want some, not all", s.Failed, s.Requests)
	}
	if d := time.Duration(s.LongestFailureMS)*time.Millisecond - served; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("longest failure window %d ms; the site answered failures for %s", s.LongestFailureMS, served)
	}
	if d := time.Duration(s.LongestNoWriteMS)*time.Millisecond - served; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("longest time without a successful write %d ms; the site refused them for %s", s.LongestNoWriteMS, served)
	}
	if !down && s.LongestDownMS != 0 {
		t.Errorf("the site down for %d ms; the application answered every request", s.LongestDownMS)
	}
	if d := time.Duration(s.LongestDownMS)*time.Millisecond - served; down && (d < -100*time.Millisecond || d > 100*time.Millisecond) {
		t.Errorf("the site down for %d ms; no task answered for %s", s.LongestDownMS, served)
	}
	if s.P99MS < s.P50MS {
		t.Errorf("p99 %d ms below p50 %d ms", s.P99MS, s.P50MS)
	}
}

// A site that never fails: no failure, and no long wait for a write.
func TestSummaryOfAHealthySite(t *testing.T) {
	srv := httptest.NewServer(&brokenSite{})
	defer srv.Close()
	rec := &Record{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	g := &Generator{ReadURL: srv.URL, WriteURL: srv.URL, Rate: 50}
	go func() { g.Run(ctx, rec); close(done) }()
	waitRequests(t, rec, 30)
	cancel()
	<-done
	s := rec.Summary(time.Time{}, time.Time{})
	if s.Failed != 0 || s.LongestFailureMS != 0 || s.LongestDownMS != 0 {
		t.Fatalf("a healthy site: %+v", s)
	}
	if s.Requests < 30 {
		t.Fatalf("%d requests recorded, want at least 30", s.Requests)
	}
}

// A site that does not answer at all is down.
func TestSummaryOfASiteThatDoesNotAnswer(t *testing.T) {
	srv := httptest.NewServer(&brokenSite{})
	srv.Close()
	rec := &Record{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	g := &Generator{ReadURL: srv.URL, WriteURL: srv.URL, Rate: 50}
	go func() { g.Run(ctx, rec); close(done) }()
	waitRequests(t, rec, 10)
	cancel()
	<-done
	s := rec.Summary(time.Time{}, time.Time{})
	if s.Failed != s.Requests || s.LongestDownMS == 0 || s.LongestDownMS != s.LongestFailureMS {
		t.Fatalf("a site that does not answer: %+v; want every request failed, all of them the site down", s)
	}
}

// Failed writes at the end of the record count until the last of them.
func TestSummaryCountsAnOutageStillUnderWay(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	rec := &Record{reqs: []Request{
		{Start: at(0), End: at(10), Write: true, OK: true},
		{Start: at(20), End: at(30), OK: true},
		{Start: at(40), End: at(50), Write: true},
		{Start: at(60), End: at(1010), Write: true},
	}}
	s := rec.Summary(time.Time{}, time.Time{})
	if s.LongestNoWriteMS != 1000 || s.LongestFailureMS != 970 || s.Failed != 2 || s.Requests != 4 {
		t.Fatalf("summary %+v: want 4 requests, 1000 ms without a write, a 970 ms failure window, 2 failed", s)
	}
	// Inside a window: only the requests sent in it.
	s = rec.Summary(at(35), at(100))
	if s.Requests != 2 || s.P50MS != 10 || s.P99MS != 950 {
		t.Fatalf("inside the window: %+v; want 2 requests, p50 10 ms, p99 950 ms", s)
	}
}

func (r *Record) snapshot() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

func waitRequests(t *testing.T, rec *Record, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(rec.snapshot()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests recorded in 30 s, want %d", len(rec.snapshot()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A record kept in a file is read back whole by the next process — the
// report of a night resumed after a crash covers what users saw before it
// — and a line cut short by the crash is skipped.
func TestRecordFileSurvivesTheProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.log")
	rec, err := OpenRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, q := range []Request{
		{Start: at(0), End: at(10), Write: true, OK: true},
		{Start: at(20), End: at(400), Write: true},
		{Start: at(30), End: at(35), Down: true},
	} {
		rec.add(q)
	}
	want := rec.Summary(time.Time{}, time.Time{})
	if want.LongestDownMS != 5 {
		t.Fatalf("recorded %+v, want the site down 5 ms", want)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("1234 56") // cut short
	f.Close()

	again, err := OpenRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	again.add(Request{Start: at(500), End: at(510), Write: true, OK: true})
	got := again.Summary(time.Time{}, at(450))
	if got != want {
		t.Fatalf("read back %+v; recorded %+v", got, want)
	}
	again.Close()
	third, err := OpenRecord(path)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if s := third.Summary(time.Time{}, time.Time{}); s.Requests != 4 || s.LongestNoWriteMS != 500 {
		t.Fatalf("read back with the second process's request: %+v; want 4 requests, 500 ms without a write", s)
	}
}
