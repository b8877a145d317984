package main

import (
	"encoding/json"

	"stockagent/server/policy"
	"stockagent/server/pyapi"
)

// benchTicker is the child model the run trains (or finds) and forecasts.
const benchTicker = "AAPL"

// embedText is a semantic-cache text of the kind /analyze embeds.
const embedText = "AAPL forecast: up 2-5% over 21 trading days; headlines: Apple beats earnings estimates"

// workload is one operation driven through every back-end that can run it:
// the embedded interpreter and the worker call fn with body, the subprocess
// back-end runs the CLI with cli, gpython evaluates the policy rule.
type workload struct {
	name   string
	fn     string         // "module:function", a pyapi.Func constant
	body   []byte         // the request, the same bytes for every back-end
	cli    []string       // python -m stockagent.cli arguments; nil: no process-per-call twin
	rule   string         // a policy rule gpython evaluates with inputs; "": none
	inputs map[string]any // the rule's inputs, also inside body

	// cliResult: the command prints the HTTP body, {"result": answer}
	// (predict-child), whose result is compared with the other back-ends'.
	cliResult bool

	// Default call counts: enough calls for stable percentiles in a few
	// seconds per back-end; the process-per-call back-end pays seconds per
	// call (the interpreter, torch and, for embed, the embedding model load
	// every time), so it gets a handful.
	iterations, subprocessIterations int
}

// policyInputs are the default drift_health rule's inputs, the same as the
// policy package's own benchmark.
var policyInputs = map[string]any{"drift_score": 1.2, "volatility_ratio": 0.9}

func workloads() []workload {
	tickerReq := mustJSON(map[string]string{"ticker": benchTicker})
	expr, _ := policy.Default().Expr(policy.RuleDriftHealth)
	return []workload{
		{name: "noop", fn: pyapi.FuncNoop, body: []byte("{}"), cli: []string{"noop"},
			iterations: 20000, subprocessIterations: 5},
		{name: "features", fn: pyapi.FuncFeatures, body: tickerReq, cli: []string{"features", "--ticker", benchTicker},
			iterations: 300, subprocessIterations: 5},
		{name: "forecast", fn: pyapi.FuncPredict, body: tickerReq, cli: []string{"predict-child", "--ticker", benchTicker},
			cliResult: true, iterations: 1000, subprocessIterations: 10},
		{name: "embed", fn: pyapi.FuncEmbed, body: mustJSON(map[string]string{"text": embedText}), cli: []string{"embed", "--text", embedText},
			iterations: 200, subprocessIterations: 5},
		{name: "policy", fn: pyapi.FuncEvalExpr, body: mustJSON(map[string]any{"expr": expr, "inputs": policyInputs}),
			rule: policy.RuleDriftHealth, inputs: policyInputs, iterations: 20000},
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
