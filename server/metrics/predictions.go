package metrics

import "time"

// Prediction records one prediction of kind "parent", "child" or "batch"
// (anything else is counted as "other"): it counts in prediction_total,
// its latency d in prediction_latency_seconds, and, when err is not nil, it
// counts in stockagent_prediction_errors_total too. Cache hits count as
// predictions; call CacheHit or CacheMiss besides.
func (m *Metrics) Prediction(kind string, d time.Duration, err error) {
	if m == nil {
		return
	}
	t := pick(kind, predictionTypes)
	m.predictions.WithLabelValues(t).Inc()
	m.predictionLatency.WithLabelValues(t).Observe(d.Seconds())
	if err != nil {
		m.predictionErrors.WithLabelValues(t).Inc()
	}
}

// CacheHit records a look-up that found its entry in cache "prediction",
// "semantic" or "news" (anything else is counted as "other").
func (m *Metrics) CacheHit(cache string) {
	if m == nil {
		return
	}
	m.cacheRequests.WithLabelValues(pick(cache, cacheNames), "hit").Inc()
}

// CacheMiss records a look-up that did not find its entry (or found it stale)
// in cache "prediction", "semantic" or "news" (else "other").
func (m *Metrics) CacheMiss(cache string) {
	if m == nil {
		return
	}
	m.cacheRequests.WithLabelValues(pick(cache, cacheNames), "miss").Inc()
}
