package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// The series a [Collector] reports.
var (
	batchesDesc = prometheus.NewDesc("crawlspace_outbox_batches",
		"Batches of events stored and not yet acknowledged by JetStream.", nil, nil)
	oldestDesc = prometheus.NewDesc("crawlspace_outbox_oldest_seconds",
		"Age of the oldest batch waiting in the outbox; 0 when none waits.", nil, nil)
)

// collector reads the outbox at each scrape.
type collector struct{ pool *pgxpool.Pool }

// Collector returns a Prometheus collector of what waits in the outbox,
// read from PostgreSQL at each scrape: a batch that stays means events a
// stage could not send.
func Collector(pool *pgxpool.Pool) prometheus.Collector { return collector{pool: pool} }

// Describe sends the two series' descriptions.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- batchesDesc
	ch <- oldestDesc
}

// Collect reads the outbox, reporting nothing when PostgreSQL does not
// answer within a few seconds.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int64
	var oldest float64
	err := c.pool.QueryRow(ctx, `
		SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
		FROM outbox`).Scan(&n, &oldest)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(batchesDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(batchesDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, oldest)
}
