package policy_test

import (
	"fmt"

	"stockagent/server/policy"
)

func ExamplePolicy_DriftHealth() {
	p, err := policy.Load("") // the embedded default: docs/api.md's old thresholds
	if err != nil {
		panic(err)
	}
	for _, m := range []struct{ score, ratio float64 }{{0.4, 1.1}, {2.0, 1.0}, {0.3, 2.6}} {
		health, action, err := p.DriftHealth(m.score, m.ratio, map[string]any{"ticker": "AAPL", "is_parent": false})
		if err != nil {
			panic(err)
		}
		fmt.Printf("score %.1f, ratio %.1f: %s %q\n", m.score, m.ratio, health, action)
	}
	// Output:
	// score 0.4, ratio 1.1: Healthy ""
	// score 2.0, ratio 1.0: Degraded (Warning) ""
	// score 0.3, ratio 2.6: Critical (Drift Detected) "retrain"
}

func ExampleParse_refused() {
	src := `drift_health = "Healthy"
eval_status = "Trustworthy"
accuracy_health = "Healthy"
secret = open("/etc/passwd")
`
	_, err := policy.Parse("/etc/stockagent/policy.py", []byte(src))
	fmt.Println(err)
	// Output:
	// policy: /etc/stockagent/policy.py:4: secret: calling open is not allowed; a rule may call only abs, float, int, len, max, min, str
}
