package forecast

import (
	"context"
	"encoding/json"
	"fmt"

	"stockagent/pybridge"
	"stockagent/server/pyapi"
	"stockagent/server/tasks"
	"stockagent/server/tickers"
)

// KindBacktest is the task kind of a walk-forward backtest: it runs on the
// long-work lane of a process that takes work, like a training.
const KindBacktest = "backtest"

// BacktestParams is a backtest request; Python's backtest_check makes it whole
// (default horizons and forecasters) and checks it against the ticker's data.
type BacktestParams = pyapi.BacktestRequest

// BacktestCheck checks p against the rules and the ticker's data without
// running it: InvalidParameter (422) or NotFound (404) for a bad request.
func (c *Client) BacktestCheck(ctx context.Context, p BacktestParams) (pyapi.BacktestConfig, error) {
	return c.py.BacktestCheck(ctx, p)
}

// Backtest runs the backtest p on the long-work lane, reporting each progress
// event (origins done of total) to progress, and answers its stored result.
func (c *Client) Backtest(ctx context.Context, p BacktestParams, progress func(json.RawMessage)) (json.RawMessage, error) {
	return c.py.Backtest(ctx, p, pybridge.WithEvents(func(b []byte) { progress(b) }))
}

// Backtests lists the stored backtest results of model, newest first.
func (c *Client) Backtests(ctx context.Context, model string) (json.RawMessage, error) {
	return c.py.Backtests(ctx, pyapi.TickerRequest{Ticker: model})
}

// Backtest checks p, then queues it as the task of model's backtest
// (tickers.BacktestTaskID) unless one is running already. owner is the
// caller who asked.
func (s *Service) Backtest(ctx context.Context, p BacktestParams, owner string) (*Training, error) {
	cfg, err := s.client.BacktestCheck(ctx, p)
	if err != nil {
		return nil, err
	}
	whole := BacktestParams{Ticker: p.Ticker, StartDate: cfg.StartDate, EndDate: cfg.EndDate,
		Horizons: cfg.Horizons, RefitEvery: cfg.RefitEvery, CostBps: cfg.CostBps, Forecasters: cfg.Forecasters, Epochs: cfg.Epochs}
	params, err := json.Marshal(whole)
	if err != nil {
		return nil, err
	}
	id := tickers.BacktestTaskID(p.Ticker)
	_, started, err := s.tasks.Submit(ctx, tasks.Spec{ID: id, Kind: KindBacktest, Owner: owner, Params: params})
	if err != nil {
		return nil, err
	}
	if !started {
		return &Training{Status: "already running", TaskID: id,
			Detail: "a backtest of this model is queued or running; poll /status/" + id}, nil
	}
	return &Training{Status: "started", TaskID: id,
		Detail: fmt.Sprintf("backtest of %s from %s to %s queued: poll /status/%s", p.Ticker, cfg.StartDate, cfg.EndDate, id)}, nil
}

// backtest is the work of a backtest task. A re-queued run starts over: a
// backtest keeps no checkpoint.
func (s *Service) backtest(params json.RawMessage) tasks.Func {
	return func(ctx context.Context, progress func(json.RawMessage)) (json.RawMessage, error) {
		var p BacktestParams
		if err := json.Unmarshal(params, &p); err != nil {
			return nil, fmt.Errorf("backtest params: %w", err)
		}
		res, err := s.client.Backtest(ctx, p, progress)
		if err == nil {
			// A forecast's summary names the newest backtest: a cached one would keep the old line.
			if ferr := s.cache.Forget(ctx, p.Ticker); ferr != nil {
				s.log.Warn("cached forecast not refreshed after a backtest", "model", p.Ticker, "error", ferr)
			}
		}
		return res, err
	}
}
