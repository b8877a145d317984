package httpapi

import (
	"strconv"
	"testing"

	"stockagent/server/ratelimit"
	"stockagent/server/store"
)

// Finding 09: /monitor/{ticker} (which may run an analysis) and /analyze
// share the "analysis" rate limit, per client.
func TestFinding09AnalysisRateLimited(t *testing.T) {
	app, _, _ := newTestApp(t, func(d *Deps) {
		analysis, _ := ratelimit.ParsePolicy("analysis", "2/hour")
		l, err := ratelimit.New(store.NewMemory(), ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{analysis}})
		if err != nil {
			t.Fatal(err)
		}
		d.Limiter, d.APIKeys = l, []string{"alice", "bob"}
	})
	alice := map[string]string{"X-API-Key": "alice"}
	for i, path := range []string{"/monitor/AAPL", "/analyze"} {
		status, _, h := request(t, app, "POST", path, `{"ticker":"AAPL"}`, alice)
		if status == 429 || h["X-Ratelimit-Remaining"] != strconv.Itoa(1-i) {
			t.Fatalf("%s: %d, headers %v", path, status, h)
		}
	}
	for _, path := range []string{"/monitor/AAPL", "/analyze"} {
		status, body, h := request(t, app, "POST", path, `{"ticker":"AAPL"}`, alice)
		if retry, _ := strconv.Atoi(h["Retry-After"]); status != 429 || retry <= 0 || body["detail"] == nil {
			t.Errorf("%s beyond the analysis limit: %d %v Retry-After=%q", path, status, body, h["Retry-After"])
		}
	}
	if status, _, _ := request(t, app, "POST", "/monitor/AAPL", `{"ticker":"AAPL"}`, map[string]string{"X-API-Key": "bob"}); status == 429 {
		t.Error("another client shared the limit")
	}
}
