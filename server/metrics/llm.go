package metrics

import "time"

// LLM records one analysis's time in LLM calls and the tokens they read and wrote.
func (m *Metrics) LLM(d time.Duration, promptTokens, completionTokens int) {
	if m == nil {
		return
	}
	m.llmDuration.Observe(d.Seconds())
	m.llmTokens.WithLabelValues("prompt").Add(float64(max(promptTokens, 0)))
	m.llmTokens.WithLabelValues("completion").Add(float64(max(completionTokens, 0)))
}

// Relayed records one analysis that another process ran and this one relayed:
// "answered" with a report, else "failed" (its client gone included).
func (m *Metrics) Relayed(answered bool) {
	if m == nil {
		return
	}
	outcome := "failed"
	if answered {
		outcome = "answered"
	}
	m.relayed.WithLabelValues(outcome).Inc()
}
