// Package cockpit is the night's dashboard: the state a team watches
// together while switcharoo replicates, runs, rehearses or rolls back,
// served over HTTP by `--http ADDR`.
//
// A Board holds that state — the runbook's steps with their times and
// outcomes, replication's lag over the last 15 minutes, its rate and copy
// progress, the final verify's progress, the write probe's timeline, and
// the tail of the log — fed by the command as it goes (cutover reports
// steps and probe writes; a poller reads replication's status row; the
// logger writes its lines into it). Every update also sets the matching
// Prometheus metric in the Board's own registry.
//
// Serve puts it on the network: GET / is the page (HTML, CSS and script
// embedded with go:embed, nothing fetched from elsewhere), which polls
// GET /api/state every second; GET /metrics is the Prometheus exposition.
// Bound beyond loopback, every request for data (/api/state, /metrics)
// must carry the bearer token, compared in constant time and never
// logged; the page, which holds no data, reads it from its address's
// #token= fragment, which browsers do not send to servers.
package cockpit
