package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A stream as the analysis sends it, with what the format allows around
// it: a keep-alive comment, CRLF line ends, an event split over two data
// lines, one without a name, and an event the stream ends in the middle of.
const cannedStream = ": keep-alive\n\n" +
	"event: stage\ndata: {\"stage\": \"forecast\", \"elapsed_ms\": 3}\n\n" +
	"event: stage\r\ndata: {\"stage\": \"agent\", \"elapsed_ms\": 40}\r\n\r\n" +
	"event: field\ndata: {\"field\": \"data\", \"text\": \"AAPL closed at 190.\", \"provisional\": false}\n\n" +
	"event: token\ndata: {\"node\": \"writer\",\ndata:  \"text\": \"Apple\", \"provisional\": true}\n\n" +
	"data: unnamed\n\n" +
	"event: field\ndata: {\"field\": \"stance\", \"text\": \"BULLISH\", \"provisional\": false}\n\n" +
	"event: report\ndata: {\"ticker\": \"AAPL\", \"nodes\": [{\"node\": \"writer\", \"completion_tokens\": 120}, {\"node\": \"critic\", \"completion_tokens\": 30}]}\n\n" +
	"event: stage\ndata: {\"stage\": \"cut"

func TestReadSSEParsesTheStream(t *testing.T) {
	var got []string
	err := readSSE(strings.NewReader(cannedStream), func(ev sseEvent) bool {
		got = append(got, ev.Name+" "+string(ev.Data))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`stage {"stage": "forecast", "elapsed_ms": 3}`,
		`stage {"stage": "agent", "elapsed_ms": 40}`,
		`field {"field": "data", "text": "AAPL closed at 190.", "provisional": false}`,
		"token {\"node\": \"writer\",\n \"text\": \"Apple\", \"provisional\": true}",
		"message unnamed",
		`field {"field": "stance", "text": "BULLISH", "provisional": false}`,
		`report {"ticker": "AAPL", "nodes": [{"node": "writer", "completion_tokens": 120}, {"node": "critic", "completion_tokens": 30}]}`,
	}
	if strings.Join(got, "\n---\n") != strings.Join(want, "\n---\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
	}

	// fn returning false stops the reading.
	n := 0
	if err := readSSE(strings.NewReader(cannedStream), func(sseEvent) bool { n++; return n < 2 }); err != nil || n != 2 {
		t.Errorf("stopped after %d events, %v", n, err)
	}
}

// The timer counts from the agent stage: to the first token (the data field,
// rendered in code, does not count) and to the first checked field of the model.
func TestStreamTimerCountsFromTheCacheMiss(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := &streamTimer{start: t0}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	i := 0
	times := []int{5, 100, 150, 400, 450, 2000, 2100}
	err := readSSE(strings.NewReader(cannedStream), func(ev sseEvent) bool {
		more := s.event(ev, at(times[i]))
		i++
		return more
	})
	if err != nil || s.failure != nil {
		t.Fatal(err, s.failure)
	}
	if got := s.since(s.firstText); got != 300*time.Millisecond {
		t.Errorf("first token after %s, want 300ms", got)
	}
	if got := s.since(s.firstFld); got != 1900*time.Millisecond {
		t.Errorf("first checked field after %s, want 1.9s", got)
	}
	if s.report == nil {
		t.Error("the report was not kept")
	}

	for name, ev := range map[string]sseEvent{
		"error":    {Name: "error", Data: []byte(`{"detail": "boom", "status": 500}`)},
		"training": {Name: "training", Data: []byte(`{"status": "training"}`)},
	} {
		s := &streamTimer{start: t0}
		if s.event(ev, t0) || s.failure == nil || !strings.Contains(s.failure.Error(), string(ev.Data)) {
			t.Errorf("%s event: more %v, failure %v", name, true, s.failure)
		}
	}
}

// analyzeOnce against canned servers: one that streams, one that answers
// plain JSON (whose first token is the whole analysis), one that fails
// mid-stream and one whose stream ends without a report.
func TestAnalyzeOnceAgainstCannedServers(t *testing.T) {
	report := `{"ticker":"AAPL","nodes":[{"node":"writer","completion_tokens":120},{"node":"critic","completion_tokens":30}]}`
	var gotAccept, gotBody string
	streams := map[string]string{
		"/stream": cannedStream,
		"/error":  "event: stage\ndata: {\"stage\": \"agent\"}\n\nevent: error\ndata: {\"detail\": \"LLM timed out\", \"status\": 504}\n\n",
		"/short":  "event: stage\ndata: {\"stage\": \"agent\"}\n\n",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAccept = r.Header.Get("Accept")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		if s, ok := streams[r.URL.Path]; ok {
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			_, _ = w.Write([]byte(s))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(report))
	}))
	defer srv.Close()
	c := srv.Client()
	ctx := context.Background()

	run, err := analyzeOnce(ctx, c, srv.URL+"/stream", "t1")
	if err != nil {
		t.Fatal(err)
	}
	if !run.streamed || run.completionTokens != 150 || run.firstToken <= 0 || run.firstToken > run.firstField || run.firstField > run.total {
		t.Errorf("streamed: %+v", run)
	}
	if gotAccept != "text/event-stream" {
		t.Errorf("Accept %q", gotAccept)
	}

	run, err = analyzeOnce(ctx, c, srv.URL+"/plain", "t2")
	if err != nil {
		t.Fatal(err)
	}
	if run.streamed || run.completionTokens != 150 || run.firstToken != run.firstField || run.firstToken <= 0 || run.firstToken > run.total {
		t.Errorf("plain JSON: %+v", run)
	}
	if gotBody != `{"thread_id":"t2","ticker":"AAPL"}` {
		t.Errorf("request body %s", gotBody)
	}

	if _, err := analyzeOnce(ctx, c, srv.URL+"/error", "t3"); err == nil || !strings.Contains(err.Error(), "LLM timed out") {
		t.Errorf("error event: %v", err)
	}
	if _, err := analyzeOnce(ctx, c, srv.URL+"/short", "t4"); err == nil || !strings.Contains(err.Error(), "without a report") {
		t.Errorf("cut stream: %v", err)
	}
}
