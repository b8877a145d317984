package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// streamKinds are what a streamed analysis measures from its known cache
// miss: its first event of any kind, its first token of the LLM's text and
// its first checked field.
var streamKinds = [...]string{"event", "token", "field"}

// streamBuckets span a first event that comes at once (a node starting) to
// a first field after a slow model's whole run.
var streamBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10, 30, 60}

func newStreamFirst() *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stockagent_analysis_stream_first_seconds",
		Help:    "Time from a streamed analysis's known cache miss to its first event, first token and first field (kind).",
		Buckets: streamBuckets,
	}, []string{"kind"})
	for _, k := range streamKinds {
		h.WithLabelValues(k)
	}
	return h
}

// StreamFirst records the time from a streamed analysis's cache miss to its
// first event, token or field (kind; another kind is ignored).
func (m *Metrics) StreamFirst(kind string, d time.Duration) {
	if m == nil {
		return
	}
	for _, k := range streamKinds {
		if k == kind {
			m.streamFirst.WithLabelValues(kind).Observe(d.Seconds())
			return
		}
	}
}
