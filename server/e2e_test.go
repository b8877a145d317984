package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stockagent/deploy/deploytest"
	"stockagent/pybridge/pybridgetest"
	"stockagent/server/httpapi/apitest"
	"stockagent/server/metrics/scrape"
	"stockagent/server/pyapi"
	"stockagent/server/servertest"
)

// The real server binary with the real interpreter and bundled data: train a
// tiny parent and child through /predict-child, poll, forecast, stop.
func TestServerEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	srv := startServer(t, "", map[string]string{
		"DATA_SOURCE":         "bundled",
		"PARENT_EPOCHS":       "1",
		"CHILD_EPOCHS":        "1",
		"PARENT_START_DATE":   "2016-01-01",
		"ADMIN_TOKEN":         "e2e-admin",
		"LLM_PROVIDER":        "none", // the analyst's answers without an LLM; analyze_test.go runs real ones
		"NEWS_SOURCE":         "none",
		"RATE_LIMIT_TRAINING": "4/hour",
		"BATCH_MAX_TICKERS":   "3",
		"STAT_BASELINES":      "on", // the default, off in the other server tests (startServerAt)
	})
	srv.checkResponses(t)

	t.Run("smoke checks of the old service", func(t *testing.T) {
		for path, want := range map[string]string{"/health": "healthy", "/": "project", "/openapi.json": "openapi",
			"/metrics": "prediction_total", "/system/cache": "cached_tickers", "/outputs": "path", "/docs": "swagger-ui"} {
			if status, body := srv.get(t, path); status != 200 || !strings.Contains(body, want) {
				t.Errorf("GET %s: %d %.200s", path, status, body)
			}
		}
		_, health := srv.get(t, "/health")
		if !strings.Contains(health, `"prefix":"`) || !strings.Contains(health, "3.11") {
			t.Errorf("/health lacks the interpreter's details: %s", health)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		cases := map[string]struct {
			body   string
			status int
		}{
			"traversal":      {`{"ticker":"../x"}`, 400},
			"malformed":      {`{"ticker"`, 400},
			"unknown ticker": {`{"ticker":"ZZZZ"}`, 404},
		}
		for name, tc := range cases {
			status, body := srv.post(t, "/predict-child", tc.body)
			if status != tc.status || (status != 413 && !strings.Contains(body, `"detail"`)) {
				t.Errorf("%s: %d %.200s, want %d with a detail", name, status, body, tc.status)
			}
		}
	})

	t.Run("oversized body", func(t *testing.T) {
		// Announce a body over the limit and send none: the server must refuse on the
		// header alone. (Sending the body races with the server closing the
		// connection, and the client may see a reset instead of the answer.)
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /predict-child HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 80<<10)
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("got %d, want 413", res.StatusCode)
		}
	})

	// No models yet: the first forecast starts the parent's training and the child's behind it.
	status, body := srv.post(t, "/predict-child", `{"ticker":"AAPL"}`)
	if status != 202 || !strings.Contains(body, `"task_id":"aapl"`) {
		t.Fatalf("first /predict-child: %d %s", status, body)
	}
	if status, body := srv.post(t, "/train-child", `{"ticker":"AAPL"}`); status != 200 || !strings.Contains(body, "already running") {
		t.Fatalf("duplicate training: %d %s", status, body)
	}
	var rec struct {
		Status   string
		Error    string
		Progress struct{ Epoch, Epochs int }
		Result   struct{ Version string }
	}
	sawProgress := false
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("training did not finish: last status %+v", rec)
		}
		_, body := srv.get(t, "/status/aapl")
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			t.Fatal(err)
		}
		_, parent := srv.get(t, "/status/parent")
		sawProgress = sawProgress || strings.Contains(parent, `"epochs":1`) || rec.Progress.Epochs == 1
		if rec.Status == "completed" || rec.Status == "failed" {
			break
		}
	}
	if rec.Status != "completed" || rec.Result.Version == "" {
		t.Fatalf("child training: %+v", rec)
	}
	if !sawProgress {
		t.Error("no progress event (epoch of epochs) was seen in a task status")
	}

	var first, second struct {
		Result struct {
			Ticker       string
			DataAsOf     string `json:"data_as_of"`
			ModelVersion string `json:"model_version"`
			Predictions  struct {
				FullForecast []struct{ Date string } `json:"full_forecast"`
				Week         []json.RawMessage
			}
			History []struct{ Date string }
		}
	}
	for _, dst := range []any{&first, &second} {
		status, body := srv.post(t, "/predict-child", `{"ticker":"aapl"}`)
		if status != 200 {
			t.Fatalf("/predict-child after training: %d %s", status, body)
		}
		if err := json.Unmarshal([]byte(body), dst); err != nil {
			t.Fatal(err)
		}
	}
	p := first.Result
	if p.Ticker != "AAPL" || p.DataAsOf != "2024-12-31" || p.ModelVersion != rec.Result.Version ||
		len(p.Predictions.FullForecast) != 63 || len(p.Predictions.Week) != 5 || len(p.History) != 90 {
		t.Fatalf("forecast shape: %+v", p)
	}
	dates := map[string]bool{}
	for _, r := range p.Predictions.FullForecast {
		dates[r.Date] = true
	}
	if dates["2025-01-01"] || dates["2025-01-09"] || !dates["2025-01-02"] {
		t.Errorf("forecast dates do not follow the NYSE calendar: %v", p.Predictions.FullForecast[:6])
	}
	if n := strings.Count(srv.logs(), "loaded model AAPL"); n != 1 {
		t.Errorf("the AAPL model was loaded %d times over two forecasts, want once (kept in memory)", n)
	}
	t.Run("Cache-Control: no-cache computes the forecast again", func(t *testing.T) {
		predictCalls := func() float64 {
			return srv.metric(t, `stockagent_bridge_calls_total{function="`+pyapi.FuncPredict+`",lane="inference",outcome="ok"}`)
		}
		before := predictCalls()
		if status, body := srv.post(t, "/predict-child", `{"ticker":"AAPL"}`); status != 200 || predictCalls() != before {
			t.Fatalf("a cached forecast called Python: %d %.200s, %v then %v", status, body, before, predictCalls())
		}
		status, body := srv.do(t, "POST", "/predict-child", `{"ticker":"AAPL"}`, map[string]string{"Cache-Control": "no-cache"})
		if status != 200 || predictCalls() == before {
			t.Fatalf("no-cache was answered from the cache: %d %.200s, calls %v", status, body, predictCalls())
		}
	})

	t.Run("every other endpoint", func(t *testing.T) {
		cases := []struct {
			method, path, body string
			header             map[string]string
			status             int
			want               string
		}{
			{"GET", "/models", "", nil, 200, `"serving_version"`},
			{"GET", "/models/AAPL", "", nil, 200, `"meta"`},
			{"GET", "/models/parent", "", nil, 200, `"role":"parent"`},
			{"GET", "/models/AAPL/runs", "", nil, 200, `"promotion"`},
			{"GET", "/models/parent/runs?limit=1", "", nil, 200, `"mlflow":{"status":"logged"`},
			{"GET", "/models/AAPL/past-forecasts", "", nil, 200, `"close_high"`},
			{"GET", "/models/AAPL/backtests", "", nil, 200, `"backtests":[]`},
			{"POST", "/backtest", `{"ticker":"AAPL","start_date":"1990-01-02","end_date":"1999-12-31"}`, nil, 422, "within AAPL's data"},
			{"GET", "/models/MSFT/past-forecasts", "", nil, 404, "no trained model for 'MSFT'"},
			{"GET", "/tickers", "", nil, 200, `"^GSPC"`},
			{"GET", "/tasks", "", nil, 200, `"aapl"`},
			{"DELETE", "/tasks/aapl", "", nil, 409, "already completed"},
			{"GET", "/system/logs?lines=5", "", nil, 200, `"filename":"server.log"`},
			{"GET", "/system/cache", "", nil, 200, `"AAPL"`},
			{"GET", "/system/cache?ticker=AAPL", "", nil, 200, `"prediction"`},
			{"GET", "/outputs/AAPL", "", nil, 200, `"weights"`},
			{"GET", "/monitor/AAPL/drift", "", nil, 200, `"feature_metrics"`}, // measured after its training
			{"POST", "/monitor/AAPL", "", nil, 200, `"agent_eval":{"detail":"no LLM`},
			{"POST", "/monitor/parent", "", nil, 200, `"type":"parent"`},
			// Two drift reports by now (after the training, and the POST): a page of one goes on.
			{"GET", "/monitor/AAPL/history?limit=1", "", nil, 200, `"next_cursor":"d`},
			{"GET", "/monitor/AAPL/history?before=2000-01-01T00:00:00Z", "", nil, 200, `"drift":[],"evals":[],"next_cursor":null`},
			{"GET", "/monitor/ZZZZ/history", "", nil, 200, `"ticker":"ZZZZ","drift":[]`},
			{"GET", "/monitor/parent/eval", "", nil, 404, "No agent evaluation"},
			{"GET", "/monitor/ZZZZ/drift", "", nil, 404, "ZZZZ"},
			{"POST", "/analyze", `{"ticker":"AAPL"}`, nil, 503, "no LLM"},
			{"POST", "/analyze", `{"ticker":"../etc"}`, nil, 400, "invalid ticker"},
			{"POST", "/predict-parent", "", nil, 200, `"^GSPC"`},
			{"POST", "/predict-batch", `{"tickers":["AAPL","ZZZZ","MSFT"]}`, nil, 200, `"answered":1,"failed":2,"lstm_forwards":1`},
			{"POST", "/predict-batch", `{"tickers":[]}`, nil, 422, "empty"},
			{"POST", "/predict-batch", `{"tickers":["A","B","C","D"]}`, nil, 422, "at most 3"},
			{"POST", "/train-parent", "", nil, 200, `"completed"`},
			{"GET", "/status/parent", "", nil, 200, `"parent_training"`},
			{"DELETE", "/system/reset", "", map[string]string{"Authorization": "Bearer wrong"}, 403, "invalid"},
			{"DELETE", "/system/reset", "", map[string]string{"Authorization": "Bearer e2e-admin"}, 200, "System Reset Complete"},
		}
		for _, tc := range cases {
			status, body := srv.do(t, tc.method, tc.path, tc.body, tc.header)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("%s %s: %d %.300s, want %d with %s", tc.method, tc.path, status, body, tc.status, tc.want)
			}
		}
		if srv.metric(t, `stockagent_bridge_calls_total{function="`+pyapi.FuncPredict+`",lane="inference",outcome="ok"}`) == 0 {
			t.Error("/metrics lacks the bridge's call counts")
		}
	})
	t.Run("training requests are rate limited per client", func(t *testing.T) {
		for i := range 5 {
			status, body := srv.post(t, "/train-parent", `{}`)
			if status == 429 {
				if !strings.Contains(body, "rate limit") {
					t.Fatalf("429 without a clear detail: %s", body)
				}
				return
			}
			if status != 200 {
				t.Fatalf("training request %d: %d %s", i, status, body)
			}
		}
		t.Fatal("no 429 after more training requests than RATE_LIMIT_TRAINING allows")
	})
	t.Run("every metric a dashboard queries exists", func(t *testing.T) {
		used, err := deploytest.DashboardMetrics("../deploy/grafana/dashboards")
		if err != nil {
			t.Fatal(err)
		}
		_, body := srv.get(t, "/metrics")
		page, err := scrape.ParseString(body)
		if err != nil {
			t.Fatal(err)
		}
		if missing := deploytest.Missing(used, page.Names()); len(missing) > 0 {
			for _, m := range missing {
				t.Errorf("%s (used by %v) is not in /metrics", m, used[m])
			}
		}
	})
	t.Run("every operation of the OpenAPI document was exercised", func(t *testing.T) {
		for _, op := range srv.api.Operations() {
			if !srv.ops[op] {
				t.Errorf("%s: no response checked", op)
			}
		}
	})

	// SIGTERM stops the server cleanly.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.exited:
		if err != nil {
			t.Fatalf("server exit after SIGTERM: %v\n%s", err, srv.logs())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop within 30s of SIGTERM")
	}
	if !strings.Contains(srv.logs(), "stopped") {
		t.Error("no orderly shutdown in the log")
	}
}

type server struct {
	base   string
	cmd    *exec.Cmd
	out    *pybridgetest.Buffer
	exited chan error
	// api, when set, checks every response against the OpenAPI document and
	// records the operations exercised.
	api *apitest.Validator
	mu  sync.Mutex
	ops map[string]bool
}

// conform checks one response against the OpenAPI document.
func (s *server) conform(t testing.TB, method, path string, res *http.Response, body []byte) {
	t.Helper()
	if s.api == nil {
		return
	}
	if err := s.api.Check(method, path, res.StatusCode, res.Header, body); err != nil {
		t.Errorf("OpenAPI conformance: %v", err)
	}
	if op, err := s.api.Match(method, path); err == nil {
		s.mu.Lock()
		s.ops[op] = true
		s.mu.Unlock()
	}
}

func (s *server) logs() string { return s.out.String() }

// waitLog waits until s's log holds text.
func (s *server) waitLog(t *testing.T, text string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); !strings.Contains(s.logs(), text); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%q not in the log within %s:\n%s", text, limit, s.logs())
		}
	}
}

// startServer starts the server binary on a free loopback port with dataDir
// ("" for a fresh one) and env, and returns once /health answers.
func startServer(t testing.TB, dataDir string, env map[string]string) *server {
	t.Helper()
	return startServerAt(t, place{host: "127.0.0.1"}, dataDir, env)
}

// startStubbedAAPL starts the server on a fresh data folder holding a tiny
// trained AAPL model, with tinyEnv, an analyst that is an LLM stub (llmStub)
// and extra; it returns the server, its data folder and its environment.
func startStubbedAAPL(t *testing.T, extra map[string]string) (*server, string, map[string]string) {
	t.Helper()
	dataDir := withTrainedAAPL(t)
	stub := startLLMStub(t)
	env := tinyEnv(map[string]string{"LLM_BASE_URL": stub.URL, "LLM_MODEL": "stub"})
	maps.Copy(env, extra)
	return startServer(t, dataDir, env), dataDir, env
}

// checkResponses makes s check each later response against the OpenAPI
// document and record the operations they reach.
func (s *server) checkResponses(t testing.TB) {
	t.Helper()
	api := openAPI(t)
	s.mu.Lock()
	s.api, s.ops = api, map[string]bool{}
	s.mu.Unlock()
}

// openAPI is the checker of responses against the OpenAPI document.
func openAPI(t testing.TB) *apitest.Validator {
	t.Helper()
	spec, err := os.ReadFile("httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	api, err := apitest.New(spec)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// place is where a server process runs: in the network namespace netns ("":
// the test's own), listening on host, an address of it the test can reach.
type place struct{ netns, host string }

// startServerAt is startServer at where.
func startServerAt(t testing.TB, where place, dataDir string, env map[string]string) *server {
	t.Helper()
	port := servertest.Port(t)
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	cmd := exec.Command(servertest.Binary(t))
	if where.netns != "" {
		cmd = exec.Command("ip", "netns", "exec", where.netns, cmd.Path) // ip execs the binary: the pid is the server's
	}
	// The statistical baselines add seconds to every training and are tested in Python and in
	// TestServerEndToEnd; a test that wants them sets STAT_BASELINES (the last value wins).
	cmd.Env = append(os.Environ(), "HOST="+where.host, fmt.Sprintf("PORT=%d", port), "DATA_DIR="+dataDir, "STAT_BASELINES=off")
	if os.Getenv("PYTHON_EXECUTABLE") == "" {
		if py, err := filepath.Abs("../.venv/bin/python"); err == nil {
			cmd.Env = append(cmd.Env, "PYTHON_EXECUTABLE="+py)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	s := &server{base: "http://" + net.JoinHostPort(where.host, strconv.Itoa(port)), cmd: cmd, out: &pybridgetest.Buffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs())
		}
	})
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-s.exited:
			t.Fatalf("server exited during start-up: %v\n%s", err, s.logs())
		default:
		}
		if res, err := http.Get(s.base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not healthy within 90s:\n%s", s.logs())
		}
	}
}

func (s *server) get(t testing.TB, path string) (int, string) {
	t.Helper()
	return s.do(t, "GET", path, "", nil)
}

func (s *server) post(t testing.TB, path, body string) (int, string) {
	t.Helper()
	return s.do(t, "POST", path, body, nil)
}

func (s *server) do(t testing.TB, method, path, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	s.conform(t, method, strings.SplitN(path, "?", 2)[0], res, b)
	return res.StatusCode, string(b)
}
