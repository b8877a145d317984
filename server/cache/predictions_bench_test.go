package cache

import (
	"context"
	"encoding/json"
	"testing"

	"stockagent/server/store"
)

// BenchmarkGetHit is a cache hit of a 27 kB forecast from the in-process
// store: what /predict-child costs before any bridge call.
func BenchmarkGetHit(b *testing.B) {
	ctx := context.Background()
	// The serving pointer is read as forecast.ServingVersions reads it: a
	// store record decoded from JSON.
	st := store.NewMemory()
	if err := st.Set(ctx, "serving:AAPL", []byte(`{"version":"v1","updated":"2025-01-02T12:00:00Z","run_id":"r1"}`), 0); err != nil {
		b.Fatal(err)
	}
	serving := func(ctx context.Context, model string) (string, bool, error) {
		raw, err := st.Get(ctx, "serving:"+model)
		if err != nil {
			return "", false, err
		}
		var ptr struct {
			Version string `json:"version"`
		}
		return ptr.Version, true, json.Unmarshal(raw, &ptr)
	}
	p := NewPredictions(st, serving, 0)
	pred := append([]byte(`{"model_version":"v1","pad":"`), make([]byte, 27<<10)...)
	for i := len(pred) - 27<<10; i < len(pred); i++ {
		pred[i] = 'x'
	}
	pred = append(pred, `"}`...)
	if err := p.Put(ctx, "AAPL", pred); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := p.Get(ctx, "AAPL"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
