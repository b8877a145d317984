package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// The old service's clients (its web app and scripts) against the real
// server: one case per shape they read (docs/api.md), each written from the
// old contract. The analyst is an OpenAI-compatible stub
// (llmStub): these cases are about shapes, not prose; every answer is also
// checked against the OpenAPI document.
func TestOldClient(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	srv, _, _ := startStubbedAAPL(t, map[string]string{"RATE_LIMITS": "off"})
	srv.checkResponses(t)

	// The old app draws response.predictions.full_forecast, an array of {date, close}.
	t.Run("analyze answers predictions.full_forecast", func(t *testing.T) {
		start := time.Now()
		status, body := srv.post(t, "/analyze", `{"ticker":"AAPL"}`)
		t.Logf("analysis in %s", time.Since(start).Round(time.Millisecond))
		if status != 200 {
			t.Fatalf("/analyze: %d %.300s", status, body)
		}
		var a struct {
			Predictions map[string]json.RawMessage `json:"predictions"`
		}
		mustDecode(t, body, &a)
		var full, week, month, quarter, history []struct {
			Date  *string  `json:"date"`
			Close *float64 `json:"close"`
		}
		for name, dst := range map[string]any{"full_forecast": &full, "week": &week, "month": &month, "quarter": &quarter, "history": &history} {
			raw, ok := a.Predictions[name]
			if !ok {
				t.Fatalf("predictions.%s missing; predictions holds %v", name, keys(a.Predictions))
			}
			if err := json.Unmarshal(raw, dst); err != nil {
				t.Fatalf("predictions.%s is not an array of {date, close}: %v: %.200s", name, err, raw)
			}
		}
		if len(full) != 63 || len(week) != 5 || len(month) != 21 || len(quarter) != 63 || len(history) == 0 {
			t.Fatalf("rows: full_forecast %d, week %d, month %d, quarter %d, history %d", len(full), len(week), len(month), len(quarter), len(history))
		}
		for i, r := range full {
			if r.Date == nil || len(*r.Date) != len("2025-01-02") || r.Close == nil || *r.Close <= 0 {
				t.Fatalf("full_forecast[%d] is no {date, close}: %+v", i, r)
			}
		}
		if _, ok := a.Predictions["next_day"]; !ok {
			t.Errorf("predictions.next_day missing")
		}
		if _, nested := a.Predictions["predictions"]; nested {
			t.Errorf("predictions still nests a predictions object: %v", keys(a.Predictions))
		}
	})

	// The old app reads metrics.checks as {name: boolean}: an object there read as passed.
	t.Run("evaluation checks are booleans", func(t *testing.T) {
		status, body := srv.post(t, "/monitor/AAPL", ``)
		if status != 200 {
			t.Fatalf("POST /monitor/AAPL: %d %.300s", status, body)
		}
		var m struct {
			AgentEval evaluation `json:"agent_eval"`
		}
		mustDecode(t, body, &m)
		m.AgentEval.check(t)
		status, body = srv.get(t, "/monitor/AAPL/eval")
		if status != 200 {
			t.Fatalf("GET /monitor/AAPL/eval: %d %.300s", status, body)
		}
		var stored evaluation
		mustDecode(t, body, &stored)
		stored.check(t)
	})

	// The old app monitors the parent as /monitor/%5EGSPC/…; POST /monitor/parent
	// carries the agent evaluation as the ticker form does.
	t.Run("the parent is monitored by every spelling, with its evaluation", func(t *testing.T) {
		status, body := srv.post(t, "/monitor/parent", ``)
		if status != 200 {
			t.Fatalf("POST /monitor/parent: %d %.300s", status, body)
		}
		var m struct {
			Ticker    string     `json:"ticker"`
			Type      string     `json:"type"`
			AgentEval evaluation `json:"agent_eval"`
		}
		mustDecode(t, body, &m)
		if m.Ticker != "parent" || m.Type != "parent" {
			t.Fatalf("POST /monitor/parent: ticker %q, type %q", m.Ticker, m.Type)
		}
		m.AgentEval.check(t)
		for _, c := range []struct{ method, path, want string }{
			{"POST", "/monitor/%5EGSPC", `"type":"parent"`},
			{"POST", "/monitor/%255EGSPC", `"type":"parent"`}, // the caret encoded twice
			{"GET", "/monitor/%5EGSPC/drift", `"model":"parent"`},
			{"GET", "/monitor/%255EGSPC/drift", `"model":"parent"`},
			{"GET", "/monitor/%5EGSPC/eval", `"overall_score"`},
			{"GET", "/monitor/%5Egspc/eval", `"overall_score"`},
			{"GET", "/status/%255EGSPC", `"task_id":"parent_training"`},
			{"GET", "/models/%255EGSPC", `"parent"`},
			{"GET", "/system/cache?ticker=%255EGSPC", `"ticker":"parent"`},
		} {
			status, body := srv.do(t, c.method, c.path, "", nil)
			if status != 200 || !strings.Contains(body, c.want) {
				t.Errorf("%s %s: %d %.300s", c.method, c.path, status, body)
			}
		}
		if status, body := srv.post(t, "/predict-child", `{"ticker":"%5EGSPC"}`); status != 200 || !strings.Contains(body, `"model":"parent"`) {
			t.Errorf(`/predict-child {"ticker":"%%5EGSPC"}: %d %.300s`, status, body)
		}
	})

	// The old service listed one entry per trained ticker.
	t.Run("outputs lists the trained models", func(t *testing.T) {
		status, body := srv.get(t, "/outputs")
		if status != 200 {
			t.Fatalf("/outputs: %d %.300s", status, body)
		}
		var o struct {
			Path        string `json:"path"`
			TotalItems  int    `json:"total_items"`
			Directories int    `json:"directories"`
			Files       int    `json:"files"`
			Contents    []struct {
				Name, Type, Path, Modified string
				FileCount                  int `json:"file_count"`
			} `json:"contents"`
		}
		mustDecode(t, body, &o)
		var names []string
		for _, e := range o.Contents {
			names = append(names, e.Name)
			if e.Type != "directory" || !strings.HasPrefix(e.Path, "models/") || e.FileCount < 3 || e.Modified == "" {
				t.Errorf("entry %+v", e)
			}
			if status, body := srv.get(t, "/outputs/"+e.Name); status != 200 || !strings.Contains(body, `"weights"`) {
				t.Errorf("/outputs/%s: %d %.200s", e.Name, status, body)
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"aapl", "parent"}) || o.TotalItems != 2 || o.Directories != 2 || o.Files != 0 || o.Path == "" {
			t.Fatalf("/outputs: entries %q, total_items %d, directories %d, files %d, path %q",
				names, o.TotalItems, o.Directories, o.Files, o.Path)
		}
	})

	// The old service's elapsed_seconds is an integer.
	t.Run("elapsed_seconds is an integer", func(t *testing.T) {
		for _, id := range []string{"aapl", "parent"} {
			status, body := srv.get(t, "/status/"+id)
			if status != 200 {
				t.Fatalf("/status/%s: %d %.300s", id, status, body)
			}
			var rec struct {
				Elapsed *json.Number `json:"elapsed_seconds"`
			}
			dec := json.NewDecoder(strings.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&rec); err != nil {
				t.Fatal(err)
			}
			if rec.Elapsed == nil {
				t.Fatalf("/status/%s has no elapsed_seconds: %.300s", id, body)
			}
			if _, err := rec.Elapsed.Int64(); err != nil || strings.ContainsAny(rec.Elapsed.String(), ".eE") {
				t.Errorf("/status/%s: elapsed_seconds %s is not an integer", id, rec.Elapsed)
			}
		}
	})
}

// evaluation is an agent evaluation as the old app reads it, plus the details beside it.
type evaluation struct {
	Metrics struct {
		Checks       map[string]json.RawMessage `json:"checks"`
		CheckDetails map[string]struct {
			Passed bool   `json:"passed"`
			Detail string `json:"detail"`
		} `json:"check_details"`
		FailedChecks []string `json:"failed_checks"`
		OverallScore *float64 `json:"overall_score"`
	} `json:"metrics"`
}

// check: every check is a boolean that says whether it passed, failed ones
// false, and its details sit in check_details.
func (e evaluation) check(t *testing.T) {
	t.Helper()
	m := e.Metrics
	if len(m.Checks) == 0 || m.OverallScore == nil {
		t.Fatalf("no evaluation: %+v", m)
	}
	for name, raw := range m.Checks {
		var passed bool
		if err := json.Unmarshal(raw, &passed); err != nil {
			t.Errorf("checks.%s is %s, not a boolean", name, raw)
			continue
		}
		d, ok := m.CheckDetails[name]
		if !ok || d.Passed != passed || d.Detail == "" {
			t.Errorf("checks.%s = %v, check_details.%s = %+v (present: %v)", name, passed, name, d, ok)
		}
		if passed == slices.Contains(m.FailedChecks, name) {
			t.Errorf("checks.%s = %v, but failed_checks is %v", name, passed, m.FailedChecks)
		}
	}
	// The stub's three-line report fails some checks: one of them must read false.
	if len(m.FailedChecks) == 0 {
		t.Errorf("no check failed on the stub's report: %s", checksOf(m.Checks))
	}
}

func checksOf(c map[string]json.RawMessage) string {
	b, _ := json.Marshal(c)
	return string(b)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mustDecode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.NewDecoder(bytes.NewReader([]byte(body))).Decode(v); err != nil {
		t.Fatalf("%v: %.300s", err, body)
	}
}
