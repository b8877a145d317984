package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LLM records one analysis's time in LLM calls and the tokens they read and wrote.
func (m *Metrics) LLM(d time.Duration, promptTokens, completionTokens int) {
	if m == nil {
		return
	}
	m.llmDuration.Observe(d.Seconds())
	m.llmTokens.WithLabelValues("prompt").Add(float64(max(promptTokens, 0)))
	m.llmTokens.WithLabelValues("completion").Add(float64(max(completionTokens, 0)))
}

// AgentNode is one node of an analysis as the analyst's answer reports it
// (its "nodes", server/httpapi/openapi.json's AgentNode). The pointers are
// nil where nothing was measured: a node that made no LLM call, or a model
// behind a server, whose timings are out of reach.
type AgentNode struct {
	Node                      string   `json:"node"`
	Seconds                   float64  `json:"seconds"`
	PromptTokens              int      `json:"prompt_tokens"`
	CompletionTokens          int      `json:"completion_tokens"`
	PromptTokensEvaluated     int      `json:"prompt_tokens_evaluated"`
	WaitSeconds               float64  `json:"wait_seconds"`
	FirstTokenSeconds         *float64 `json:"first_token_seconds"`
	PromptTokensPerSecond     *float64 `json:"prompt_tokens_per_second"`
	GenerationTokensPerSecond *float64 `json:"generation_tokens_per_second"`
}

// LLMNode records one node of an analysis that called the LLM: its time, its
// wait for the model and, where measured, its time to the first generated
// token and its prompt and generation speeds. Nodes that made no call
// (prepare, finalize) are not recorded.
func (m *Metrics) LLMNode(n AgentNode) {
	if m == nil || n.PromptTokens+n.CompletionTokens <= 0 {
		return
	}
	node := pick(n.Node, agentNodes)
	m.nodeDuration.WithLabelValues(node).Observe(n.Seconds)
	m.nodeWait.WithLabelValues(node).Observe(n.WaitSeconds)
	for h, v := range map[*prometheus.HistogramVec]*float64{
		m.nodeFirstToken:     n.FirstTokenSeconds,
		m.nodePromptRate:     n.PromptTokensPerSecond,
		m.nodeGenerationRate: n.GenerationTokensPerSecond,
	} {
		if v != nil {
			h.WithLabelValues(node).Observe(*v)
		}
	}
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
