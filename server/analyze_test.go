package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stockagent/pybridge/pybridgetest"
	"stockagent/server/metrics"
	"stockagent/server/pyapi"
	"stockagent/server/servertest"
	"stockagent/server/vectorstore/qdranttest"
)

// /analyze end to end with a real model, twice: the in-process llama.cpp
// default with the in-process vector index, and the OpenAI-compatible path
// against llama.cpp's own server with Qdrant's API. The second identical
// request is a semantic cache hit that makes no LLM call.
//
// The Qdrant is a double (qdranttest's in-process server of Qdrant's gRPC API,
// subtest "…qdrant-double") unless QDRANT_URL_TEST (and QDRANT_API_KEY_TEST)
// point at a real one (subtest "…qdrant").
func TestAnalyzeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real LLM")
	}
	dataDir := t.TempDir()
	base := map[string]string{
		"DATA_SOURCE": "bundled", "NEWS_SOURCE": "none", "MLFLOW_DISABLE": "1",
		"PARENT_EPOCHS": "1", "CHILD_EPOCHS": "1", "PARENT_START_DATE": "2016-01-01",
	}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}

	t.Run("in-process llama.cpp", func(t *testing.T) {
		srv := startServer(t, dataDir, with(nil))
		defer srv.cmd.Process.Kill()
		// No model yet: the answer names the training task, which starts.
		status, body := srv.post(t, "/analyze", `{"ticker":"AAPL"}`)
		if status != 202 || !strings.Contains(body, `"task_id":"aapl"`) || !strings.Contains(body, `"status":"training"`) {
			t.Fatalf("first /analyze: %d %s", status, body)
		}
		if rec := waitStatus(t, srv, "aapl", 5*time.Minute); rec.Status != "completed" {
			t.Fatalf("training: %+v", rec)
		}
		checkAnalysis(t, srv, "llama-cpp")

		// A new serving version: the report of the old one no longer answers,
		// however close the new forecast's cache text is.
		before := analyze(t, srv, `{"ticker":"AAPL"}`)
		if !before.Cached {
			t.Fatal("the repeated request was not a cache hit before the new version")
		}
		if status, body := srv.post(t, "/train-child", `{"ticker":"AAPL","force":true,"promote":"always"}`); status != 200 {
			t.Fatalf("train-child: %d %s", status, body)
		}
		rec := waitStatus(t, srv, "aapl", 5*time.Minute)
		if rec.Status != "completed" || rec.Result.Version == before.Predictions.ModelVersion {
			t.Fatalf("training: %+v (serving before: %s)", rec, before.Predictions.ModelVersion)
		}
		calls := llmCalls(t, srv)
		after := analyze(t, srv, `{"ticker":"AAPL"}`)
		if after.Cached || llmCalls(t, srv) != calls+1 {
			t.Fatalf("version %s was answered from version %s's report (cached=%v)",
				rec.Result.Version, after.Predictions.ModelVersion, after.Cached)
		}
		if after.Predictions.ModelVersion != rec.Result.Version {
			t.Errorf("the new report is of version %s, want %s", after.Predictions.ModelVersion, rec.Result.Version)
		}
	})

	t.Run("OpenAI-compatible server and "+qdranttest.Name(), func(t *testing.T) {
		srv := startServer(t, dataDir, with(map[string]string{
			"LLM_BASE_URL": startLlamaServer(t), "LLM_MODEL": "smollm2",
			"QDRANT_URL": qdranttest.Start(t), "QDRANT_API_KEY": qdranttest.APIKey(),
		}))
		defer srv.cmd.Process.Kill()
		if _, health := srv.get(t, "/health"); !strings.Contains(health, "openai-compatible") {
			t.Fatalf("/health does not show the OpenAI-compatible LLM: %s", health)
		}
		checkAnalysis(t, srv, "openai-compatible")
		if _, health := srv.get(t, "/health"); !strings.Contains(health, `"backend":"qdrant"`) {
			t.Errorf("/health does not show Qdrant: %s", health)
		}
	})
}

type analysisAnswer struct {
	Ticker         string   `json:"ticker"`
	FinalReport    string   `json:"final_report"`
	Recommendation string   `json:"recommendation"`
	Confidence     string   `json:"confidence"`
	NewsSentiment  string   `json:"news_sentiment"`
	ThreadID       string   `json:"thread_id"`
	Answer         string   `json:"answer"`
	LeftOut        []string `json:"left_out"`
	Cached         bool     `json:"cached"`
	Predictions    struct {
		FullForecast []json.RawMessage `json:"full_forecast"`
		ModelVersion string            `json:"model_version"`
	} `json:"predictions"`
	LLM struct {
		Provider string `json:"provider"`
	} `json:"llm"`
	Nodes []metrics.AgentNode `json:"nodes"`
}

// checkAnalysis runs /analyze three times: an analysis, the same request
// (a cache hit, no LLM call), and a follow-up question on the same thread
// (answered by the agent).
func checkAnalysis(t *testing.T, srv *server, provider string) {
	t.Helper()
	first := analyze(t, srv, `{"ticker":"AAPL"}`)
	if first.Cached || first.Ticker != "AAPL" || first.LLM.Provider != provider ||
		!oneOf(first.Recommendation, "BULLISH", "BEARISH", "NEUTRAL") || !oneOf(first.Confidence, "High", "Medium", "Low") ||
		!strings.Contains(strings.ToLower(first.FinalReport), "not investment advice") ||
		len(first.Predictions.FullForecast) != 63 || first.NewsSentiment == "" {
		t.Fatalf("first analysis: %+v", first)
	}
	checkNodeMetrics(t, srv, first, provider == "llama-cpp")
	calls := llmCalls(t, srv)
	second := analyze(t, srv, `{"ticker":"AAPL"}`)
	if !second.Cached || second.FinalReport != first.FinalReport {
		t.Fatalf("the identical request was not a semantic cache hit: cached=%v", second.Cached)
	}
	if got := llmCalls(t, srv); got != calls {
		t.Fatalf("the cache hit made %v agent calls", got-calls)
	}
	follow := analyze(t, srv, fmt.Sprintf(`{"ticker":"AAPL","thread_id":%q,"question":"What is the main risk to this forecast?"}`, first.ThreadID))
	// The model's answer is shown once it passed the fields' checks, else left out with a note.
	answered := follow.Answer != "" || slices.ContainsFunc(follow.LeftOut, func(n string) bool { return strings.HasPrefix(n, "answer: ") })
	if follow.Cached || !answered || llmCalls(t, srv) != calls+1 {
		t.Fatalf("a question must be answered by the agent: cached=%v answer=%q left_out=%q", follow.Cached, follow.Answer, follow.LeftOut)
	}
}

// checkNodeMetrics checks an analysis's nodes against the per-node
// histograms of /metrics: the writer is observed as many times as the answer
// has writer nodes, and its timings only where the model measured them (in
// process): then its rates are positive and it read less of its prompt than
// the prompt holds (the facts' prefix came from the model's cache).
func checkNodeMetrics(t *testing.T, srv *server, a analysisAnswer, measured bool) {
	t.Helper()
	var writers []metrics.AgentNode
	for _, n := range a.Nodes {
		if n.Node == "writer" {
			writers = append(writers, n)
		}
	}
	if len(writers) == 0 {
		t.Fatalf("no writer among the nodes: %+v", a.Nodes)
	}
	series := func(name string) float64 {
		return srv.metric(t, "stockagent_llm_node_"+name+`_count{node="writer"}`)
	}
	timed := 0.0
	if measured {
		timed = float64(len(writers))
	}
	for name, want := range map[string]float64{
		"duration_seconds": float64(len(writers)), "wait_seconds": float64(len(writers)),
		"first_token_seconds": timed, "prompt_tokens_per_second": timed, "generation_tokens_per_second": timed,
	} {
		if got := series(name); got != want {
			t.Errorf("stockagent_llm_node_%s{node=writer} counts %v observations, want %v", name, got, want)
		}
	}
	for _, w := range writers {
		if (w.FirstTokenSeconds != nil) != measured || (w.PromptTokensPerSecond != nil) != measured {
			t.Errorf("writer %+v: timings present %v, want %v", w, w.FirstTokenSeconds != nil, measured)
		}
		if measured && (*w.PromptTokensPerSecond <= 0 || *w.GenerationTokensPerSecond <= 0 ||
			w.PromptTokensEvaluated <= 0 || w.PromptTokensEvaluated >= w.PromptTokens) {
			t.Errorf("writer %+v: want positive rates and a prompt read in part", w)
		}
	}
}

// analyze posts body to /analyze and reads the 200 answer.
func analyze(t *testing.T, srv *server, body string) analysisAnswer {
	t.Helper()
	status, raw := srv.post(t, "/analyze", body)
	if status != 200 {
		t.Fatalf("/analyze %s: %d %.500s", body, status, raw)
	}
	var a analysisAnswer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatalf("answer: %v\n%.500s", err, raw)
	}
	return a
}

func oneOf(v string, set ...string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// llmCalls counts the agent runs the server made, from its metrics.
func llmCalls(t *testing.T, srv *server) int {
	t.Helper()
	return int(srv.metric(t, `stockagent_bridge_calls_total{function="`+pyapi.FuncAnalyze+`",lane="agent",outcome="ok"}`))
}

// startLlamaServer starts llama-cpp-python's OpenAI-compatible server on the
// packaged GGUF and returns its base URL.
func startLlamaServer(t *testing.T) string {
	t.Helper()
	python, err := filepath.Abs("../.venv/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, "-c", "from stockagent.llm.chat import packaged_gguf; print(packaged_gguf())").Output()
	gguf := strings.TrimSpace(string(out))
	if err != nil || gguf == "" || gguf == "None" {
		t.Fatalf("no packaged GGUF: %v %q", err, out)
	}
	port := servertest.Port(t)
	cmd := exec.Command(python, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", "smollm2",
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--n_ctx", "2048", "--n_threads", "1")
	logs := &pybridgetest.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck // killed: its exit error is expected
	base := fmt.Sprintf("http://127.0.0.1:%d/v1", port)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if res, err := http.Get(base + "/models"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
	}
	t.Fatalf("llama.cpp server did not start:\n%s", logs.String())
	return ""
}
