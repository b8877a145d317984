package httpapi

import (
	"github.com/gofiber/fiber/v2"

	"stockagent/server/httpapi/api"
)

// GET /models
func (h *handlers) ListModels(c *fiber.Ctx) error {
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Forecast.Client().Models(ctx)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// GET /models/{ticker}; "parent" names the parent model.
func (h *handlers) GetModel(c *fiber.Ctx, ticker string) error {
	model, err := pathModel(ticker)
	if err != nil {
		return err
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Forecast.Client().Model(ctx, model)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// GET /models/{ticker}/past-forecasts: the serving version's forecasts at
// held-out cut-offs of its evaluation, with their bands and what followed.
func (h *handlers) GetPastForecasts(c *fiber.Ctx, ticker string) error {
	model, err := pathModel(ticker)
	if err != nil {
		return err
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Forecast.Client().PastForecasts(ctx, model)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// GET /tickers
func (h *handlers) ListTickers(c *fiber.Ctx) error {
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Forecast.Client().Tickers(ctx)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// MaxRuns bounds GET /models/{ticker}/runs?limit=N.
const MaxRuns = 500

// GET /models/{ticker}/runs: the model's training runs from the run log,
// newest first (parameters, per-epoch losses, held-out metrics, artifacts,
// the promotion decision).
func (h *handlers) ListRuns(c *fiber.Ctx, ticker string, params api.ListRunsParams) error {
	model, err := pathModel(ticker)
	if err != nil {
		return err
	}
	limit, err := optionalInt("limit", params.Limit, 50, 1, MaxRuns)
	if err != nil {
		return err
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Forecast.Client().Runs(ctx, model, limit)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
