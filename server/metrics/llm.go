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
