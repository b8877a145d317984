package httpapi

import (
	"fmt"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/forecast"
	"stockagent/server/httpapi/api"
)

// Bounds of a backtest request (openapi.json, BacktestRequest); Python's backtest_check
// applies the same and checks the dates against the ticker's data.
const (
	MaxRefitEvery = 252
	MaxCostBps    = 1000
)

// BacktestHorizons are the horizons a backtest scores, in trading days.
var BacktestHorizons = []int{1, 5, 21}

// backtestParams validates what a body can say without the data: dates, their order,
// horizons, refit_every, forecasters, epochs and cost_bps (defaultCost when absent). Each
// refusal is a 422.
func backtestParams(b api.BacktestRequest, model string, defaultCost float64, now time.Time) (forecast.BacktestParams, error) {
	p := forecast.BacktestParams{Ticker: model, StartDate: b.StartDate, EndDate: b.EndDate, CostBps: defaultCost}
	start, err := parseDate("start_date", b.StartDate, now)
	if err != nil {
		return p, err
	}
	end, err := parseDate("end_date", b.EndDate, now)
	if err != nil {
		return p, err
	}
	if !start.Before(end) {
		return p, unprocessable(fmt.Sprintf("start_date %s must be before end_date %s", b.StartDate, b.EndDate))
	}
	if b.Horizons != nil {
		if len(*b.Horizons) == 0 {
			return p, unprocessable("horizons is empty: name some of 1, 5 and 21, or leave it out for all three")
		}
		for _, h := range *b.Horizons {
			if !slices.Contains(BacktestHorizons, int(h)) {
				return p, unprocessable(fmt.Sprintf("horizons must be some of 1, 5 and 21, got %d", h))
			}
			if !slices.Contains(p.Horizons, int(h)) {
				p.Horizons = append(p.Horizons, int(h))
			}
		}
		slices.Sort(p.Horizons)
	}
	if b.RefitEvery != nil {
		if *b.RefitEvery < 1 || *b.RefitEvery > MaxRefitEvery {
			return p, unprocessable(fmt.Sprintf("refit_every must be between 1 and %d, got %d", MaxRefitEvery, *b.RefitEvery))
		}
		p.RefitEvery = *b.RefitEvery
	}
	if b.Forecasters != nil {
		if len(*b.Forecasters) == 0 {
			return p, unprocessable("forecasters is empty: name some of naive, drift, lstm, served, ets, theta and arima, or leave it out for naive, drift and lstm")
		}
		for _, f := range *b.Forecasters {
			if !f.Valid() {
				return p, unprocessable(fmt.Sprintf("forecasters must be some of naive, drift, lstm, served, ets, theta and arima, got %q", f))
			}
			p.Forecasters = append(p.Forecasters, string(f))
		}
	}
	if b.Epochs != nil {
		if *b.Epochs < 1 || *b.Epochs > MaxEpochs {
			return p, unprocessable(fmt.Sprintf("epochs must be between 1 and %d, got %d", MaxEpochs, *b.Epochs))
		}
		p.Epochs = *b.Epochs
	}
	if b.CostBps != nil {
		if c := *b.CostBps; !(c >= 0 && c <= MaxCostBps) {
			return p, unprocessable(fmt.Sprintf("cost_bps must be between 0 and %d, got %g", MaxCostBps, c))
		}
		p.CostBps = *b.CostBps
	}
	return p, nil
}

// POST /backtest: 202 with the task of the model's backtest (one at a time per model), whose
// /status carries progress and, once completed, the result.
func (h *handlers) StartBacktest(c *fiber.Ctx) error {
	var b api.BacktestRequest
	model, err := decodeTickerBody(c, &b, &b.Ticker)
	if err != nil {
		return err
	}
	p, err := backtestParams(b, model, h.d.BacktestCostBps, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	tr, err := h.d.Forecast.Backtest(ctx, p, callerOf(c).ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(tr)
}

// GET /models/{ticker}/backtests: the model's stored backtest results, newest first.
func (h *handlers) ListBacktests(c *fiber.Ctx, ticker string) error {
	model, err := pathModel(ticker)
	if err != nil {
		return err
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Forecast.Client().Backtests(ctx, model)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
