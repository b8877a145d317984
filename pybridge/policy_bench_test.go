package pybridge

import (
	"context"
	"testing"

	"stockagent/server/policy"
)

// The health policy's drift rule evaluated two ways, side by side: gpython
// inside Go (what the server does: no GIL, no crossing) and CPython through
// this bridge (JSON in and out, compile cached).
func BenchmarkPolicyDriftHealth(b *testing.B) {
	p := policy.Default()
	expr, _ := p.Expr(policy.RuleDriftHealth)
	inputs := map[string]any{"drift_score": 1.2, "volatility_ratio": 0.9}
	b.Run("gpython", func(b *testing.B) {
		for b.Loop() {
			if v, err := p.Eval(policy.RuleDriftHealth, inputs); err != nil || v != "Degraded (Warning)" {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("cpython-bridge", func(b *testing.B) {
		req := map[string]any{"expr": expr, "inputs": inputs}
		for b.Loop() {
			var out struct{ Value string }
			if err := interp.Call(context.Background(), Inference, diag+"eval_expr", req, &out); err != nil || out.Value != "Degraded (Warning)" {
				b.Fatal(out.Value, err)
			}
		}
	})
}
