package policy

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"stockagent/pybridge"
	"stockagent/pybridge/pybridgetest"
	"stockagent/server/pyapi"
)

// benchDriftInputs are the inputs of BenchmarkEvalDriftHealth and of its
// CPython side-by-side, BenchmarkPolicyDriftHealth.
var benchDriftInputs = map[string]any{"drift_score": 1.2, "volatility_ratio": 0.9}

// BenchmarkEvalDriftHealth measures one evaluation of the default
// drift_health rule through gpython: input conversion, the run, the result
// conversion.
func BenchmarkEvalDriftHealth(b *testing.B) {
	p := Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Eval(RuleDriftHealth, benchDriftInputs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDriftHealth measures the typed helper: drift_health and
// drift_action in one run, with the checks on their results.
func BenchmarkDriftHealth(b *testing.B) {
	p := Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.DriftHealth(1.2, 0.9, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalDriftHealthParallel evaluates from GOMAXPROCS goroutines at
// once on the one shared sandbox; compare with ...Mutex to see what sharing
// it without a lock buys.
func BenchmarkEvalDriftHealthParallel(b *testing.B) {
	p := Default()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Eval(RuleDriftHealth, benchDriftInputs); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEvalDriftHealthParallelMutex is the same with every evaluation
// serialised, as a py.Context from gpython's stdlib would require.
func BenchmarkEvalDriftHealthParallelMutex(b *testing.B) {
	p := Default()
	var mu sync.Mutex
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			_, err := p.Eval(RuleDriftHealth, benchDriftInputs)
			mu.Unlock()
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkParseDefault measures loading the default policy, checks and
// sample evaluations included (a start-up cost).
func BenchmarkParseDefault(b *testing.B) {
	src := []byte(DefaultSource())
	for b.Loop() {
		if _, err := Parse(DefaultName, src); err != nil {
			b.Fatal(err)
		}
	}
}

// benchInterpreter starts the embedded interpreter once, for the benchmarks
// that compare with it; the tests of this package never start it.
var benchInterpreter = sync.OnceValues(func() (*pybridge.Interpreter, error) {
	python, err := pybridgetest.Python()
	if err != nil {
		return nil, err
	}
	return pybridge.Start(pybridge.Config{
		Executable: python,
		Modules:    pyapi.Modules,
		Setup:      pyapi.FuncAttach,
		Logger:     slog.New(slog.DiscardHandler),
	})
})

// BenchmarkPolicyDriftHealth evaluates the drift rule two ways, side by side:
// gpython inside Go (what the server does: no GIL, no crossing) and CPython
// through the bridge (JSON in and out, compile cached).
func BenchmarkPolicyDriftHealth(b *testing.B) {
	p := Default()
	expr, _ := p.Expr(RuleDriftHealth)
	b.Run("gpython", func(b *testing.B) {
		for b.Loop() {
			if v, err := p.Eval(RuleDriftHealth, benchDriftInputs); err != nil || v != "Degraded (Warning)" {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("cpython-bridge", func(b *testing.B) {
		interp, err := benchInterpreter()
		if err != nil {
			b.Fatal("the embedded interpreter:", err)
		}
		req := map[string]any{"expr": expr, "inputs": benchDriftInputs}
		for b.Loop() {
			var out struct{ Value string }
			if err := interp.Call(context.Background(), pybridge.Inference, pyapi.FuncEvalExpr, req, &out); err != nil || out.Value != "Degraded (Warning)" {
				b.Fatal(out.Value, err)
			}
		}
	})
}
