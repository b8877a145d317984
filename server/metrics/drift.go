package metrics

import (
	"strings"
	"sync"
)

// driftState keeps the latest drift of each model, so the gauges can show
// the worst per kind without a label per model.
type driftState struct {
	mu     sync.Mutex // guards models
	models map[string]driftEntry
}

type driftEntry struct {
	kind  string
	score float64
	level int
}

// maxDriftModels bounds the models remembered; beyond it new ones are ignored.
const maxDriftModels = 10000

// driftLevel orders the health strings: 0 Healthy, 1 Degraded, 2 Critical.
func driftLevel(health string) int {
	switch {
	case strings.HasPrefix(health, "Critical"):
		return 2
	case strings.HasPrefix(health, "Degraded"):
		return 1
	}
	return 0
}

// Drift records the latest drift of one model of kind "parent" or "child":
// stockagent_drift_score and stockagent_drift_health_level show the worst
// model of each kind, stockagent_models_by_drift_health how many models of
// each kind are at each level.
func (m *Metrics) Drift(kind, model string, score float64, health string) {
	if m == nil {
		return
	}
	kind = pick(kind, trainingKinds)
	d := &m.drift
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.models == nil {
		d.models = map[string]driftEntry{}
	}
	if _, ok := d.models[model]; !ok && len(d.models) >= maxDriftModels {
		return
	}
	d.models[model] = driftEntry{kind, score, driftLevel(health)}
	worstScore, worstLevel := map[string]float64{}, map[string]int{}
	counts := map[[2]string]int{}
	for _, e := range d.models {
		worstScore[e.kind] = max(worstScore[e.kind], e.score)
		worstLevel[e.kind] = max(worstLevel[e.kind], e.level)
		counts[[2]string{e.kind, healthNames[e.level]}]++
	}
	for k := range worstScore {
		m.driftScore.WithLabelValues(k).Set(worstScore[k])
		m.driftLevel.WithLabelValues(k).Set(float64(worstLevel[k]))
	}
	for _, k := range trainingKinds {
		for _, h := range healthNames {
			m.driftModels.WithLabelValues(k, h).Set(float64(counts[[2]string{k, h}]))
		}
	}
}

var healthNames = []string{"healthy", "degraded", "critical"}
