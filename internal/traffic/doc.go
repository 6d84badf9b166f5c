// Package traffic plays the application's users through a night and says
// what they saw: a Generator sends HTTP requests at a steady rate — reads
// (GET) and writes (POST) in turn, each on its own, so that a slow answer
// does not hold back the next user — and a Record keeps every request's
// start, end and outcome. Summary turns a record into the figures an SRE
// asks after a switchover: how many requests, how many failed, the longest
// run of failures, the longest time the site was down, the longest time
// without a successful write, and the latencies, of the requests sent
// inside a window (the night's).
//
// A request fails when it gets no answer within the timeout or an answer
// other than 2xx. A failure is the site down when no web task answered
// it: no answer at all, or a balancer's 502, 503 or 504 (an application
// reports its own errors as 500). A run of failures (of the site down) is
// a maximal sequence of such requests in the order they were sent; its
// window runs from the first one's start to the latest end among them. The
// longest run of the site down is shown apart: the site-down time of a
// night that stops the web service. The time without a successful write
// runs between the ends of two successful writes that follow each other,
// from the first write's start to the first success, and from the last
// success to the end of the last failed write after it.
package traffic
