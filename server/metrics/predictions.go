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

// LocalCache records a look-up in the prediction cache's first level: result
// "hit", "miss" or "down" (else "other").
func (m *Metrics) LocalCache(result string) {
	if m == nil {
		return
	}
	m.localRequests.WithLabelValues(pick(result, localResults)).Inc()
}

// LocalInvalidated records a drop from the first level: reason "notice",
// "all" or "lost" (else "other").
func (m *Metrics) LocalInvalidated(reason string) {
	if m == nil {
		return
	}
	m.localInvalidated.WithLabelValues(pick(reason, localReasons)).Inc()
}

// LocalLive records whether the first level's subscription is up.
func (m *Metrics) LocalLive(up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.localUp.Set(v)
}

// FlightJoined records a forecast request answered by a computation it did
// not run: scope "process" or "replica" (else "other").
func (m *Metrics) FlightJoined(scope string) {
	if m == nil {
		return
	}
	m.flightsJoined.WithLabelValues(pick(scope, flightScopes)).Inc()
}
