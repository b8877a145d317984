package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stockagent/server/metrics/scrape"
	"stockagent/server/pyapi"
)

// The analyst's abuse limits end to end: real server processes talking to an
// OpenAI-compatible LLM server (llmStub, a real HTTP server in this process
// that the server's Python client calls) or to the real in-process model.

// llmStub is an OpenAI-compatible chat server whose answers the test can
// hold: while held, each request waits until the test releases it.
type llmStub struct {
	URL string

	mu       sync.Mutex // guards the fields below
	gate     chan struct{}
	requests []stubRequest
	waiting  int
}

type stubRequest struct {
	Prompt    string
	Estimate  int // the messages' tokens as the server estimates them: UTF-8 bytes / 2, rounded up
	MaxTokens int
}

func startLLMStub(t *testing.T) *llmStub {
	t.Helper()
	s := &llmStub{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() { s.release(); srv.Close() })
	s.URL = srv.URL + "/v1"
	return s
}

func (s *llmStub) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		MaxTokens int  `json:"max_tokens"`
		Stream    bool `json:"stream"`
		Messages  []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "stub: "+err.Error(), http.StatusBadRequest)
		return
	}
	var prompt strings.Builder
	estimate := 0
	for _, m := range body.Messages {
		prompt.WriteString(m.Content + "\n")
		estimate += (len(m.Content) + 1) / 2
	}
	s.mu.Lock()
	s.requests = append(s.requests, stubRequest{prompt.String(), estimate, body.MaxTokens})
	gate := s.gate
	s.waiting++
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	}
	s.mu.Lock()
	s.waiting--
	s.mu.Unlock()
	const answer = `{"stance":"NEUTRAL","confidence":"Low","reasons":["The forecast moves little."]}`
	const usage = `"usage":{"prompt_tokens":10,"completion_tokens":10,"total_tokens":20}`
	now := time.Now().Unix()
	if body.Stream { // the analyst streams its text: the answer in two pieces, then the usage
		w.Header().Set("Content-Type", "text/event-stream")
		for _, piece := range []string{answer[:20], answer[20:]} {
			content, _ := json.Marshal(piece)
			fmt.Fprintf(w, `data: {"id":"x","object":"chat.completion.chunk","created":%d,"model":"stub","choices":[{"index":0,"delta":{"role":"assistant","content":%s},"finish_reason":null}]}`+"\n\n", now, content)
		}
		fmt.Fprintf(w, `data: {"id":"x","object":"chat.completion.chunk","created":%d,"model":"stub","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n", now)
		fmt.Fprintf(w, `data: {"id":"x","object":"chat.completion.chunk","created":%d,"model":"stub","choices":[],%s}`+"\n\ndata: [DONE]\n\n", now, usage)
		return
	}
	content, _ := json.Marshal(answer)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"id":"x","object":"chat.completion","created":%d,"model":"stub","choices":[{"index":0,"finish_reason":"stop",`+
		`"message":{"role":"assistant","content":%s}}],%s}`, now, content, usage)
}

// hold makes every later request wait for release or one releaseOne.
func (s *llmStub) hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = make(chan struct{})
}

// releaseOne lets one held request answer.
func (s *llmStub) releaseOne() { s.gate <- struct{}{} }

// release answers every held request and stops holding.
func (s *llmStub) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
}

func (s *llmStub) state() (requests []stubRequest, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubRequest(nil), s.requests...), s.waiting
}

// count is how many requests' prompts contain marker.
func (s *llmStub) count(marker string) int {
	reqs, _ := s.state()
	n := 0
	for _, r := range reqs {
		if strings.Contains(r.Prompt, marker) {
			n++
		}
	}
	return n
}

// Prompt markers: the performance analyst's, the writer's and the answer's prompts (agent/prompts.py).
const (
	performancePrompt = "In 2 or 3 sentences"
	writerPrompt      = "Answer in JSON only, with:"
	answerPrompt      = "Question: "
)

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
	}
}

var (
	trainedOnce sync.Once
	trainedDir  string
	trainedErr  string
)

// tinyEnv is the environment of the servers below: tiny trainings on bundled data, no news.
func tinyEnv(extra map[string]string) map[string]string {
	env := map[string]string{
		"DATA_SOURCE": "bundled", "NEWS_SOURCE": "none", "MLFLOW_DISABLE": "1",
		"PARENT_EPOCHS": "1", "CHILD_EPOCHS": "1", "PARENT_START_DATE": "2016-01-01",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// withTrainedAAPL returns a fresh data folder holding a tiny AAPL model
// (trained once per test binary, then copied).
func withTrainedAAPL(t *testing.T) string {
	t.Helper()
	trainedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stockagent-trained-")
		if err != nil {
			trainedErr = err.Error()
			return
		}
		trainedDir = dir
		srv := startServer(t, dir, tinyEnv(nil))
		defer func() { srv.cmd.Process.Kill(); <-srv.exited }() //nolint:errcheck // killed: its exit error is expected
		if status, body := srv.post(t, "/train-child", `{"ticker":"AAPL"}`); status != 200 {
			trainedErr = fmt.Sprintf("train-child: %d %s", status, body)
			return
		}
		if rec := waitStatus(t, srv, "aapl", 5*time.Minute); rec.Status != "completed" {
			trainedErr = fmt.Sprintf("training: %+v", rec)
		}
	})
	if trainedErr != "" {
		t.Fatal(trainedErr)
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", trainedDir+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the trained data folder: %v %s", err, out)
	}
	os.RemoveAll(dir + "/logs")
	return dir
}

type answer struct {
	status int
	header http.Header
	body   string
	err    error
}

// send posts body to path with ctx, checking the answer against the OpenAPI document.
func (s *server) send(t *testing.T, ctx context.Context, path, body string, header map[string]string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	s.conform(t, "POST", path, res, b)
	return answer{status: res.StatusCode, header: res.Header, body: string(b)}
}

// metric reads one series of the server's /metrics, name{label="value",…}
// (0 when absent).
func (s *server) metric(t *testing.T, series string) float64 {
	t.Helper()
	_, body := s.get(t, "/metrics")
	page, err := scrape.ParseString(body)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := page.Value(series)
	return v
}

const agentCancelled = `stockagent_bridge_calls_total{function="` + pyapi.FuncAnalyze + `",lane="agent",outcome="cancelled"}`

// Finding 07: a long non-ASCII question never makes a 500. Counted in the
// in-process model's own tokens it is a 422 naming the limit; every prompt
// that reaches an LLM fits its context, the thread's history shortened.
func TestFinding07ContextOverflow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real models")
	}
	dataDir := withTrainedAAPL(t)

	t.Run("in-process model", func(t *testing.T) {
		srv := startServer(t, dataDir, tinyEnv(nil))
		defer srv.cmd.Process.Kill()
		for name, q := range map[string]string{
			"2,000 bytes":      strings.Repeat("Щ", 1000), // passes the character limit; ~2,000 tokens
			"2,000 characters": strings.Repeat("Ж", 2000),
		} {
			status, body := srv.post(t, "/analyze", fmt.Sprintf(`{"ticker":"AAPL","question":%q}`, q))
			if status != 422 || !strings.Contains(body, "the limit is 512 tokens") || !strings.Contains(body, "model's tokenizer") {
				t.Errorf("%s question: %d %.300s, want 422 naming the token limit", name, status, body)
			}
		}
	})

	t.Run("prompts fit the context", func(t *testing.T) {
		stub := startLLMStub(t)
		const ctxTokens = 1024
		srv := startServer(t, dataDir, tinyEnv(map[string]string{
			"LLM_BASE_URL": stub.URL, "LLM_MODEL": "stub", "LLM_CTX": strconv.Itoa(ctxTokens),
		}))
		defer srv.cmd.Process.Kill()
		thread := `"thread_id":"long-thread"`
		if status, body := srv.post(t, "/analyze", `{"ticker":"AAPL",`+thread+`}`); status != 200 {
			t.Fatalf("report: %d %.300s", status, body)
		}
		for i := range 5 { // a long conversation, then a question near the limit
			q := fmt.Sprintf("Вопрос %d: %s", i, strings.Repeat("что дальше с ценой и рисками? ", 6))
			if status, body := srv.post(t, "/analyze", fmt.Sprintf(`{"ticker":"AAPL",%s,"question":%q}`, thread, q)); status != 200 {
				t.Fatalf("question %d: %d %.300s", i, status, body)
			}
		}
		reqs, _ := stub.state()
		last := reqs[len(reqs)-1]
		if !strings.Contains(last.Prompt, answerPrompt+"Вопрос 4") || !strings.Contains(last.Prompt, "…") {
			t.Errorf("the last answer prompt kept the question whole and shortened the history? %.2000s", last.Prompt)
		}
		for _, r := range reqs {
			// The messages, the answer and the chat template (32 tokens, agent/budget.py).
			if used := r.Estimate + r.MaxTokens + 32; used > ctxTokens || r.MaxTokens <= 0 {
				t.Errorf("a prompt of %d tokens with max_tokens %d does not fit %d tokens", r.Estimate, r.MaxTokens, ctxTokens)
			}
		}
	})
}

// Finding 08: a thread belongs to the identity that created it (another gets
// 404), the semantic cache never answers a thread's request nor hands out a
// thread, and no thread id or question reaches the logs.
func TestFinding08Threads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real models")
	}
	dataDir := withTrainedAAPL(t)
	stub := startLLMStub(t)
	srv := startServer(t, dataDir, tinyEnv(map[string]string{
		"LLM_BASE_URL": stub.URL, "LLM_MODEL": "stub", "API_KEYS": "alice-key,bob-key",
	}))
	defer srv.cmd.Process.Kill()
	alice, bob := map[string]string{"X-API-Key": "alice-key"}, map[string]string{"X-API-Key": "bob-key"}
	const secretThread, secretQuestion = "thread-7f3a9c-private", "What about the ZX81 contract?"
	post := func(who map[string]string, body string) (int, analysisAnswer) {
		t.Helper()
		res := srv.send(t, context.Background(), "/analyze", body, who)
		if res.err != nil {
			t.Fatal(res.err)
		}
		if res.status == 500 {
			t.Fatalf("500: %s", res.body)
		}
		var a analysisAnswer
		if err := json.Unmarshal([]byte(res.body), &a); err != nil {
			t.Fatalf("%v: %.300s", err, res.body)
		}
		return res.status, a
	}

	onThread := fmt.Sprintf(`{"ticker":"AAPL","thread_id":%q}`, secretThread)
	question := fmt.Sprintf(`{"ticker":"AAPL","thread_id":%q,"question":%q}`, secretThread, secretQuestion)
	if status, a := post(alice, onThread); status != 200 || a.ThreadID != secretThread || a.Cached {
		t.Fatalf("alice's report on her thread: %d %+v", status, a)
	}
	if status, a := post(alice, question); status != 200 || a.Answer == "" {
		t.Fatalf("alice's question on her thread: %d %+v", status, a)
	}
	for _, body := range []string{onThread, question} {
		if status, _ := post(bob, body); status != 404 {
			t.Errorf("bob on alice's thread: %d, want 404", status)
		}
	}

	// The semantic cache: alice's plain report is cached without her thread.
	status, first := post(alice, `{"ticker":"AAPL"}`)
	if status != 200 || first.Cached || first.ThreadID == "" {
		t.Fatalf("alice's plain report: %d %+v", status, first)
	}
	if status, hit := post(bob, `{"ticker":"AAPL"}`); status != 200 || !hit.Cached || hit.ThreadID != "" {
		t.Errorf("bob's identical request: %d cached=%v thread=%q, want a cache hit without alice's thread", status, hit.Cached, hit.ThreadID)
	}
	if status, _ := post(bob, fmt.Sprintf(`{"ticker":"AAPL","thread_id":%q,"question":"Why?"}`, first.ThreadID)); status != 404 {
		t.Errorf("bob on the thread of alice's plain report: %d, want 404", status)
	}
	if status, own := post(bob, `{"ticker":"AAPL","thread_id":"bobs-thread"}`); status != 200 || own.Cached || own.ThreadID != "bobs-thread" {
		t.Errorf("a request on a thread was answered from the cache: %d cached=%v", status, own.Cached)
	}

	logFile, err := os.ReadFile(dataDir + "/logs/server.log")
	if err != nil {
		t.Fatal(err)
	}
	for _, logs := range []string{srv.logs(), string(logFile)} {
		for _, secret := range []string{secretThread, first.ThreadID, secretQuestion, "ZX81"} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
	}
}

// Finding 09: analyses cannot starve trainings, are bounded (503 with
// Retry-After when the agent lane's queue is full), are shared when
// identical, stop when their last client disconnects, and end at
// ANALYZE_TIMEOUT.
func TestFinding09AnalysesCannotStarve(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real models")
	}
	dataDir := withTrainedAAPL(t)
	stub := startLLMStub(t)
	env := tinyEnv(map[string]string{"LLM_BASE_URL": stub.URL, "LLM_MODEL": "stub", "AGENT_WORKERS": "2", "AGENT_QUEUE": "1"})
	srv := startServer(t, dataDir, env)
	defer srv.cmd.Process.Kill()
	analyze := func(ctx context.Context, question string) answer {
		return srv.send(t, ctx, "/analyze", fmt.Sprintf(`{"ticker":"AAPL","question":%q}`, question), nil)
	}

	t.Run("a training starts while analyses wait", func(t *testing.T) {
		stub.hold()
		answers := make(chan answer, 5)
		for i := range 5 { // two run, one waits, two are refused
			go func() { answers <- analyze(context.Background(), fmt.Sprintf("Question %d?", i)) }()
		}
		refused := 0
		waitFor(t, "two analyses held at the LLM and two refused", 2*time.Minute, func() bool {
			select {
			case a := <-answers:
				if a.status != 503 || a.header.Get("Retry-After") == "" {
					t.Fatalf("an analysis beyond the queue: %d %v %s, want 503 with Retry-After", a.status, a.err, a.body)
				}
				refused++
			default:
			}
			_, waiting := stub.state()
			return waiting == 2 && refused == 2
		})
		if status, body := srv.post(t, "/train-child", `{"ticker":"AAPL","force":true,"epochs":1}`); status != 200 {
			t.Fatalf("train-child: %d %s", status, body)
		}
		if rec := waitStatus(t, srv, "aapl", 3*time.Minute); rec.Status != "completed" {
			t.Fatalf("the training behind the analyses: %+v", rec)
		}
		if _, waiting := stub.state(); waiting != 2 {
			t.Fatalf("the analyses did not wait at the LLM during the training (%d waiting): the test proved nothing", waiting)
		}
		stub.release()
		for range 3 {
			if a := <-answers; a.status != 200 {
				t.Errorf("a queued analysis after the release: %d %v %.300s", a.status, a.err, a.body)
			}
		}
	})

	t.Run("identical analyses share a run that stops when its clients leave", func(t *testing.T) {
		stub.hold()
		base := stub.count(performancePrompt)
		writes := stub.count(writerPrompt)
		cancelled := srv.metric(t, agentCancelled)
		ctxA, leaveA := context.WithCancel(context.Background())
		ctxB, leaveB := context.WithCancel(context.Background())
		done := make(chan answer, 2)
		go func() { done <- analyze(ctxA, "Shared question?") }()
		go func() { done <- analyze(ctxB, "Shared question?") }()
		waitFor(t, "the shared run at the LLM", time.Minute, func() bool { _, w := stub.state(); return w == 1 })
		leaveA()
		<-done
		stub.releaseOne() // the run goes on for B: its next LLM call comes
		waitFor(t, "the shared run's next LLM call", time.Minute, func() bool { return stub.count(writerPrompt) == writes+1 })
		leaveB()
		<-done
		waitFor(t, "the run cancelled", time.Minute, func() bool { return srv.metric(t, agentCancelled) > cancelled })
		stub.release()
		waitFor(t, "the Python side stopped", time.Minute, func() bool {
			return strings.Count(srv.logs(), "analyst stopped at a cancel check") >= 1
		})
		if n := stub.count(performancePrompt) - base; n != 1 {
			t.Errorf("two identical analyses made %d runs, want 1", n)
		}
		if n := stub.count(writerPrompt) - writes; n != 1 {
			t.Errorf("after its last client left, the run made %d more writer calls", n-1)
		}
		if n := stub.count(answerPrompt + "Shared"); n != 0 {
			t.Errorf("after its last client left, the run answered the question")
		}
	})

	t.Run("ANALYZE_TIMEOUT", func(t *testing.T) {
		srv.cmd.Process.Kill()
		env["ANALYZE_TIMEOUT"] = "2s"
		timed := startServer(t, dataDir, env)
		defer timed.cmd.Process.Kill()
		stub.hold()
		defer stub.release()
		a := timed.send(t, context.Background(), "/analyze", `{"ticker":"AAPL","question":"Slow?"}`, nil)
		if a.status != 504 || !strings.Contains(a.body, "ANALYZE_TIMEOUT (2s)") {
			t.Fatalf("an analysis past ANALYZE_TIMEOUT: %d %v %s", a.status, a.err, a.body)
		}
	})
}
