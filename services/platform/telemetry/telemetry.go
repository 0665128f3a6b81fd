// Package telemetry holds crawlspace's Prometheus metrics and the HTTP
// server that exposes them with health and readiness checks.
package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics is one process's set of crawlspace_* series, registered on its own
// registry. Create it once per process with [New].
type Metrics struct {
	// Registry holds every series, the Go runtime's included.
	Registry *prometheus.Registry

	processed *prometheus.CounterVec
	failed    *prometheus.CounterVec
	retried   *prometheus.CounterVec
	duration  *prometheus.HistogramVec
}

// New returns Metrics on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawlspace_stage_processed_total",
			Help: "Messages a stage handled, by outcome (ok or error).",
		}, []string{"stage", "outcome"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawlspace_stage_failed_total",
			Help: "Messages a stage gave up on and recorded as failures.",
		}, []string{"stage"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawlspace_stage_retried_total",
			Help: "Messages a stage handed back for a later retry.",
		}, []string{"stage"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crawlspace_stage_duration_seconds",
			Help:    "Time a stage spent on one message.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"stage"}),
	}
	m.Registry.MustRegister(m.processed, m.failed, m.retried, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Stage returns the series of one stage, such as "crawler".
func (m *Metrics) Stage(name string) *Stage {
	return &Stage{
		ok:       m.processed.WithLabelValues(name, "ok"),
		errored:  m.processed.WithLabelValues(name, "error"),
		failed:   m.failed.WithLabelValues(name),
		retried:  m.retried.WithLabelValues(name),
		duration: m.duration.WithLabelValues(name),
	}
}

// Stage records one stage's messages. A nil *Stage records nothing, so that
// code under test need not build metrics.
type Stage struct {
	ok, errored, failed, retried prometheus.Counter
	duration                     prometheus.Observer
}

// Observe records one handled message, its duration and whether it erred.
func (s *Stage) Observe(d time.Duration, err error) {
	if s == nil {
		return
	}
	s.duration.Observe(d.Seconds())
	if err != nil {
		s.errored.Inc()
		return
	}
	s.ok.Inc()
}

// Failed records a message given up on.
func (s *Stage) Failed() {
	if s != nil {
		s.failed.Inc()
	}
}

// Retried records a message handed back for a retry.
func (s *Stage) Retried() {
	if s != nil {
		s.retried.Inc()
	}
}
