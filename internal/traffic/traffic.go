package traffic

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

// Generator sends requests until its context ends.
type Generator struct {
	ReadURL  string // GET; empty: no reads
	WriteURL string // POST; empty: no writes
	Rate     int    // requests per second, reads and writes together
	Timeout  time.Duration
	Client   *http.Client
}

// Run sends requests at g.Rate until ctx ends, then waits for the ones
// under way, recording each in rec.
func (g *Generator) Run(ctx context.Context, rec *Record) {
	client := g.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	t := time.NewTicker(time.Second / time.Duration(max(g.Rate, 1)))
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	write := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		write = !write
		url, method := g.ReadURL, http.MethodGet
		if write && g.WriteURL != "" || g.ReadURL == "" {
			url, method = g.WriteURL, http.MethodPost
		}
		if url == "" {
			continue
		}
		isWrite := method == http.MethodPost
		wg.Go(func() {
			// A request under way when the night ends still counts:
			// it is not cut short by ctx.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			defer cancel()
			start := time.Now()
			ok, down := send(rctx, client, method, url)
			rec.add(Request{Start: start, End: time.Now(), Write: isWrite, OK: ok, Down: down})
		})
	}
}

// send sends one request: ok is a 2xx answer read whole; down, a failure
// no web task answered (no answer at all, or the balancer's 502, 503 or
// 504: nothing behind it served).
func send(ctx context.Context, client *http.Client, method, url string) (ok, down bool) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return false, false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, true
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	switch code := resp.StatusCode; {
	case code == http.StatusBadGateway || code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		return false, true
	default:
		return err == nil && code >= 200 && code < 300, false
	}
}

// Request is one request's outcome.
type Request struct {
	Start, End time.Time
	Write      bool
	OK         bool
	Down       bool // failed, and no web task answered it
}

// Record keeps the requests of a generator's run; safe for concurrent use.
type Record struct {
	mu   sync.Mutex
	reqs []Request
	file *os.File // OpenRecord's
}

func (r *Record) add(q Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, q)
	if r.file != nil {
		// A lost line only shortens the record of a crashed process.
		_, _ = r.file.WriteString(q.line())
	}
}

// Summary is what the users saw.
type Summary struct {
	Requests int `json:"requests"`
	Failed   int `json:"failed"`
	// LongestFailureMS is the longest window of a run of failed requests.
	LongestFailureMS int64 `json:"longest_failure_ms"`
	// LongestDownMS is the longest window of a run of requests no web
	// task answered: the site down (in the seed's stop-all night, from
	// the web service's stop to its redeploy serving).
	LongestDownMS int64 `json:"longest_down_ms"`
	// LongestNoWriteMS is the longest time without a successful write.
	LongestNoWriteMS int64 `json:"longest_no_write_ms"`
	// P50MS and P99MS are the requests' latencies.
	P50MS int64 `json:"p50_ms"`
	P99MS int64 `json:"p99_ms"`
}

// Summary sums up the requests sent between from and to (every request
// recorded when both are zero).
func (r *Record) Summary(from, to time.Time) Summary {
	r.mu.Lock()
	reqs := slices.DeleteFunc(slices.Clone(r.reqs), func(q Request) bool {
		return !(from.IsZero() && to.IsZero()) && (q.Start.Before(from) || !q.Start.Before(to))
	})
	r.mu.Unlock()
	slices.SortFunc(reqs, func(a, b Request) int { return a.Start.Compare(b.Start) })
	s := Summary{Requests: len(reqs)}
	var failures, down run
	var latencies []time.Duration
	var writeEnds []time.Time
	var firstWrite, failedWriteEnd time.Time
	for _, q := range reqs {
		failures.take(q, !q.OK, &s.LongestFailureMS)
		down.take(q, q.Down, &s.LongestDownMS)
		if !q.OK {
			s.Failed++
		}
		if q.Write {
			if firstWrite.IsZero() {
				firstWrite = q.Start
			}
			if q.OK {
				writeEnds = append(writeEnds, q.End)
			} else if q.End.After(failedWriteEnd) {
				failedWriteEnd = q.End
			}
		}
		latencies = append(latencies, q.End.Sub(q.Start))
	}
	failures.end(&s.LongestFailureMS)
	down.end(&s.LongestDownMS)
	slices.SortFunc(writeEnds, func(a, b time.Time) int { return a.Compare(b) })
	last := firstWrite
	for _, e := range writeEnds {
		if !last.IsZero() {
			s.LongestNoWriteMS = max(s.LongestNoWriteMS, e.Sub(last).Milliseconds())
		}
		last = e
	}
	// Failed writes after the last that succeeded: the time without one
	// lasted at least until the last of them ended.
	if !last.IsZero() && failedWriteEnd.After(last) {
		s.LongestNoWriteMS = max(s.LongestNoWriteMS, failedWriteEnd.Sub(last).Milliseconds())
	}
	s.P50MS, s.P99MS = percentile(latencies, 50), percentile(latencies, 99)
	return s
}

// run is a run of requests, in the order they were sent, that share an
// outcome; its window is from the first one's start to the latest end.
type run struct{ first, last time.Time }

// take adds q to the run if in, else ends the run, keeping the longest
// window in longest (ms).
func (r *run) take(q Request, in bool, longest *int64) {
	if !in {
		r.end(longest)
		return
	}
	if r.first.IsZero() {
		r.first = q.Start
	}
	if q.End.After(r.last) {
		r.last = q.End
	}
}

func (r *run) end(longest *int64) {
	if !r.first.IsZero() {
		*longest = max(*longest, r.last.Sub(r.first).Milliseconds())
	}
	*r = run{}
}

// percentile is the p-th percentile of ds, in milliseconds (nearest rank).
func percentile(ds []time.Duration, p int) int64 {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := (len(ds)*p + 99) / 100
	return ds[max(i-1, 0)].Milliseconds()
}

// Text is the summary for a person: "2,950 requests, 0 failed; ...".
func (s Summary) Text() string {
	return fmt.Sprintf("%d requests, %d failed; longest run of failures %s, longest without a successful write %s; site down (no web task answered) %s at most; latency p50 %d ms, p99 %d ms",
		s.Requests, s.Failed, seconds(s.LongestFailureMS), seconds(s.LongestNoWriteMS), seconds(s.LongestDownMS), s.P50MS, s.P99MS)
}

func seconds(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).Round(10 * time.Millisecond).String()
}
