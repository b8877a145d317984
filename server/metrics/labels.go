package metrics

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// other is the label value of anything outside a label's known or admitted set.
const other = "other"

const (
	// MaxFunctionLabels bounds the distinct values of the function label of
	// the bridge metrics. The service calls about twenty "module:function"
	// constants; 64 leaves room for growth while bounding the worst case of
	// stockagent_bridge_call_duration_seconds at 65 × 2 lanes × 21 series
	// (18 buckets, +Inf, _sum, _count). Later names are recorded as "other".
	MaxFunctionLabels = 64
	// MaxPolicyLabels bounds the distinct values of the policy label of
	// stockagent_rate_limited_total. Policies come from configuration
	// (training, prediction, …); 16 is far more than it names.
	MaxPolicyLabels = 16
)

// The fixed label sets. Values outside them are recorded as "other".
var (
	predictionTypes  = []string{"parent", "child", "batch"}
	cacheNames       = []string{"prediction", "semantic", "news"}
	localResults     = []string{"hit", "miss", "down"}
	localReasons     = []string{"notice", "all", "lost"}
	flightScopes     = []string{"process", "replica"}
	trainingKinds    = []string{"parent", "child"}
	trainingStatuses = []string{"completed", "failed", "cancelled"}
	// the analyst graph's nodes that call the LLM (pymodules/stockagent/agent/graph.py)
	agentNodes = []string{"performance_analyst", "news_analyst", "writer", "critic", "answer"}
)

// pick returns the element of set equal to v, or "other". It returns the
// set's own string, never v: a label value outlives the call, and v may be
// a view of a request buffer that is reused afterwards.
func pick(v string, set []string) string {
	for _, s := range set {
		if s == v {
			return s
		}
	}
	return other
}

// boundedLabel admits the first max distinct values of a label and maps every
// later one to "other", so that a label whose values come from code or
// configuration cannot grow without bound if a caller passes something else.
// Its methods may be called concurrently.
type boundedLabel struct {
	max  int
	full atomic.Bool // set once seen holds max values

	mu   sync.RWMutex // guards seen
	seen map[string]string
}

func newBoundedLabel(limit int) *boundedLabel {
	return &boundedLabel{max: limit, seen: make(map[string]string, limit)}
}

// value is the label value to record for v: v itself (a copy of it) while
// fewer than max values were admitted or v is one of them, else "other".
// Empty strings and invalid UTF-8, which Prometheus refuses, are "other" too.
func (b *boundedLabel) value(v string) string {
	b.mu.RLock()
	s, ok := b.seen[v]
	b.mu.RUnlock()
	if ok {
		return s
	}
	if b.full.Load() || v == "" || v == other || !utf8.ValidString(v) {
		return other
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.seen[v]; ok {
		return s
	}
	if len(b.seen) >= b.max {
		b.full.Store(true)
		return other
	}
	s = strings.Clone(v)
	b.seen[s] = s
	return s
}
