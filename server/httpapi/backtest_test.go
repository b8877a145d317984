package httpapi

import (
	"slices"
	"strings"
	"testing"
)

// A backtest body is checked before anything is queued: each bad value is a 422 naming it,
// a range outside the ticker's data is Python's 422, an unknown ticker its 404.
func TestBacktestBadInput(t *testing.T) {
	app, py, _ := newTestApp(t)
	ok := `"ticker":"AAPL","start_date":"2023-01-03","end_date":"2023-12-29"`
	for name, tc := range map[string]struct {
		body   string
		status int
		detail string
	}{
		"no ticker":            {`{"start_date":"2023-01-03","end_date":"2023-12-29"}`, 400, `missing field "ticker"`},
		"no start date":        {`{"ticker":"AAPL","end_date":"2023-12-29"}`, 422, "start_date must be a date"},
		"start not a date":     {`{"ticker":"AAPL","start_date":"2023-02-30","end_date":"2023-12-29"}`, 422, "start_date must be a date"},
		"end in the future":    {`{"ticker":"AAPL","start_date":"2023-01-03","end_date":"2999-01-01"}`, 422, "after today"},
		"dates out of order":   {`{"ticker":"AAPL","start_date":"2023-12-29","end_date":"2023-01-03"}`, 422, "must be before end_date"},
		"same day":             {`{"ticker":"AAPL","start_date":"2023-01-03","end_date":"2023-01-03"}`, 422, "must be before end_date"},
		"horizons empty":       {`{` + ok + `,"horizons":[]}`, 422, "horizons is empty"},
		"horizon unknown":      {`{` + ok + `,"horizons":[1,2]}`, 422, "some of 1, 5 and 21, got 2"},
		"horizons not numbers": {`{` + ok + `,"horizons":["1"]}`, 422, `field "horizons`},
		"refit zero":           {`{` + ok + `,"refit_every":0}`, 422, "refit_every must be between 1 and 252"},
		"refit huge":           {`{` + ok + `,"refit_every":253}`, 422, "refit_every must be between 1 and 252"},
		"cost negative":        {`{` + ok + `,"cost_bps":-1}`, 422, "cost_bps must be between 0 and 1000"},
		"cost huge":            {`{` + ok + `,"cost_bps":1000.5}`, 422, "cost_bps must be between 0 and 1000"},
		"unknown field":        {`{` + ok + `,"epoch":1}`, 422, `unknown field "epoch"`},
		"forecasters empty":    {`{` + ok + `,"forecasters":[]}`, 422, "forecasters is empty"},
		"forecaster unknown":   {`{` + ok + `,"forecasters":["naive","oracle"]}`, 422, `got "oracle"`},
		"epochs zero":          {`{` + ok + `,"epochs":0}`, 422, "epochs must be between 1 and 1000"},
		"outside the data":     {`{"ticker":"AAPL","start_date":"1990-01-02","end_date":"2023-12-29"}`, 422, "within the ticker's data"},
		"unknown ticker":       {`{"ticker":"ZZZZ","start_date":"2023-01-03","end_date":"2023-12-29"}`, 404, "No price data"},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := do(t, app, "POST", "/backtest", tc.body)
			if detail, _ := body["detail"].(string); status != tc.status || !strings.Contains(detail, tc.detail) {
				t.Fatalf("%s: %d %v, want %d with %q", tc.body, status, body, tc.status, tc.detail)
			}
		})
	}
	if len(py.backtests) != 0 {
		t.Fatalf("a refused request ran a backtest: %+v", py.backtests)
	}
}

// A backtest is a task of its own (backtest_<model's task id>): 202, one per model at a time,
// run with the request made whole (sorted horizons, the server's default cost), its result in
// /status once completed.
func TestBacktestRunsAsATask(t *testing.T) {
	app, py, _ := newTestApp(t, func(d *Deps) { d.BacktestCostBps = 7.5 })
	body := `{"ticker":"%5Egspc","start_date":"2023-01-03","end_date":"2023-12-29","horizons":[21,1,21],"refit_every":21,"forecasters":["lstm","naive","served","arima"],"epochs":2}`
	status, out := do(t, app, "POST", "/backtest", body)
	if status != 202 || out["status"] != "started" || out["task_id"] != "backtest_parent_training" {
		t.Fatalf("POST /backtest: %d %v", status, out)
	}
	status, out = do(t, app, "POST", "/backtest", body)
	if status != 202 || out["status"] != "already running" || out["task_id"] != "backtest_parent_training" {
		t.Fatalf("a second backtest of the model: %d %v", status, out)
	}
	eventually(t, func() bool { py.mu.Lock(); defer py.mu.Unlock(); return len(py.backtests) == 1 })
	got := py.backtests[0]
	if got.Ticker != "parent" || !slices.Equal(got.Horizons, []int{1, 21}) || got.RefitEvery != 21 || got.CostBps != 7.5 ||
		!slices.Equal(got.Forecasters, []string{"lstm", "naive", "served", "arima"}) || got.Epochs != 2 {
		t.Fatalf("the backtest ran with %+v", got)
	}
	_, rec := do(t, app, "GET", "/status/backtest_parent", "")
	if rec["kind"] != "backtest" || rec["status"] != "running" {
		t.Fatalf("status while it runs: %v", rec)
	}
	close(py.release)
	eventually(t, func() bool {
		_, rec = do(t, app, "GET", "/status/backtest_parent", "")
		return rec["status"] == "completed"
	})
	res, _ := rec["result"].(map[string]any)
	if res["backtest_id"] == "" || res["model"] != "parent" {
		t.Fatalf("completed status without the result: %v", rec)
	}
	status, out = do(t, app, "GET", "/models/parent/backtests", "")
	if status != 200 || out["ticker"] != "parent" {
		t.Fatalf("GET /models/parent/backtests: %d %v", status, out)
	}
}

// A backtest's owner cancels it like a training: it stops and its status turns failed.
func TestBacktestCancel(t *testing.T) {
	app, py, _ := newTestApp(t)
	if status, out := do(t, app, "POST", "/backtest", `{"ticker":"msft","start_date":"2023-01-03","end_date":"2023-12-29","cost_bps":0}`); status != 202 {
		t.Fatalf("POST /backtest: %d %v", status, out)
	}
	eventually(t, func() bool { py.mu.Lock(); defer py.mu.Unlock(); return len(py.backtests) == 1 })
	if py.backtests[0].CostBps != 0 || !slices.Equal(py.backtests[0].Horizons, []int{1, 5, 21}) {
		t.Fatalf("cost_bps 0 or the default horizons were lost: %+v", py.backtests[0])
	}
	if status, out := do(t, app, "DELETE", "/tasks/backtest_msft", ""); status != 200 || out["status"] != "cancelling" {
		t.Fatalf("DELETE /tasks/backtest_msft: %d %v", status, out)
	}
	eventually(t, func() bool {
		_, rec := do(t, app, "GET", "/status/backtest_msft", "")
		return rec["status"] == "failed"
	})
}

// Starting a backtest needs the train role and counts against the training rate limit, as
// the document declares.
func TestBacktestRoleAndRateLimit(t *testing.T) {
	ops, err := operations(spec)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ops, func(o operation) bool { return o.ID == "startBacktest" })
	if i < 0 || ops[i].Role != RoleTrain || ops[i].RateLimit != "training" {
		t.Fatalf("startBacktest declares %+v, want the train role and the training limit", ops)
	}
	app, _, _ := newTestApp(t, withLimiter(t, nil), func(d *Deps) { d.APIKeys = []string{"reader:read", "trainer"} })
	body := func(ticker string) string {
		return `{"ticker":"` + ticker + `","start_date":"2023-01-03","end_date":"2023-12-29"}`
	}
	if status, out, _ := request(t, app, "POST", "/backtest", body("AAPL"), map[string]string{"X-API-Key": "reader"}); status != 403 {
		t.Fatalf("a reader started a backtest: %d %v", status, out)
	}
	for i, ticker := range []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META"} {
		status, out, _ := request(t, app, "POST", "/backtest", body(ticker), map[string]string{"X-API-Key": "trainer"})
		if want := map[bool]int{true: 429, false: 202}[i == 5]; status != want {
			t.Fatalf("backtest %d: %d %v, want %d", i+1, status, out, want)
		}
	}
}
