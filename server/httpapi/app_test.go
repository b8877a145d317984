package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/prometheus/client_golang/prometheus"

	"stockagent/pybridge"
	"stockagent/server/cache"
	"stockagent/server/forecast"
	"stockagent/server/metrics"
	"stockagent/server/pyapi"
	"stockagent/server/store"
	"stockagent/server/tasks"
	"stockagent/web"
)

// fakePython stands in for the interpreter: it answers the entry points the
// handlers call from a small in-memory model registry. Trainings block until
// release is closed.
type fakePython struct {
	mu        sync.Mutex
	trained   map[string]bool
	release   chan struct{}
	backtests []pyapi.BacktestRequest // the backtests run, as sent
}

func (f *fakePython) Info() pybridge.Info { return pybridge.Info{Version: "3.11-fake"} }

func (f *fakePython) Call(ctx context.Context, lane pybridge.Lane, fn string, req, resp any, opts ...pybridge.CallOption) error {
	var r struct{ Ticker string }
	b, _ := json.Marshal(req)
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	f.mu.Lock()
	exists := f.trained[r.Ticker]
	f.mu.Unlock()
	answer := func(v any) error { b, _ := json.Marshal(v); return json.Unmarshal(b, resp) }
	switch fn {
	case pyapi.FuncPredict:
		if r.Ticker == "LEAK" {
			return &pybridge.PyError{Type: string(pyapi.ErrUnavailable), Message: "the LLM server at http://u:s3cret@llm:8080/v1 is unreachable"}
		}
		if r.Ticker == "ZZZZ" {
			return &pybridge.PyError{Type: string(pyapi.ErrNotFound), Message: "No price data for ticker 'ZZZZ'"}
		}
		if !exists {
			return &pybridge.PyError{Type: string(pyapi.ErrModelMissing), Message: "no model"}
		}
		return answer(map[string]any{"ticker": r.Ticker, "future_window_days": 63, "model_version": "v1"})
	case pyapi.FuncModelState:
		return answer(map[string]any{"exists": exists, "serving_version": "v1"})
	case pyapi.FuncTrain:
		select {
		case <-f.release:
		case <-ctx.Done():
			return &pybridge.PyError{Type: string(pyapi.ErrCancelled), Message: "cancelled"}
		}
		f.mu.Lock()
		f.trained[r.Ticker] = true
		f.mu.Unlock()
		return answer(map[string]any{"version": "v1"})
	case pyapi.FuncBacktestCheck:
		var bt pyapi.BacktestRequest
		_ = json.Unmarshal(b, &bt)
		if bt.Ticker == "ZZZZ" {
			return &pybridge.PyError{Type: string(pyapi.ErrNotFound), Message: "No price data for ticker 'ZZZZ'"}
		}
		if bt.StartDate < "2000-01-01" {
			return &pybridge.PyError{Type: string(pyapi.ErrInvalidParameter), Message: "the backtest range must lie within the ticker's data"}
		}
		if bt.Horizons == nil {
			bt.Horizons = []int{1, 5, 21}
		}
		if bt.Forecasters == nil {
			bt.Forecasters = []string{"naive", "drift", "lstm"}
		}
		return answer(pyapi.BacktestConfig{Ticker: bt.Ticker, Symbol: bt.Ticker, StartDate: bt.StartDate, EndDate: bt.EndDate,
			Horizons: bt.Horizons, RefitEvery: bt.RefitEvery, CostBps: bt.CostBps, Forecasters: bt.Forecasters, Epochs: bt.Epochs})
	case pyapi.FuncBacktest:
		var bt pyapi.BacktestRequest
		_ = json.Unmarshal(b, &bt)
		f.mu.Lock()
		f.backtests = append(f.backtests, bt)
		f.mu.Unlock()
		select {
		case <-f.release:
		case <-ctx.Done():
			return &pybridge.PyError{Type: string(pyapi.ErrCancelled), Message: "cancelled"}
		}
		return answer(map[string]any{"backtest_id": "20240101T000000000000Z-abc", "model": bt.Ticker, "request": bt})
	case pyapi.FuncBacktests:
		return answer(map[string]any{"ticker": r.Ticker, "backtests": []any{}})
	case pyapi.FuncModels, pyapi.FuncTickers:
		return answer(map[string]any{"models": []any{}, "tickers": []any{}})
	case pyapi.FuncModel:
		if !exists {
			return &pybridge.PyError{Type: string(pyapi.ErrNotFound), Message: "No model for '" + r.Ticker + "'"}
		}
		return answer(map[string]any{"ticker": r.Ticker})
	}
	return fmt.Errorf("fake: unexpected %s", fn)
}

func newTestApp(t *testing.T, opts ...func(*Deps)) (*fiber.App, *fakePython, *tasks.Manager) {
	t.Helper()
	py := &fakePython{trained: map[string]bool{}, release: make(chan struct{})}
	st := store.NewMemory()
	m := tasks.New(st, tasks.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dataDir := t.TempDir()
	pc := cache.NewPredictions(st, forecast.ServingVersions(st), 0)
	d := Deps{Logger: quiet, Python: py, Store: st, DataDir: dataDir,
		AllowedHosts: []string{"example.com"}, // httptest's requests name this host
		Metrics:      metrics.New(prometheus.NewRegistry()),
		Docs:         func(r fiber.Router) { web.MountDocs(r, "/openapi.json") },
		App:          testWebApp(t),
		Forecast:     forecast.NewService(forecast.NewClient(py), m, pc, nil, quiet)}
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(&d)
	}
	return New(d), py, m
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached within 5s")
}

// do is request without headers for an answer that must be a JSON object.
func do(t *testing.T, app *fiber.App, method, path, body string) (int, map[string]any) {
	t.Helper()
	status, out, _ := request(t, app, method, path, body, nil)
	if out == nil {
		t.Fatalf("%s %s: %d, body is not a JSON object", method, path, status)
	}
	return status, out
}

func TestBadInputIsAClearError(t *testing.T) {
	app, _, _ := newTestApp(t)
	cases := map[string]struct {
		method, path, body string
		status             int
		detail             string
	}{
		"path traversal ticker": {"POST", "/predict-child", `{"ticker":"../../x"}`, 400, "invalid ticker"},
		"empty ticker":          {"POST", "/predict-child", `{"ticker":"  "}`, 400, "empty"},
		"reserved ticker":       {"POST", "/train-child", `{"ticker":"^PARENT"}`, 400, "reserved"},
		"caret inside ticker":   {"POST", "/predict-child", `{"ticker":"A^B"}`, 400, "may only lead"},
		"encoded caret inside":  {"POST", "/predict-child", `{"ticker":"A%5EB"}`, 400, "may only lead"},
		"missing ticker":        {"POST", "/predict-child", `{}`, 400, "ticker"},
		"no body":               {"POST", "/predict-child", ``, 400, "JSON object"},
		"malformed JSON":        {"POST", "/predict-child", `{"ticker":`, 400, "malformed JSON"},
		"not an object":         {"POST", "/predict-child", `["AAPL"]`, 422, "must be"},
		"unknown field":         {"POST", "/predict-child", `{"ticker":"AAPL","x":1}`, 422, "unknown field"},
		"epochs zero":           {"POST", "/train-child", `{"ticker":"AAPL","epochs":0}`, 422, "epochs"},
		"epochs huge":           {"POST", "/train-parent", `{"epochs":100000}`, 422, "epochs"},
		"start date future":     {"POST", "/train-child", `{"ticker":"AAPL","start_date":"2999-01-01"}`, 422, "after today"},
		"start date garbage":    {"POST", "/train-child", `{"ticker":"AAPL","start_date":"yesterday"}`, 422, "YYYY-MM-DD"},
		"strategy unknown":      {"POST", "/train-child", `{"ticker":"AAPL","strategy":"magic"}`, 422, "strategy"},
		"parent strategy":       {"POST", "/train-parent", `{"strategy":"freeze"}`, 422, "child"},
		"learning rate":         {"POST", "/train-child", `{"ticker":"AAPL","learning_rate":0}`, 422, "learning_rate"},
		"epochs wrong type":     {"POST", "/train-parent", `{"epochs":"ten"}`, 422, "epochs"},
		"unknown ticker":        {"POST", "/predict-child", `{"ticker":"ZZZZ"}`, 404, "No price data"},
		"unknown task":          {"GET", "/status/nope", ``, 404, "Task 'nope' not found."},
		"task id traversal":     {"GET", "/status/..%2Fx", ``, 404, "not found"},
		"unknown model":         {"GET", "/models/MSFT", ``, 404, "No model"},
		"unknown route":         {"GET", "/nowhere", ``, 404, "no route"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			status, body := do(t, app, tc.method, tc.path, tc.body)
			detail, _ := body["detail"].(string)
			if status != tc.status || !strings.Contains(detail, tc.detail) || detail == "" {
				t.Fatalf("got %d %q, want %d containing %q", status, detail, tc.status, tc.detail)
			}
		})
	}
}

func TestPredictMissingModelStartsTrainingOnce(t *testing.T) {
	app, py, m := newTestApp(t)
	status, body := do(t, app, "POST", "/predict-child", `{"ticker":"aapl"}`)
	if status != 202 || body["status"] != "training" || body["task_id"] != "aapl" {
		t.Fatalf("first predict: %d %v", status, body)
	}
	// The parent was missing too: it trains first, the child waits.
	if _, rec := do(t, app, "GET", "/status/aapl", ""); rec["status"] != "queued" {
		t.Fatalf("child status %v", rec)
	}
	eventually(t, func() bool {
		_, rec := do(t, app, "GET", "/status/parent", "")
		return rec["status"] == "running" && rec["task_id"] == "parent_training"
	})
	// A second request starts nothing new.
	status, body = do(t, app, "POST", "/train-child", `{"ticker":"AAPL"}`)
	if status != 200 || body["status"] != "already running" {
		t.Fatalf("second train: %d %v", status, body)
	}
	if recs, _ := m.List(context.Background()); len(recs) != 2 {
		t.Fatalf("%d tasks, want 2", len(recs))
	}
	close(py.release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rec, err := m.Wait(ctx, "aapl"); err != nil || rec.Status != tasks.Completed {
		t.Fatalf("child task: %+v %v", rec, err)
	}
	status, body = do(t, app, "POST", "/predict-child", `{"ticker":"AAPL"}`)
	if status != 200 || body["result"] == nil {
		t.Fatalf("predict after training: %d %v", status, body)
	}
	status, body = do(t, app, "POST", "/train-child", `{"ticker":"AAPL"}`)
	if status != 200 || body["status"] != "completed" {
		t.Fatalf("train existing: %d %v", status, body)
	}
}

func TestTrainChildWithoutParentAnswersStartedParent(t *testing.T) {
	app, _, _ := newTestApp(t)
	status, body := do(t, app, "POST", "/train-child", `{"ticker":"MSFT","epochs":2,"strategy":"fine_tune"}`)
	if status != 200 || body["status"] != "started_parent" || body["task_id"] != "parent_training" {
		t.Fatalf("got %d %v", status, body)
	}
	_, rec := do(t, app, "GET", "/status/msft", "")
	if rec["status"] != "queued" || !strings.Contains(rec["detail"].(string), "parent_training") {
		t.Fatalf("child record %v", rec)
	}
}

func TestRootAndHealth(t *testing.T) {
	app, _, _ := newTestApp(t)
	if status, body := do(t, app, "GET", "/", ""); status != 200 || body["project"] == nil || body["endpoints"] == nil {
		t.Fatalf("/: %d %v", status, body)
	}
	if status, body := do(t, app, "GET", "/health", ""); status != 200 || body["status"] != "healthy" {
		t.Fatalf("/health: %d %v", status, body)
	}
}

// Every route of the app is in the OpenAPI document, and every documented path is served.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	app, _, _ := newTestApp(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("spec: %v %q", err, doc.OpenAPI)
	}
	param := regexp.MustCompile(`:([a-z_]+)`)
	served := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Path == "/" && r.Method != http.MethodGet || r.Method == http.MethodHead || strings.HasPrefix(r.Path, "/docs/assets") || strings.HasPrefix(r.Path, "/assets/") {
			continue // static files of the docs page and the web app are not API operations
		}
		path := param.ReplaceAllString(r.Path, "{$1}")
		key := strings.ToLower(r.Method) + " " + path
		served[key] = true
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s is served but not in openapi.json", key)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !served[method+" "+path] {
				t.Errorf("%s %s is documented but not served", method, path)
			}
		}
	}
}
