package main

import (
	"encoding/json"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"stockagent/server/httpapi/apitest"
	"stockagent/server/store/storetest"
)

// A backtest across processes: an api replica queues it, a trainer claims it from the Redis
// Stream and runs it for real (the baselines over a year of MSFT: seconds), and /status on
// the api replica carries its progress and result, which GET /models/{ticker}/backtests reads
// back from the models folder the replicas share (each has its own data folder). Another backtest, with the LSTM, is cancelled while it
// runs. Every answer is checked against the OpenAPI document.
func TestBacktestAcrossProcesses(t *testing.T) {
	env := crashEnv()
	env["REDIS_URL"] = storetest.StartRedis(t)
	env["RATE_LIMIT_TRAINING"] = "0"
	env["BACKTEST_COST_BPS"] = "2.5"
	role := func(r string) map[string]string {
		e := maps.Clone(env)
		e["ROLE"] = r
		return e
	}
	env["MODELS_DIR"] = t.TempDir()
	api := startServer(t, "", role("api"))
	trainer := startServer(t, "", role("trainer"))
	spec, err := os.ReadFile("httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if api.api, err = apitest.New(spec); err != nil {
		t.Fatal(err)
	}
	api.ops = map[string]bool{}

	if status, body := api.post(t, "/backtest", `{"ticker":"MSFT","start_date":"2023-01-03","end_date":"2023-02-30"}`); status != 422 || !strings.Contains(body, "end_date must be a date") {
		t.Fatalf("a bad date: %d %s", status, body)
	}
	if status, body := api.post(t, "/backtest", `{"ticker":"MSFT","start_date":"1990-01-02","end_date":"2023-12-29"}`); status != 422 || !strings.Contains(body, "within MSFT's data") {
		t.Fatalf("a range outside the data: %d %s", status, body)
	}
	body := `{"ticker":"msft","start_date":"2023-01-03","end_date":"2023-12-29","forecasters":["naive","drift"],"refit_every":21}`
	if status, out := api.post(t, "/backtest", body); status != 202 || !strings.Contains(out, `"task_id":"backtest_msft"`) {
		t.Fatalf("POST /backtest: %d %s", status, out)
	}
	start := time.Now()
	var rec struct {
		Status   string
		Error    string
		Worker   string
		Progress struct {
			Stage       string
			Done, Total int
		}
		Result struct {
			BacktestID string `json:"backtest_id"`
			Model      string
			Request    struct {
				CostBps float64 `json:"cost_bps"`
			}
			Scores []struct {
				Horizon    int
				Forecaster string
				N          int
				Coverage   map[string]*float64
			}
			Equity []struct {
				Strategy   float64
				BuyAndHold float64 `json:"buy_and_hold"`
			}
		}
	}
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		_, out := api.get(t, "/status/backtest_msft")
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("/status/backtest_msft: %v: %s", err, out)
		}
		if rec.Status == "completed" || rec.Status == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backtest did not end within 3 minutes: %s", out)
		}
	}
	t.Logf("backtest of MSFT over 2023 (naive, drift) took %s", time.Since(start).Round(time.Millisecond))
	r := rec.Result
	if rec.Status != "completed" || r.Model != "MSFT" || r.Request.CostBps != 2.5 || len(r.Scores) != 6 || len(r.Equity) < 200 {
		t.Fatalf("backtest: %s %s, result %+v", rec.Status, rec.Error, r)
	}
	if rec.Progress.Stage != "backtest" || rec.Progress.Done != rec.Progress.Total || rec.Progress.Total < r.Scores[0].N {
		t.Errorf("the last progress event is not all origins done: %+v", rec.Progress)
	}
	if !strings.Contains(rec.Worker, "/"+strconv.Itoa(trainer.cmd.Process.Pid)+"/") {
		t.Errorf("the backtest ran on %q, not on the trainer (pid %d)", rec.Worker, trainer.cmd.Process.Pid)
	}
	for _, s := range r.Scores {
		if s.N < 150 || s.Coverage["80"] == nil || *s.Coverage["80"] < 0 || *s.Coverage["80"] > 1 {
			t.Errorf("horizon %d, %s: %d scored, coverage %v", s.Horizon, s.Forecaster, s.N, s.Coverage)
		}
	}
	if r.Equity[0].Strategy != 1 || r.Equity[0].BuyAndHold != 1 {
		t.Errorf("the equity curves do not start at 1: %+v", r.Equity[0])
	}
	if status, out := api.get(t, "/models/MSFT/backtests"); status != 200 || !strings.Contains(out, r.BacktestID) {
		t.Fatalf("GET /models/MSFT/backtests: %d %.300s", status, out)
	}

	// A backtest whose LSTM trains long enough to be cancelled by its owner.
	long := `{"ticker":"AAPL","start_date":"2023-01-03","end_date":"2023-12-29","epochs":1000,"horizons":[1]}`
	if status, out := api.post(t, "/backtest", long); status != 202 || !strings.Contains(out, `"task_id":"backtest_aapl"`) {
		t.Fatalf("POST /backtest: %d %s", status, out)
	}
	waitRunning(t, api, "backtest_aapl")
	if status, out := api.do(t, "DELETE", "/tasks/backtest_aapl", "", nil); status != 200 || !strings.Contains(out, "cancelling") {
		t.Fatalf("DELETE /tasks/backtest_aapl: %d %s", status, out)
	}
	if got := waitStatus(t, api, "backtest_aapl", 2*time.Minute); got.Status != "failed" || !strings.Contains(strings.ToLower(got.Error), "cancel") {
		t.Fatalf("a cancelled backtest: %+v", got)
	}
}
