// Package analysis is the /analyze flow: the forecast (prediction cache or
// inference lane), the headlines (cached per hour), a semantic cache look-up
// made by Go itself (the cache text's embedding against the vector store),
// and on a miss the LangGraph analyst on the agent lane, whose report and
// vector are stored for the next similar request.
//
// Conversation threads belong to the caller that created them (threads.go);
// the semantic cache answers only requests that name no thread and no
// question, and what it stores carries no thread. Identical concurrent
// analyses share one run, which stops when its last caller goes away
// (flight.go). Logs name threads and questions by a short hash at most.
package analysis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"stockagent/pybridge"
	"stockagent/server/atomicfile"
	"stockagent/server/forecast"
	"stockagent/server/metrics"
	"stockagent/server/pyapi"
	"stockagent/server/store"
	"stockagent/server/tickers"
	"stockagent/server/vectorstore"
)

// Config tunes the flow. Zero values take the defaults.
type Config struct {
	Threshold  float64       // SEMANTIC_CACHE_THRESHOLD: cosine similarity for a hit (0.95)
	MaxAge     time.Duration // SEMANTIC_CACHE_MAX_AGE: reports older than this never answer (24h)
	NewsTTL    time.Duration // headlines are fetched at most this often per ticker (1h)
	Timeout    time.Duration // ANALYZE_TIMEOUT: one agent run, however many callers share it (5m)
	DataDir    string        // reports are kept under DATA_DIR/reports
	VectorsURL string        // QDRANT_URL; empty: the in-process index
	VectorsKey string        // QDRANT_API_KEY
}

func (c *Config) defaults() {
	if c.Threshold <= 0 {
		c.Threshold = 0.95
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.NewsTTL <= 0 {
		c.NewsTTL = time.Hour
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
}

// Observer receives the flow's measurements (metrics); it must not block.
type Observer interface {
	CacheHit(cache string)
	CacheMiss(cache string)
	LLM(d time.Duration, promptTokens, completionTokens int)
	LLMNode(n metrics.AgentNode) // each node of an analysis, as the analyst measured it
	Relayed(answered bool)       // an analysis another process ran (Relay)
	// StreamFirst is the time from the known cache miss to a streamed
	// request's first event, token or field (kind).
	StreamFirst(kind string, d time.Duration)
}

// Service runs /analyze. It is safe for concurrent use.
type Service struct {
	cfg      Config
	py       *pyapi.Client
	forecast *forecast.Service
	st       store.Store
	obs      Observer
	log      *slog.Logger

	runs  flights // identical analyses in progress
	relay *Relay  // with Redis: analyses run by the processes that take work

	mu         sync.Mutex // guards vectors and stopExpire
	vectors    vectorstore.Store
	stopExpire context.CancelFunc
}

// ErrTimeout is wrapped by an analysis that did not finish within ANALYZE_TIMEOUT.
var ErrTimeout = errors.New("analysis: timed out")

// New returns a Service.
func New(cfg Config, py pyapi.Caller, fs *forecast.Service, st store.Store, obs Observer, log *slog.Logger) *Service {
	cfg.defaults()
	return &Service{cfg: cfg, py: pyapi.New(py), forecast: fs, st: st, obs: obs, log: log}
}

// Request is one /analyze call.
type Request struct {
	// Ticker is a model (tickers.Model): the parent's report is on the
	// symbol it learns from (PARENT_TICKER), whose news it reads, and is
	// stored under that symbol, where monitoring evaluates it.
	Ticker   string
	ThreadID string // a conversation of Owner's; empty: a new one (when Owner is set)
	// SkipFMI is the request's "use_fmi": false: no Finnhub even with a key. Unset, news
	// comes as NEWS_SOURCE says (auto: Finnhub when the server has a key).
	SkipFMI  bool
	Question string
	// Owner is the caller's identity: a thread it names must be its own, and
	// a new thread becomes its own. Empty for the server's own analyses
	// (monitoring), which start no conversation.
	Owner string
	// Events, when set, receives the request's events as they happen (a
	// streamed /analyze): the stages, the analyst's text and checked fields.
	// The answer itself is Analyze's to return, not an event.
	Events Sink `json:"-"`
}

// Headline is one news item, as the news entry point answers it and the
// analyst takes it.
type Headline = pyapi.Headline

type news struct {
	Ticker    string     `json:"ticker"`
	Source    string     `json:"source"`
	Headlines []Headline `json:"headlines"`
	Detail    string     `json:"detail,omitempty"`
}

// Analyze answers one request: the report (from the semantic cache or the
// agent), or the training that must finish first. A thread of another owner
// is ErrThreadNotFound; a full agent lane is pybridge.ErrLaneFull; a run past
// ANALYZE_TIMEOUT is ErrTimeout. When ctx ends, the call returns at once and
// the run is cancelled unless another caller still waits for it.
func (s *Service) Analyze(ctx context.Context, req Request) (json.RawMessage, *forecast.Training, error) {
	st := newStream(req.Events, s.obs)
	if req.ThreadID != "" {
		if err := s.claim(ctx, req.ThreadID, req.Owner); err != nil {
			return nil, nil, err
		}
	}
	st.stage("forecast")
	raw, tr, err := s.forecast.Predict(ctx, req.Ticker)
	if err != nil || tr != nil {
		return nil, tr, err
	}
	drift, err := s.drift(ctx, req.Ticker)
	if err != nil {
		return nil, nil, err
	}
	if req.Ticker == tickers.Parent {
		req.Ticker = tickers.ParentSymbol()
	}
	pred, err := parsePrediction(raw)
	if err != nil {
		return nil, nil, err
	}
	st.stage("news")
	nw, err := s.news(ctx, req.Ticker, req.SkipFMI)
	if err != nil {
		return nil, nil, err
	}

	var slot *cacheSlot
	// A question is always answered by the agent, and a thread's turn is
	// written into that thread: neither is answered from the shared cache.
	if req.Question == "" && req.ThreadID == "" {
		st.stage("cache")
		scope := vectorstore.Scope{Ticker: req.Ticker, ModelVersion: pred.ModelVersion, DataAsOf: pred.DataAsOf}
		vec, err := s.embed(ctx, CacheText(req.Ticker, pred, nw.Headlines))
		if err != nil {
			s.log.Warn("semantic cache skipped: embedding failed", "ticker", req.Ticker, "error", err)
		} else {
			slot = &cacheSlot{scope: scope, vec: vec}
			if hit, ok := s.lookup(ctx, *slot); ok {
				s.obs.CacheHit("semantic")
				return hit, nil, nil
			}
		}
		s.obs.CacheMiss("semantic")
	}

	st.stage("agent")
	key := flightKey(req, nw.Source)
	if s.relay != nil {
		return s.relayed(ctx, key, relayedRequest{Request: req, Prediction: raw, News: nw, Drift: drift}, slot, st.listener())
	}
	answer, err := s.runs.do(ctx, key, s.cfg.Timeout, st.listener(), func(ctx context.Context, emit Raw) (json.RawMessage, error) {
		answer, err := s.run(ctx, req, raw, pred, nw, drift, emit)
		if err == nil {
			s.keep(ctx, req, slot, answer)
		}
		return answer, err
	})
	if err != nil {
		return nil, nil, err
	}
	return answer, nil, nil
}

// cacheSlot is where a report sits in the semantic cache: the scope it must
// match exactly and the embedding of its cache text.
type cacheSlot struct {
	scope vectorstore.Scope
	vec   []float32
}

// keep stores a run's answer once: in the semantic cache when the request
// could have been answered from it (slot is not nil), and as the ticker's
// latest report for monitoring when it asked no question.
func (s *Service) keep(ctx context.Context, req Request, slot *cacheSlot, answer json.RawMessage) {
	if slot != nil {
		s.remember(ctx, *slot, answer)
	}
	if req.Question != "" {
		return
	}
	// The latest report, for monitoring to evaluate: no thread.
	b, err := withoutThread(answer)
	if err == nil {
		err = s.saveReport(req.Ticker, b)
	}
	if err != nil {
		s.log.Warn("report not saved", "ticker", req.Ticker, "error", err)
	}
}

// flightKey says which requests are the same analysis: the ticker, the
// thread (or, for a new one, its owner-to-be), the question and the news
// source.
func flightKey(req Request, newsSource string) string {
	thread := "thread:" + req.ThreadID
	if req.ThreadID == "" {
		thread = "new:" + req.Owner
	}
	b, _ := json.Marshal([]any{req.Ticker, thread, req.Question, req.SkipFMI, newsSource})
	return string(b)
}

// news returns the headlines of ticker, fetched at most once per NewsTTL.
func (s *Service) news(ctx context.Context, ticker string, skipFMI bool) (news, error) {
	key := "news_" + strings.ToLower(ticker)
	if skipFMI {
		key += "_nofmi"
	}
	var n news
	if b, err := s.st.Get(ctx, key); err == nil && json.Unmarshal(b, &n) == nil {
		s.obs.CacheHit("news")
		return n, nil
	}
	s.obs.CacheMiss("news")
	useFMI := !skipFMI
	raw, err := s.py.News(ctx, pyapi.NewsRequest{Ticker: ticker, UseFMI: &useFMI})
	if err != nil {
		return n, err
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return n, fmt.Errorf("analysis: headlines of %s: %w", ticker, err)
	}
	if b, err := json.Marshal(n); err == nil {
		if err := s.st.Set(ctx, key, b, s.cfg.NewsTTL); err != nil {
			s.log.Warn("headlines not cached", "ticker", ticker, "error", err)
		}
	}
	return n, nil
}

// embed returns the vector of a cache text. Vectors are kept in the store by
// the text's hash for MaxAge: embedding takes tens of milliseconds on a CPU,
// and a repeated request (the common case for a cache hit) repeats its text.
func (s *Service) embed(ctx context.Context, text string) ([]float32, error) {
	sum := sha256.Sum256([]byte(text))
	key := "embed_" + hex.EncodeToString(sum[:16])
	if b, err := s.st.Get(ctx, key); err == nil {
		var v []float32
		if json.Unmarshal(b, &v) == nil && len(v) > 0 {
			return v, nil
		}
	}
	out, err := s.py.Embed(ctx, pyapi.EmbedRequest{Text: text})
	if err != nil {
		return nil, err
	}
	if len(out.Vectors) != 1 || len(out.Vectors[0]) == 0 {
		return nil, errors.New("analysis: embed returned no vector")
	}
	vec := make([]float32, len(out.Vectors[0])) // the vector store's precision
	for i, x := range out.Vectors[0] {
		vec[i] = float32(x)
	}
	if b, err := json.Marshal(vec); err == nil {
		if err := s.st.Set(ctx, key, b, s.cfg.MaxAge); err != nil {
			s.log.Warn("embedding not cached", "error", err)
		}
	}
	return vec, nil
}

// store opens the vector store on first use, when the embedding's dimension
// is known; an unavailable store leaves the flow without a cache this time.
func (s *Service) store(ctx context.Context, dim int) (vectorstore.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vectors != nil {
		return s.vectors, nil
	}
	opts := []vectorstore.Option{vectorstore.WithLogger(s.log)}
	if s.cfg.VectorsKey != "" {
		opts = append(opts, vectorstore.WithAPIKey(s.cfg.VectorsKey))
	}
	v, err := vectorstore.Open(s.cfg.VectorsURL, s.cfg.DataDir, dim, opts...)
	if err != nil {
		return nil, err
	}
	s.vectors = v
	// Reports past MaxAge never answer; the janitor removes them from the store.
	var expireCtx context.Context
	expireCtx, s.stopExpire = context.WithCancel(context.Background())
	go vectorstore.Expire(expireCtx, v, vectorstore.DefaultExpireEvery, s.cfg.MaxAge, s.log)
	return v, nil
}

// Vectors returns the vector store once it is open (nil before), for /health and reset.
func (s *Service) Vectors() vectorstore.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vectors
}

// lookup finds a recent report of the slot's scope whose cache text is close
// enough: the same ticker, model version and data date, never another's.
func (s *Service) lookup(ctx context.Context, slot cacheSlot) (json.RawMessage, bool) {
	v, err := s.store(ctx, len(slot.vec))
	if err != nil {
		s.log.Warn("semantic cache unavailable", "error", err)
		return nil, false
	}
	hit, ok, err := v.Search(ctx, slot.scope, slot.vec, time.Now().Add(-s.cfg.MaxAge), s.cfg.Threshold)
	if err != nil {
		s.log.Warn("semantic cache search failed; running the analyst", "ticker", slot.scope.Ticker, "error", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	// Mark the answer as served from the cache, with how similar and how old.
	var m map[string]any
	if err := json.Unmarshal(hit.Payload, &m); err != nil {
		return nil, false
	}
	delete(m, "thread_id") // reports stored before threads had owners carried one
	if p, ok := m["predictions"].(map[string]any); ok {
		m["predictions"] = forecastView(p) // reports stored before the old clients' shape was restored
	}
	m["cached"] = true
	m["cache"] = map[string]any{"score": hit.Score, "created_at": hit.CreatedAt.UTC().Format(time.RFC3339)}
	b, err := json.Marshal(m)
	return b, err == nil
}

// remember adds a report to the semantic cache without its thread, which is
// the caller's own.
func (s *Service) remember(ctx context.Context, slot cacheSlot, answer json.RawMessage) {
	payload, err := withoutThread(answer)
	v, verr := s.store(ctx, len(slot.vec))
	if err == nil && verr == nil {
		err = v.Upsert(ctx, vectorstore.Point{ID: uuid.NewString(), Scope: slot.scope, Vector: slot.vec, CreatedAt: time.Now(), Payload: payload})
	}
	err = errors.Join(err, verr)
	if err != nil {
		s.log.Warn("report not added to the semantic cache", "ticker", slot.scope.Ticker, "error", err)
	}
}

type agentResult struct {
	FinalReport   string              `json:"final_report"`
	Recommend     string              `json:"recommendation"`
	Confidence    string              `json:"confidence"`
	NewsSentiment string              `json:"news_sentiment"`
	ParseStatus   string              `json:"parse_status"`
	Flags         []string            `json:"flags"`
	LeftOut       []string            `json:"left_out"`
	Revisions     int                 `json:"revisions"`
	Answer        string              `json:"answer,omitempty"`
	LLM           json.RawMessage     `json:"llm"`
	Nodes         []metrics.AgentNode `json:"nodes"`
}

func withoutThread(answer json.RawMessage) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(answer, &m); err != nil {
		return nil, err
	}
	delete(m, "thread_id")
	return json.Marshal(m)
}

// drift is the model's latest drift report, which the analyst states among
// its facts; nil when the model has none yet. It is read here, where the
// monitoring that wrote it keeps its data, so a relayed run has it too.
func (s *Service) drift(ctx context.Context, model string) (json.RawMessage, error) {
	raw, err := s.py.DriftLatest(ctx, pyapi.TickerRequest{Ticker: model})
	if errors.Is(err, pyapi.ErrNotFound) {
		return nil, nil
	}
	return raw, err
}

// run calls the agent on the agent lane and builds the API answer; the
// agent's progress events go to emit. ctx is the run's own (flights.do): it
// ends at ANALYZE_TIMEOUT or when nobody waits.
func (s *Service) run(ctx context.Context, req Request, raw json.RawMessage, pred prediction, nw news, drift json.RawMessage, emit Raw) (json.RawMessage, error) {
	in := pyapi.AnalyzeRequest{Ticker: req.Ticker, Prediction: raw, Headlines: nw.Headlines, NewsSource: nw.Source, Drift: drift}
	thread := req.ThreadID
	if thread == "" && req.Owner != "" {
		thread = uuid.NewString() // a new conversation, the caller's own
		if err := s.claim(ctx, thread, req.Owner); err != nil {
			return nil, err
		}
	}
	if thread != "" {
		in.ThreadID = scopedThread(req.Owner, thread)
	}
	in.Question = req.Question
	start := time.Now()
	answer, err := s.py.Analyze(ctx, in, pybridge.WithEvents(emit))
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: the analysis did not finish within ANALYZE_TIMEOUT (%s)", ErrTimeout, s.cfg.Timeout)
		}
		return nil, err
	}
	var res agentResult
	if err := json.Unmarshal(answer, &res); err != nil {
		return nil, fmt.Errorf("analysis: the analyst's answer: %w", err)
	}
	s.log.Info("analysis", "ticker", req.Ticker, "thread", shortOrEmpty(thread), "question", shortOrEmpty(req.Question),
		"seconds", time.Since(start).Seconds())
	var secs float64
	var pt, ct int
	for _, n := range res.Nodes {
		secs, pt, ct = secs+n.Seconds, pt+n.PromptTokens, ct+n.CompletionTokens
		s.obs.LLMNode(n)
	}
	s.obs.LLM(time.Duration(secs*float64(time.Second)), pt, ct)

	var fc map[string]any
	if err := json.Unmarshal(raw, &fc); err != nil {
		return nil, fmt.Errorf("analysis: forecast: %w", err)
	}
	out := map[string]any{
		"ticker":         req.Ticker,
		"final_report":   res.FinalReport,
		"recommendation": res.Recommend,
		"confidence":     res.Confidence,
		"predictions":    forecastView(fc),
		"news_sentiment": res.NewsSentiment,
		"last_price":     pred.lastPrice(),
		"news":           nw,
		"parse_status":   res.ParseStatus,
		"flags":          res.Flags,
		"left_out":       res.LeftOut,
		"revisions":      res.Revisions,
		"nodes":          res.Nodes,
		"llm":            res.LLM,
		"cached":         false,
		"created_at":     time.Now().UTC().Format(time.RFC3339),
	}
	if res.Answer != "" {
		out["answer"] = res.Answer
	}
	if thread != "" {
		out["thread_id"] = thread // the caller's name for it, not the checkpoints'
	}
	return json.Marshal(out)
}

// forecastView is a forecast as the answer's "predictions" holds it, the
// old service's shape: the views (next_day, week, month, quarter,
// full_forecast) beside the history and the forecast's other fields, where
// a forecast nests them under its own "predictions". One already in this
// shape is returned as it is.
func forecastView(fc map[string]any) map[string]any {
	views, ok := fc["predictions"].(map[string]any)
	if !ok {
		return fc
	}
	out := make(map[string]any, len(fc)+len(views))
	for k, v := range fc {
		if k != "predictions" {
			out[k] = v
		}
	}
	for k, v := range views {
		out[k] = v
	}
	return out
}

func shortOrEmpty(s string) string {
	if s == "" {
		return ""
	}
	return ShortHash(s)
}

// saveReport keeps the latest report of ticker in the data folder
// (reports/<stem>.json, written atomically), for monitoring to evaluate
// without running the LLM again.
func (s *Service) saveReport(ticker string, b []byte) error {
	dir := filepath.Join(s.cfg.DataDir, "reports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, tickers.Stem(ticker)+".json"), b)
}

// Close closes the vector store if it was opened.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vectors == nil {
		return nil
	}
	s.stopExpire()
	return s.vectors.Close()
}

// LLMStatus reports whether an LLM is configured and which, with "status"
// "up" or "unavailable" (cheap: the model is not loaded).
func (s *Service) LLMStatus(ctx context.Context) (map[string]any, error) {
	raw, err := s.py.LLMStatus(ctx)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("analysis: LLM status: %w", err)
	}
	out["status"] = "unavailable"
	if ok, _ := out["available"].(bool); ok {
		out["status"] = "up"
	}
	return out, nil
}
