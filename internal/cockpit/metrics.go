package cockpit

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the board's Prometheus series, all prefixed switcharoo_ and
// labelled with the command.
type metrics struct {
	registry     *prometheus.Registry
	lag          prometheus.Gauge
	rowsPerSec   prometheus.Gauge
	transactions prometheus.Gauge
	rowChanges   prometheus.Gauge
	divergences  prometheus.Gauge
	replState    *prometheus.GaugeVec
	copyDone     prometheus.Gauge
	copyTotal    prometheus.Gauge
	verifyDone   prometheus.Gauge
	verifyTotal  prometheus.Gauge
	stepState    *prometheus.GaugeVec
	stepSeconds  *prometheus.GaugeVec
	runbook      *prometheus.GaugeVec
	probeWrites  *prometheus.CounterVec
	bytesRead    prometheus.Counter
	bytesSeen    int64 // the last total counted into bytesRead
}

func newMetrics(command string) metrics {
	r := prometheus.NewRegistry()
	labels := prometheus.Labels{"command": command}
	gauge := func(name, help string) prometheus.Gauge {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "switcharoo", Name: name, Help: help, ConstLabels: labels})
		r.MustRegister(g)
		return g
	}
	gaugeVec := func(name, help string, by ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "switcharoo", Name: name, Help: help, ConstLabels: labels}, by)
		r.MustRegister(g)
		return g
	}
	m := metrics{
		registry:     r,
		lag:          gauge("replication_lag_seconds", "End-to-end replication lag from the heartbeat."),
		rowsPerSec:   gauge("replication_rows_per_second", "Row changes applied per second, recently."),
		transactions: gauge("replication_transactions_applied", "Source transactions applied to the target since the copy (from the checkpoint)."),
		rowChanges:   gauge("replication_row_changes_applied", "Row changes applied to the target since the copy (from the checkpoint)."),
		divergences:  gauge("replication_divergences", "Row changes that found the target in the wrong state, recorded with replication.on_divergence: log."),
		replState:    gaugeVec("replication_state", "1 for replication's current state.", "state"),
		copyDone:     gauge("copy_rows_done", "Rows copied by the initial copy."),
		copyTotal:    gauge("copy_rows_total", "Rows the initial copy estimates it will copy."),
		verifyDone:   gauge("verify_rows_done", "Rows compared by the verify under way."),
		verifyTotal:  gauge("verify_rows_total", "Rows the verify under way will compare (estimate)."),
		stepState:    gaugeVec("step_state", "1 for each runbook step's current state.", "step", "state"),
		stepSeconds:  gaugeVec("step_duration_seconds", "How long each runbook step (or its undo) took.", "step", "outcome"),
		runbook:      gaugeVec("runbook_outcome", "1 for how the command ended (finished, rolled back, undone, paused, failed...).", "outcome"),
		bytesRead:    prometheus.NewCounter(prometheus.CounterOpts{Namespace: "switcharoo", Name: "replication_binlog_bytes_read_total", Help: "Bytes read from the source's binlog stream (replicate's own metrics).", ConstLabels: labels}),
		probeWrites:  prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "switcharoo", Name: "probe_writes_total", Help: "The write probe's attempts, by the server_id that took them (0: failed).", ConstLabels: labels}, []string{"server_id"}),
	}
	r.MustRegister(m.probeWrites, m.bytesRead, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var stepStates = []string{StepPending, StepRunning, StepDone, StepFailed, StepUndoing, StepUndone}

func (m *metrics) runbookStep(step, state string) {
	for _, s := range stepStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.stepState.WithLabelValues(step, s).Set(v)
	}
}

func (m *metrics) stepEnded(step, state string, took time.Duration) {
	m.runbookStep(step, state)
	m.stepSeconds.WithLabelValues(step, state).Set(took.Seconds())
}

func (m *metrics) runbookState(outcome string) {
	m.runbook.Reset()
	m.runbook.WithLabelValues(outcome).Set(1)
}

func (m *metrics) replicated(r Replication) { // under the board's lock
	m.lag.Set(float64(r.LagMillis) / 1000)
	m.rowsPerSec.Set(r.RowsPerSecond)
	m.transactions.Set(float64(r.Transactions))
	m.rowChanges.Set(float64(r.RowChanges))
	m.divergences.Set(float64(r.Divergences))
	m.replState.Reset()
	m.replState.WithLabelValues(r.State).Set(1)
	if r.BinlogBytesRead > m.bytesSeen {
		m.bytesRead.Add(float64(r.BinlogBytesRead - m.bytesSeen))
		m.bytesSeen = r.BinlogBytesRead
	}
	if r.Copy != nil {
		m.copyDone.Set(float64(r.Copy.Done))
		m.copyTotal.Set(float64(r.Copy.Total))
	}
}

func (m *metrics) verified(done, total int64) {
	m.verifyDone.Set(float64(done))
	m.verifyTotal.Set(float64(total))
}

func (m *metrics) probed(serverID uint32) {
	m.probeWrites.WithLabelValues(strconv.FormatUint(uint64(serverID), 10)).Inc()
}
