// Package monitoring is the server's side of model monitoring: drift for the
// parent and every child and evaluation of the analyst's latest report
// (computed in Python), judged by the operators' health policy (evaluated in
// Go by gpython, never touching the ML interpreter's GIL), exported as
// metrics, and run on a schedule when MONITOR_INTERVAL is set.
package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"stockagent/pybridge"
	"stockagent/server/analysis"
	"stockagent/server/forecast"
	"stockagent/server/policy"
	"stockagent/server/tickers"
)

const entry = "stockagent.entry:"

// Observer receives drift measurements (metrics); it must not block.
type Observer interface {
	Drift(kind, model string, score float64, health string)
}

// Config tunes the service.
type Config struct {
	// AutoRetrain starts a forced retraining when the policy's drift action says "retrain".
	AutoRetrain bool
}

// Service runs monitoring. It is safe for concurrent use.
type Service struct {
	cfg      Config
	py       forecast.Python
	policy   *policy.Policy
	forecast *forecast.Service
	analyst  *analysis.Service
	obs      Observer
	log      *slog.Logger
}

// New returns a Service.
func New(cfg Config, py forecast.Python, p *policy.Policy, fs *forecast.Service, a *analysis.Service, obs Observer, log *slog.Logger) *Service {
	return &Service{cfg: cfg, py: py, policy: p, forecast: fs, analyst: a, obs: obs, log: log}
}

func kindOf(model string) string {
	if model == tickers.Parent {
		return "parent"
	}
	return "child"
}

// Drift measures drift for model now and judges it by the policy: the
// report's health is the policy's, its "policy" block says which rule and
// action decided, and a "retrain" action starts a retraining when enabled.
func (s *Service) Drift(ctx context.Context, model string) (map[string]any, error) {
	var rep map[string]any
	if err := s.py.Call(ctx, pybridge.Long, entry+"drift", map[string]string{"ticker": model}, &rep); err != nil {
		return nil, err
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
		pol["retrain"] = s.retrain(ctx, model)
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

func (s *Service) retrain(ctx context.Context, model string) string {
	if !s.cfg.AutoRetrain {
		return "not started: set MONITOR_AUTO_RETRAIN=on to let the policy retrain"
	}
	tr, err := s.forecast.Train(ctx, model, forecast.TrainParams{Force: true, Promote: "auto"})
	if err != nil {
		s.log.Warn("policy retrain failed to start", "model", model, "error", err)
		return "failed to start: " + err.Error()
	}
	s.log.Info("policy retrain", "model", model, "status", tr.Status, "task_id", tr.TaskID)
	return tr.Status + " (task " + tr.TaskID + ")"
}

// AfterTraining measures the drift of a model that was just trained, in the
// background, so every model has a drift report from its first version on.
func (s *Service) AfterTraining(model string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if _, err := s.Drift(ctx, model); err != nil {
			s.log.Warn("drift after training failed", "model", model, "error", err)
		}
	}()
}

// Evaluate scores the latest stored analyst report of ticker, running one
// analysis first only when none is stored, and judges it by the policy.
func (s *Service) Evaluate(ctx context.Context, ticker string) (map[string]any, *forecast.Training, error) {
	var ev map[string]any
	err := s.py.Call(ctx, pybridge.Long, entry+"evaluate", map[string]string{"ticker": ticker}, &ev)
	// The parent has no analyst of its own: only tickers get an analysis run here.
	if forecast.IsPy(err, "stockagent.errors.NotFound") && s.analyst != nil && ticker != tickers.Parent {
		if _, tr, aerr := s.analyst.Analyze(ctx, analysis.Request{Ticker: ticker}); aerr != nil || tr != nil {
			return nil, tr, aerr // why there is no report: no LLM, a training to wait for, …
		}
		err = s.py.Call(ctx, pybridge.Long, entry+"evaluate", map[string]string{"ticker": ticker}, &ev)
	}
	if err != nil {
		return nil, nil, err
	}
	metrics, _ := ev["metrics"].(map[string]any)
	overall, _ := metrics["overall_score"].(float64)
	checks, _ := metrics["checks"].(map[string]any)
	failed := 0
	for _, c := range checks {
		if m, _ := c.(map[string]any); m["passed"] == false {
			failed++
		}
	}
	status, err := s.policy.EvalStatus(overall, map[string]any{
		"checks_failed": failed, "checks_total": len(checks), "ticker": ticker, "is_parent": false,
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
	var out json.RawMessage
	err := s.py.Call(ctx, pybridge.Inference, entry+what+"_latest", map[string]string{"ticker": model}, &out)
	return out, err
}

// Status lists every trained model with its latest drift and evaluation.
func (s *Service) Status(ctx context.Context) ([]string, error) {
	var out struct {
		Models []struct {
			Ticker string `json:"ticker"`
		} `json:"models"`
	}
	if err := s.py.Call(ctx, pybridge.Inference, entry+"monitor_status", nil, &out); err != nil {
		return nil, err
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
