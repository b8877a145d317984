package policy

import (
	"sync"
	"testing"
)

// benchDriftInputs are the inputs of BenchmarkEvalDriftHealth. A CPython
// side-by-side should evaluate Default().Expr(RuleDriftHealth) (the same
// expression text) with these values.
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
