package pyproc

import (
	"context"
	"testing"

	"stockagent/pybridge/pybridgetest"
)

// payload is the request of pybridge's BenchmarkEchoRaw.
var payload = []byte(`{"ticker":"AAPL","horizon":63,"features":["open","high","low","close","volume","rsi14","macd"]}`)

// The persistent worker's own overhead, beside pybridge's BenchmarkEchoRaw:
// the same bytes handed straight back, across two pipes and two processes.
func BenchmarkWorkerEchoRaw(b *testing.B) {
	python, err := pybridgetest.Python()
	if err != nil {
		b.Fatal(err)
	}
	w, err := StartWorkers(WorkerConfig{Python: python, Modules: []string{"stockagent.diagnostics"}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := w.Shutdown(context.Background()); err != nil {
			b.Errorf("shutdown: %v", err)
		}
	}()
	ctx := context.Background()
	for b.Loop() {
		if _, err := w.CallRaw(ctx, diag+"echo", payload); err != nil {
			b.Fatal(err)
		}
	}
}
