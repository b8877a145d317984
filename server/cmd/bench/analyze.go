package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// analyzeTimeout bounds one analysis: tens of seconds on two cores, more
// for the first, which loads the model.
const analyzeTimeout = 5 * time.Minute

// AnalyzeResult is the analyze workload: cache-miss analyses, one after
// another, each on a new thread (a thread's turn is never answered from the
// semantic cache), asked for as a stream of server-sent events.
type AnalyzeResult struct {
	Analyses int `json:"analyses"`
	// Streamed is false when the server answered with plain JSON: the first
	// text then arrives with the report, so the first token and field
	// times are the whole analysis.
	Streamed bool `json:"streamed"`
	// Latency is each analysis end to end (the first loads the model).
	Latency Latency `json:"latency"`
	// FirstToken and FirstField count from the cache miss being known (the
	// stage "agent" event) to the first text the model wrote (a token, else a
	// checked field, else the report) and to its first checked field (else
	// the report).
	FirstToken Latency `json:"first_token"`
	FirstField Latency `json:"first_field"`
	// CompletionTokens is each analysis' generated tokens, the sum over its
	// nodes; TokensPerAnalysis their mean.
	CompletionTokens  []int   `json:"completion_tokens"`
	TokensPerAnalysis float64 `json:"completion_tokens_per_analysis"`
	// PromptEvaluatedPerAnalysis is the mean of the prompt tokens the model
	// computed per analysis (a node's prompt_tokens_evaluated: what it did not
	// reuse from its context; a server that does not say counts its whole
	// prompt_tokens).
	PromptEvaluatedPerAnalysis float64 `json:"prompt_evaluated_per_analysis"`
}

// sseEvent is one server-sent event: its name ("message" when the stream
// names none) and its data lines joined by newlines.
type sseEvent struct {
	Name string
	Data []byte
}

// readSSE calls fn with each event of r as it arrives, until r ends or fn
// returns false. Comment lines (": keep-alive") are skipped, and an event
// the stream ends in the middle of is dropped, as the format says.
func readSSE(r io.Reader, fn func(sseEvent) bool) error {
	sc := bufio.NewScanner(r) // ScanLines drops a CR before the LF too
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var (
		name string
		data [][]byte
		seen bool
	)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if seen {
				ev := sseEvent{Name: cmp.Or(name, "message"), Data: bytes.Join(data, []byte("\n"))}
				if !fn(ev) {
					return nil
				}
			}
			name, data, seen = "", nil, false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			name, seen = string(value), true
		case "data":
			data, seen = append(data, bytes.Clone(value)), true
		}
	}
	return sc.Err()
}

// analysisRun is what one analysis measured.
type analysisRun struct {
	total, firstToken, firstField     time.Duration
	streamed                          bool
	completionTokens, promptEvaluated int
}

// streamTimer follows one analysis' events: when the cache miss became known
// and when the model's first text and first checked field arrived.
type streamTimer struct {
	start                     time.Time
	miss, firstText, firstFld time.Time
	report                    []byte
	failure                   error
}

// event takes one event arriving at t and says whether more should follow.
func (s *streamTimer) event(ev sseEvent, t time.Time) bool {
	switch ev.Name {
	case "stage":
		var st struct{ Stage string }
		if json.Unmarshal(ev.Data, &st) == nil && st.Stage == "agent" && s.miss.IsZero() {
			s.miss = t
		}
	case "token":
		s.text(t, false)
	case "field":
		var f struct{ Field string }
		// The data section is rendered from the facts before any LLM call: not the model's text.
		if json.Unmarshal(ev.Data, &f) == nil && f.Field != "data" {
			s.text(t, true)
		}
	case "report":
		s.text(t, true)
		s.report = ev.Data
		return false
	case "training":
		s.failure = fmt.Errorf("the model must be trained first: %.300s", ev.Data)
		return false
	case "error":
		s.failure = fmt.Errorf("error event: %.300s", ev.Data)
		return false
	}
	return true
}

func (s *streamTimer) text(t time.Time, field bool) {
	if s.firstText.IsZero() {
		s.firstText = t
	}
	if field && s.firstFld.IsZero() {
		s.firstFld = t
	}
}

// since is the time from the known cache miss (the request's start when the
// stream never said) to t.
func (s *streamTimer) since(t time.Time) time.Duration {
	if s.miss.IsZero() {
		return t.Sub(s.start)
	}
	return t.Sub(s.miss)
}

// analyzeOnce asks url for one analysis on a new thread, as a stream, and
// times it; a server that answers plain JSON is timed as one whole.
func analyzeOnce(ctx context.Context, c *http.Client, url, threadID string) (analysisRun, error) {
	ctx, cancel := context.WithTimeout(ctx, analyzeTimeout)
	defer cancel()
	body := mustJSON(map[string]string{"ticker": benchTicker, "thread_id": threadID})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return analysisRun{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	s := &streamTimer{start: time.Now()}
	res, err := c.Do(req)
	if err != nil {
		return analysisRun{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1000))
		return analysisRun{}, fmt.Errorf("status %d: %.300s", res.StatusCode, b)
	}
	media, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	run := analysisRun{streamed: media == "text/event-stream"}
	if run.streamed {
		err = readSSE(res.Body, func(ev sseEvent) bool { return s.event(ev, time.Now()) })
		if err == nil && s.failure == nil && s.report == nil {
			err = errors.New("the stream ended without a report")
		}
	} else {
		s.report, err = io.ReadAll(res.Body)
		s.text(time.Now(), true)
	}
	if err = errors.Join(err, s.failure); err != nil {
		return run, err
	}
	run.total = time.Since(s.start)
	run.firstToken, run.firstField = s.since(s.firstText), s.since(s.firstFld)
	var report struct {
		Cached bool `json:"cached"`
		Nodes  []struct {
			CompletionTokens int  `json:"completion_tokens"`
			PromptTokens     int  `json:"prompt_tokens"`
			PromptEvaluated  *int `json:"prompt_tokens_evaluated"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(s.report, &report); err != nil {
		return run, fmt.Errorf("the report: %w: %.300s", err, s.report)
	}
	if report.Cached || len(report.Nodes) == 0 {
		return run, fmt.Errorf("not a cache miss run by the agent: %.300s", s.report)
	}
	for _, n := range report.Nodes {
		run.completionTokens += n.CompletionTokens
		run.promptEvaluated += *cmp.Or(n.PromptEvaluated, &n.PromptTokens)
	}
	return run, nil
}

// analyses runs n cache-miss analyses on srv, one after another, each on a
// thread of its own.
func analyses(ctx context.Context, srv *serverProc, n int, progress io.Writer) (*AnalyzeResult, error) {
	c := &http.Client{}
	res := &AnalyzeResult{Analyses: n, Streamed: true}
	var total, token, field []time.Duration
	stamp := time.Now().UTC().Format("20060102T150405")
	for i := range n {
		fmt.Fprintf(progress, "    analysis %d of %d ... ", i+1, n)
		run, err := analyzeOnce(ctx, c, srv.base+"/analyze", fmt.Sprintf("bench-%s-%d", stamp, i))
		if err != nil {
			fmt.Fprintln(progress, "failed")
			return nil, fmt.Errorf("analysis %d: %w", i+1, err)
		}
		fmt.Fprintf(progress, "%s, first token %s, %d tokens\n", fmtMS(ms(run.total)), fmtMS(ms(run.firstToken)), run.completionTokens)
		res.Streamed = res.Streamed && run.streamed
		total, token, field = append(total, run.total), append(token, run.firstToken), append(field, run.firstField)
		res.CompletionTokens = append(res.CompletionTokens, run.completionTokens)
		res.TokensPerAnalysis += float64(run.completionTokens) / float64(n)
		res.PromptEvaluatedPerAnalysis += float64(run.promptEvaluated) / float64(n)
	}
	res.Latency, res.FirstToken, res.FirstField = summarize(total), summarize(token), summarize(field)
	if !res.Streamed {
		fmt.Fprintln(progress, "    (the server answered plain JSON: the first token and field are the whole analysis)")
	}
	return res, nil
}
