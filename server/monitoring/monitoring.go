// Package monitoring is the server's side of model monitoring: drift for the
// parent and every child and evaluation of the analyst's latest report
// (computed in Python), judged by the operators' health policy (evaluated in
// Go by gpython, never touching the ML interpreter's GIL), exported as
// metrics, and run on a schedule when MONITOR_INTERVAL is set.
//
// Automatic retraining (MONITOR_AUTO_RETRAIN) has a budget: at most one
// automatic retrain per model and market day (the last market date of the
// prices its drift was measured on), recorded in the store so that replicas
// agree; each one counted against the training rate limit as Identity; and
// never started by the drift check that follows an automatic retrain's own
// completion, which would otherwise retrain on the same data for ever.
package monitoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"stockagent/pybridge"
	"stockagent/server/analysis"
	"stockagent/server/forecast"
	"stockagent/server/policy"
	"stockagent/server/pyapi"
	"stockagent/server/ratelimit"
	"stockagent/server/store"
	"stockagent/server/tasks"
	"stockagent/server/tickers"
)

// Observer receives drift measurements (metrics); it must not block.
type Observer interface {
	Drift(kind, model string, score float64, health string)
}

// Config tunes the service.
type Config struct {
	// AutoRetrain starts a forced retraining when the policy's drift action says "retrain".
	AutoRetrain bool
}

// Identity is the client automatic retrains are counted under in the
// training rate limit.
const Identity = "system:monitor"

// Store keys of the retrain budget.
const (
	budgetPrefix = "monitor_retrain:"   // + model + ":" + market day: the day's automatic retrain is spent
	autoPrefix   = "monitor_auto_task:" // + task id: that task's current run is an automatic retrain
	budgetTTL    = 8 * 24 * time.Hour   // past any market holiday stretch; the day has moved on by then
	autoTTL      = 48 * time.Hour       // longer than any training
)

// Service runs monitoring. It is safe for concurrent use.
type Service struct {
	cfg      Config
	py       *pyapi.Client
	policy   *policy.Policy
	forecast *forecast.Service
	analyst  *analysis.Service
	st       store.Store
	limiter  *ratelimit.Limiter // nil: no rate limits
	obs      Observer
	log      *slog.Logger
}

// Deps are what the Service works with; Analyst and Limiter may be nil.
type Deps struct {
	Python   pyapi.Caller
	Policy   *policy.Policy
	Forecast *forecast.Service
	Analyst  *analysis.Service
	Store    store.Store        // where the retrain budget is kept
	Limiter  *ratelimit.Limiter // counts automatic retrains under the "training" policy
	Observer Observer
	Logger   *slog.Logger
}

// New returns a Service.
func New(cfg Config, d Deps) *Service {
	return &Service{cfg: cfg, py: pyapi.New(d.Python), policy: d.Policy, forecast: d.Forecast, analyst: d.Analyst,
		st: d.Store, limiter: d.Limiter, obs: d.Observer, log: d.Logger}
}

func kindOf(model string) string {
	if model == tickers.Parent {
		return "parent"
	}
	return "child"
}

// Drift measures drift for model now and judges it by the policy: the
// report's health is the policy's, its "policy" block says which rule and
// action decided, and a "retrain" action starts a retraining when enabled
// and the budget allows (the block's "retrain" says why it did or did not).
func (s *Service) Drift(ctx context.Context, model string) (map[string]any, error) {
	return s.drift(ctx, model, false)
}

// drift is Drift; afterAuto says the check follows an automatic retrain's
// completion, which may not start another.
func (s *Service) drift(ctx context.Context, model string, afterAuto bool) (map[string]any, error) {
	raw, err := s.py.Drift(ctx, pyapi.TickerRequest{Ticker: model})
	if err != nil {
		return nil, err
	}
	var rep map[string]any
	if err := json.Unmarshal(raw, &rep); err != nil {
		return nil, fmt.Errorf("monitoring: drift report of %s: %w", model, err)
	}
	score, _ := rep["drift_score"].(float64)
	ratio, _ := rep["volatility_index"].(float64)
	extra := map[string]any{"ticker": model, "is_parent": model == tickers.Parent}
	for k, v := range summarize(rep) {
		extra[k] = v
	}
	health, action, err := s.policy.DriftHealth(score, ratio, extra)
	if err != nil {
		return nil, fmt.Errorf("monitoring: drift policy for %s: %w", model, err)
	}
	rep["computed_health"], rep["health"] = rep["health"], health
	pol := map[string]any{"file": s.policy.Name(), "rule": policy.RuleDriftHealth, "action": action}
	if action == policy.ActionRetrain {
		day, _ := rep["data_as_of"].(string)
		if day == "" { // not reported: the calendar day stands in
			day = time.Now().UTC().Format(time.DateOnly)
		}
		pol["market_day"] = day
		pol["retrain_started"], pol["retrain"] = s.retrain(ctx, model, day, afterAuto)
	}
	rep["policy"] = pol
	s.obs.Drift(kindOf(model), model, score, health)
	return rep, nil
}

// summarize gives the drift policy its per-feature inputs: the largest PSI
// and KS statistic and the smallest KS p-value.
func summarize(rep map[string]any) map[string]any {
	out := map[string]any{}
	feats, _ := rep["feature_metrics"].(map[string]any)
	var maxPSI, maxKS, minP *float64
	for _, f := range feats {
		m, _ := f.(map[string]any)
		upd := func(key string, dst **float64, better func(a, b float64) bool) {
			if v, ok := m[key].(float64); ok && (*dst == nil || better(v, **dst)) {
				*dst = &v
			}
		}
		upd("psi", &maxPSI, func(a, b float64) bool { return a > b })
		upd("ks_stat", &maxKS, func(a, b float64) bool { return a > b })
		upd("ks_pvalue", &minP, func(a, b float64) bool { return a < b })
	}
	for k, v := range map[string]*float64{"max_psi": maxPSI, "max_ks_stat": maxKS, "ks_pvalue_min": minP} {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// retrain starts an automatic retrain of model for market day unless the
// budget says no, and says what happened.
func (s *Service) retrain(ctx context.Context, model, day string, afterAuto bool) (bool, string) {
	switch {
	case !s.cfg.AutoRetrain:
		return false, "not started: set MONITOR_AUTO_RETRAIN=on to let the policy retrain"
	case afterAuto:
		return false, "not started: this check follows an automatic retrain's own completion"
	}
	// Cleanup must outlive a request that ended.
	bg := context.WithoutCancel(ctx)
	budget := budgetPrefix + model + ":" + day
	fresh, err := s.st.SetNX(ctx, budget, []byte(time.Now().UTC().Format(time.RFC3339)), budgetTTL)
	if err != nil {
		s.log.Warn("policy retrain: budget not checked", "model", model, "error", err)
		return false, "not started: the retrain budget could not be read: " + err.Error()
	}
	if !fresh {
		return false, fmt.Sprintf("not started: %s was retrained automatically for market day %s already (one a day)", model, day)
	}
	if s.limiter != nil {
		d, err := s.limiter.Allow(ctx, "training", Identity)
		if err != nil { // as for clients: the limits protect the service, a store failure does not stop it
			s.log.Warn("policy retrain: rate limit not checked", "model", model, "error", err)
		} else if !d.Allowed {
			s.forget(bg, budget) // the day's retrain is still owed
			return false, fmt.Sprintf("not started: the training rate limit of %s is spent; retry in %d s", Identity, d.RetryAfterSeconds())
		}
	}
	// Marked before it starts, so that even a training that ends at once is
	// known as automatic when it finishes.
	id := tickers.TaskID(model)
	marked, err := s.st.SetNX(ctx, autoPrefix+id, []byte(day), autoTTL)
	if err != nil {
		s.forget(bg, budget)
		return false, "not started: " + err.Error()
	}
	undo := func() {
		s.forget(bg, budget)
		if marked {
			s.forget(bg, autoPrefix+id)
		}
	}
	tr, err := s.forecast.Train(ctx, model, forecast.TrainParams{Force: true, Promote: "auto"})
	if err != nil {
		undo()
		s.log.Warn("policy retrain failed to start", "model", model, "error", err)
		return false, "failed to start: " + err.Error()
	}
	if tr.Status == "already running" {
		undo() // that training's own check decides after it
		return false, "not started: a training of " + model + " is running already (task " + tr.TaskID + ")"
	}
	s.log.Info("policy retrain", "model", model, "market_day", day, "status", tr.Status, "task_id", tr.TaskID)
	return true, tr.Status + " (task " + tr.TaskID + ") for market day " + day
}

// forget deletes key; a failure is only logged, as every key here expires on its own.
func (s *Service) forget(ctx context.Context, key string) {
	if err := s.st.Delete(ctx, key); err != nil {
		s.log.Warn("monitoring: key not deleted (it expires on its own)", "key", key, "error", err)
	}
}

// AfterTraining is told of every finished training. A completed one has its
// drift measured, in the background, so every model has a drift report from
// its first version on; the check after an automatic retrain starts none.
func (s *Service) AfterTraining(rec tasks.Record) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		auto, err := s.st.Get(ctx, autoPrefix+rec.TaskID)
		if err == nil {
			s.forget(ctx, autoPrefix+rec.TaskID)
		} else if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("drift after training: automatic-retrain mark not read", "task_id", rec.TaskID, "error", err)
		}
		if rec.Status != tasks.Completed {
			return
		}
		model := tickers.ModelOfTask(rec.TaskID)
		// An unreadable mark counts as automatic: a retrain too few beats a loop.
		if _, err := s.drift(ctx, model, auto != nil || (err != nil && !errors.Is(err, store.ErrNotFound))); err != nil {
			s.log.Warn("drift after training failed", "model", model, "error", err)
		}
	}()
}

// Evaluate scores the latest stored analyst report of ticker, running one
// analysis first only when none is stored, and judges it by the policy.
func (s *Service) Evaluate(ctx context.Context, ticker string) (map[string]any, *forecast.Training, error) {
	req := pyapi.TickerRequest{Ticker: ticker}
	raw, err := s.py.Evaluate(ctx, req)
	// The parent's report is the analyst's on the index it learns from (analysis.Analyze).
	if errors.Is(err, pyapi.ErrNotFound) && s.analyst != nil {
		if _, tr, aerr := s.analyst.Analyze(ctx, analysis.Request{Ticker: ticker}); aerr != nil || tr != nil {
			return nil, tr, aerr // why there is no report: no LLM, a training to wait for, …
		}
		raw, err = s.py.Evaluate(ctx, req)
	}
	if err != nil {
		return nil, nil, err
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, nil, fmt.Errorf("monitoring: evaluation of %s: %w", ticker, err)
	}
	metrics, _ := ev["metrics"].(map[string]any)
	overall, _ := metrics["overall_score"].(float64)
	checks, _ := metrics["checks"].(map[string]any) // {name: passed}
	failed := 0
	for _, passed := range checks {
		if passed == false {
			failed++
		}
	}
	status, err := s.policy.EvalStatus(overall, map[string]any{
		"checks_failed": failed, "checks_total": len(checks), "ticker": ticker, "is_parent": ticker == tickers.Parent,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("monitoring: evaluation policy for %s: %w", ticker, err)
	}
	if metrics != nil {
		metrics["computed_status"], metrics["status"] = metrics["status"], status
	}
	return ev, nil, nil
}

// Latest returns the latest stored drift report ("drift") or evaluation
// ("eval") of model, as Python stored it.
func (s *Service) Latest(ctx context.Context, what, model string) (json.RawMessage, error) {
	req := pyapi.TickerRequest{Ticker: model}
	switch what {
	case "drift":
		return s.py.DriftLatest(ctx, req)
	case "eval":
		return s.py.EvalLatest(ctx, req)
	}
	return nil, fmt.Errorf("monitoring: no latest %q record", what)
}

// History is one page of a model's drift reports and evaluations, newest first.
type History struct {
	Ticker string            `json:"ticker"`
	Drift  []json.RawMessage `json:"drift"`
	Evals  []json.RawMessage `json:"evals"`
	// NextCursor is the cursor of the next, older page; nil on the last one.
	NextCursor *string `json:"next_cursor"`
}

// Cursor is where a page of history starts: for each kind, only the records
// numbered below it (Python numbers each record of a kind as it is saved: its
// seq); 0 when the kind has no older records. Numbers, unlike the records'
// times (whole seconds), never tie, so paging skips and repeats nothing.
type Cursor struct{ Drift, Evals int }

// String is the cursor as a client sends it back: "d<drift>e<evals>".
func (c Cursor) String() string { return fmt.Sprintf("d%de%d", c.Drift, c.Evals) }

var cursorForm = regexp.MustCompile(`^d(0|[1-9][0-9]{0,15})e(0|[1-9][0-9]{0,15})$`)

// ParseCursor reads a cursor that String wrote; false when s is not one.
func ParseCursor(s string) (Cursor, bool) {
	m := cursorForm.FindStringSubmatch(s)
	if m == nil {
		return Cursor{}, false
	}
	d, _ := strconv.Atoi(m[1]) // the pattern bounds both to 16 digits
	e, _ := strconv.Atoi(m[2])
	return Cursor{Drift: d, Evals: e}, true
}

// History reads up to limit drift reports and up to limit evaluations stamped
// before before (all when empty), from from on (the newest when nil). Both kinds
// share one page: when a kind fills it, the page ends at the oldest time that
// kind reached, and the other kind's older records wait for the next page.
func (s *Service) History(ctx context.Context, model string, limit int, before string, from *Cursor) (History, error) {
	req := pyapi.PagedHistoryRequest{Ticker: model, Limit: limit, Before: before}
	below := func(of func(Cursor) int) int {
		if from == nil {
			return -1 // no bound: from the newest
		}
		return of(*from)
	}
	drift, err := historyOf(ctx, s.py.DriftHistory, req, below(func(c Cursor) int { return c.Drift }))
	if err != nil {
		return History{}, err
	}
	evals, err := historyOf(ctx, s.py.EvalHistory, req, below(func(c Cursor) int { return c.Evals }))
	if err != nil {
		return History{}, err
	}
	var end time.Time
	for _, page := range []stamped{drift, evals} {
		if len(page.records) == limit && page.oldest().After(end) {
			end = page.oldest()
		}
	}
	nd, ne := drift.kept(end, limit), evals.kept(end, limit)
	out := History{Ticker: model, Drift: drift.records[:nd], Evals: evals.records[:ne]}
	if next := (Cursor{Drift: drift.next(nd, limit), Evals: evals.next(ne, limit)}); next != (Cursor{}) {
		c := next.String()
		out.NextCursor = &c
	}
	return out, nil
}

// stamped is one kind's records, newest first, with the time and number of each.
type stamped struct {
	records []json.RawMessage
	times   []time.Time
	seqs    []int
}

func (p stamped) oldest() time.Time { return p.times[len(p.times)-1] }

// kept is how many of the newest records the page keeps: a full page that ends
// the page all of them; otherwise those up to the first stamped before end
// (all when end is zero), so that the records left out follow in number.
func (p stamped) kept(end time.Time, limit int) int {
	if end.IsZero() || len(p.records) == limit && p.oldest().Equal(end) {
		return len(p.records)
	}
	n := 0
	for n < len(p.records) && !p.times[n].Before(end) {
		n++
	}
	return n
}

// next is this kind's part of the next page's cursor once the page keeps n of
// its records: 0 when none are left.
func (p stamped) next(n, limit int) int {
	switch {
	case n == len(p.records) && n < limit:
		return 0 // the page holds the oldest
	case n > 0:
		return p.seqs[n-1]
	default:
		return p.seqs[0] + 1 // none kept: from the newest read on
	}
}

// historyOf asks Python for one kind's page of records numbered below below
// (no bound when negative; none when 0). An answer is {"history": [...]}; a
// drift report carries its time as timestamp, an evaluation as
// metrics.timestamp, and each record its seq.
func historyOf(ctx context.Context, call func(context.Context, pyapi.PagedHistoryRequest, ...pybridge.CallOption) (json.RawMessage, error),
	req pyapi.PagedHistoryRequest, below int,
) (stamped, error) {
	if below == 0 {
		return stamped{records: []json.RawMessage{}}, nil // a list, never null, in the answer
	}
	req.BeforeSeq = max(below, 0)
	raw, err := call(ctx, req)
	if err != nil {
		return stamped{}, err
	}
	var page struct {
		History []json.RawMessage `json:"history"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return stamped{}, fmt.Errorf("monitoring: history: %w", err)
	}
	n := len(page.History)
	out := stamped{records: page.History, times: make([]time.Time, n), seqs: make([]int, n)}
	for i, r := range page.History {
		var rec struct {
			Timestamp string `json:"timestamp"`
			Metrics   struct {
				Timestamp string `json:"timestamp"`
			} `json:"metrics"`
			Seq *int `json:"seq"`
		}
		if err := json.Unmarshal(r, &rec); err != nil {
			return stamped{}, fmt.Errorf("monitoring: history record: %w", err)
		}
		if rec.Seq == nil {
			return stamped{}, errors.New("monitoring: history record without its seq")
		}
		stamp := rec.Timestamp
		if stamp == "" {
			stamp = rec.Metrics.Timestamp
		}
		// Python pages by these times, so each record has one it could read.
		t, err := time.Parse(time.RFC3339, stamp)
		if err != nil {
			return stamped{}, fmt.Errorf("monitoring: history record time %q: %w", stamp, err)
		}
		out.times[i], out.seqs[i] = t, *rec.Seq
	}
	return out, nil
}

// Status lists every trained model with its latest drift and evaluation.
func (s *Service) Status(ctx context.Context) ([]string, error) {
	raw, err := s.py.MonitorStatus(ctx)
	if err != nil {
		return nil, err
	}
	var out struct {
		Models []struct {
			Ticker string `json:"ticker"`
		} `json:"models"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("monitoring: status: %w", err)
	}
	models := make([]string, 0, len(out.Models))
	for _, m := range out.Models {
		models = append(models, m.Ticker)
	}
	return models, nil
}

// Schedule runs drift for every trained model every interval until ctx ends.
func (s *Service) Schedule(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		models, err := s.Status(ctx)
		if err != nil {
			s.log.Warn("scheduled monitoring: listing models failed", "error", err)
			continue
		}
		for _, m := range models {
			if _, err := s.Drift(ctx, m); err != nil {
				s.log.Warn("scheduled drift failed", "model", m, "error", err)
			}
		}
		s.log.Info("scheduled monitoring done", "models", len(models))
	}
}
