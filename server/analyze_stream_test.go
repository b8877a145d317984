package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// sseEvent is one server-sent event of a streamed /analyze, with when it came.
type sseEvent struct {
	Name string
	Data string
	At   time.Time
}

func (e sseEvent) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(e.Data), v); err != nil {
		t.Fatalf("%s event: %v\n%.300s", e.Name, err, e.Data)
	}
}

// stream is what a streamed /analyze answered: its status, its events in
// order (a JSON answer's body when it was none) and whether the stream
// ended after a last event.
type stream struct {
	status int
	body   string
	events []sseEvent
}

// names are the events' names, a stage event named by its stage ("stage:agent").
func (s stream) names() []string {
	var out []string
	for _, e := range s.events {
		name := e.Name
		if e.Name == "stage" {
			var v struct{ Stage string }
			_ = json.Unmarshal([]byte(e.Data), &v)
			name += ":" + v.Stage
		}
		out = append(out, name)
	}
	return out
}

// index is the position of the first event named name (as names writes it), -1 if none.
func (s stream) index(name string) int { return slices.Index(s.names(), name) }

// streamAnalyze posts body to /analyze asking for events, reads them as they
// come and calls each (nil: no one) after each; each returning false stops
// the read (the client leaves). The whole body is checked against the
// OpenAPI document.
func (s *server) streamAnalyze(t *testing.T, ctx context.Context, body string, each func(sseEvent) bool) stream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/analyze", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := stream{status: res.StatusCode}
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(res.Body)
		out.body = string(b)
		s.conform(t, "POST", "/analyze", res, b)
		return out
	}
	var raw bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(res.Body, &raw))
	sc.Buffer(make([]byte, 64<<10), 8<<20) // a report with its forecast is one long line
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.Data = strings.TrimPrefix(line, "data: ")
		case line == "" && cur.Name != "":
			cur.At = time.Now()
			out.events = append(out.events, cur)
			if each != nil && !each(cur) {
				return out
			}
			cur = sseEvent{}
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("reading the stream: %v", err)
	}
	s.conform(t, "POST", "/analyze", res, raw.Bytes())
	return out
}

// The stages of a streamed analysis that misses the cache, in order; a
// question skips the cache and ends with the answer.
var (
	missStages     = []string{"stage:forecast", "stage:news", "stage:cache", "stage:agent", "stage:performance_analyst", "stage:writer", "stage:critic", "stage:finalize"}
	questionStages = []string{"stage:forecast", "stage:news", "stage:agent", "stage:performance_analyst", "stage:writer", "stage:critic", "stage:finalize", "stage:answer"}
)

// checkStreamedMiss checks a streamed analysis that missed the cache: the
// stages in order, the data field and at least one token before the report,
// the report last, of the plain answer's schema; it returns the report.
func checkStreamedMiss(t *testing.T, st stream, order []string) analysisAnswer {
	t.Helper()
	names := st.names()
	if st.status != 200 || len(st.events) == 0 || names[len(names)-1] != "report" {
		t.Fatalf("a streamed analysis: %d %.300s, events %v", st.status, st.body, names)
	}
	last := len(names) - 1
	at := -1
	for _, name := range order {
		i := st.index(name)
		if i <= at {
			t.Fatalf("%s at %d, not after the stage before it: %v", name, i, names)
		}
		at = i
	}
	data, token := st.index("field"), st.index("token")
	if token < st.index("stage:agent") || token > last {
		t.Fatalf("no token between the agent stage and the report: %v", names)
	}
	var field struct {
		Field, Text string
		Provisional bool
	}
	st.events[data].decode(t, &field)
	if field.Field != "data" || field.Provisional || data > st.index("stage:writer") {
		t.Fatalf("the first field is %+v at %d, want the data section before the writer: %v", field, data, names)
	}
	// The report is the plain call's answer (its schema: the OpenAPI check of a
	// JSON answer), and the data field is its own data section.
	raw := st.events[last].Data
	if err := openAPI(t).Check("POST", "/analyze", 200, http.Header{"Content-Type": {"application/json"}}, []byte(raw)); err != nil {
		t.Fatalf("the report event is not the plain answer: %v", err)
	}
	var report analysisAnswer
	st.events[last].decode(t, &report)
	if report.Cached || !strings.HasPrefix(report.FinalReport, field.Text) {
		t.Fatalf("the report (cached=%v) does not start with the streamed data field", report.Cached)
	}
	checked := map[string]string{}
	for _, e := range st.events[:last] {
		if e.Name == "field" {
			e.decode(t, &field)
			checked[field.Field] = field.Text
		}
	}
	if checked["stance"] != report.Recommendation || checked["confidence"] != report.Confidence {
		t.Fatalf("streamed fields %v, report %s/%s", checked, report.Recommendation, report.Confidence)
	}
	agent := st.events[st.index("stage:agent")].At
	t.Logf("after the cache miss: first event %s, first token %s, data field %s, report %s",
		st.events[st.index("stage:agent")+1].At.Sub(agent).Round(time.Millisecond),
		st.events[token].At.Sub(agent).Round(time.Millisecond), st.events[data].At.Sub(agent).Round(time.Millisecond),
		st.events[last].At.Sub(agent).Round(time.Millisecond))
	return report
}

// /analyze with Accept: text/event-stream against the real binary, with an
// LLM stub that streams its answer: a cache miss streams stages, tokens and
// fields before the report; the same request is then a cache hit streamed
// as its report at once, with no agent call; input errors stay JSON; a
// client that leaves mid-stream cancels the run.
func TestAnalyzeStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real server")
	}
	stub := startLLMStub(t)
	srv := startServer(t, withTrainedAAPL(t), tinyEnv(map[string]string{"LLM_BASE_URL": stub.URL, "LLM_MODEL": "stub"}))
	srv.checkResponses(t)

	first := checkStreamedMiss(t, srv.streamAnalyze(t, context.Background(), `{"ticker":"AAPL"}`, nil), missStages)
	if n := srv.metric(t, `stockagent_analysis_stream_first_seconds_count{kind="token"}`); n != 1 {
		t.Errorf("time to the first token measured %v times, want 1", n)
	}

	calls := llmCalls(t, srv)
	hit := srv.streamAnalyze(t, context.Background(), `{"ticker":"AAPL"}`, nil)
	if names := hit.names(); !slices.Equal(names, []string{"stage:forecast", "stage:news", "stage:cache", "report"}) {
		t.Fatalf("a cache hit streamed %v", names)
	}
	var cached analysisAnswer
	hit.events[3].decode(t, &cached)
	if !cached.Cached || cached.FinalReport != first.FinalReport || llmCalls(t, srv) != calls {
		t.Fatalf("the cache hit: cached=%v, same report %v, %d agent calls", cached.Cached, cached.FinalReport == first.FinalReport, llmCalls(t, srv)-calls)
	}

	if bad := srv.streamAnalyze(t, context.Background(), `{"ticker":"../etc"}`, nil); bad.status != 400 || !strings.Contains(bad.body, `"detail"`) {
		t.Fatalf("a bad ticker, streamed: %d %s", bad.status, bad.body)
	}

	stub.hold()
	defer stub.release()
	cancelled := srv.metric(t, agentCancelled)
	ctx, leave := context.WithCancel(context.Background())
	defer leave()
	left := make(chan stream, 1)
	go func() {
		left <- srv.streamAnalyze(t, ctx, `{"ticker":"AAPL","question":"Will it hold?"}`, nil)
	}()
	waitFor(t, "the streamed run at the LLM", time.Minute, func() bool { _, w := stub.state(); return w >= 1 })
	leave()
	if st := <-left; st.index("stage:agent") < 0 {
		t.Fatalf("the stream before the client left: %v", st.names())
	}
	waitFor(t, "the run cancelled", time.Minute, func() bool { return srv.metric(t, agentCancelled) > cancelled })
	stub.release()
	waitFor(t, "the Python side stopped", time.Minute, func() bool {
		return strings.Contains(srv.logs(), "analyst stopped at a cancel check")
	})
}

// The default model (SmolLM2 in process by llama.cpp) streams its text token
// by token: a first analysis (it loads the model), then a question, a miss
// on the loaded model. The times from the miss are logged, never asserted.
func TestAnalyzeStreamsTheDefaultModel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real LLM")
	}
	srv := startServer(t, withTrainedAAPL(t), tinyEnv(nil))
	srv.checkResponses(t)
	first := checkStreamedMiss(t, srv.streamAnalyze(t, context.Background(), `{"ticker":"AAPL"}`, nil), missStages)
	if first.LLM.Provider != "llama-cpp" {
		t.Fatalf("the report is by %q, want the in-process llama-cpp", first.LLM.Provider)
	}
	st := srv.streamAnalyze(t, context.Background(), `{"ticker":"AAPL","question":"What is the main risk?"}`, nil)
	checkStreamedMiss(t, st, questionStages)
	tokens := 0
	for _, e := range st.events {
		if e.Name == "token" {
			tokens++
		}
	}
	if tokens < 3 {
		t.Fatalf("the model's text came in %d token events, want it streamed", tokens)
	}
}
