package httpapi

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/httpapi/api"
	"stockagent/server/tickers"
)

// POST /predict-parent
func (h *handlers) PredictParent(c *fiber.Ctx, params api.PredictParentParams) error {
	return h.predict(c, tickers.Parent, params.CacheControl)
}

// POST /predict-child
func (h *handlers) PredictChild(c *fiber.Ctx, params api.PredictChildParams) error {
	var b api.TickerRequest
	ticker, err := decodeTickerBody(c, &b, &b.Ticker)
	if err != nil {
		return err
	}
	return h.predict(c, ticker, params.CacheControl)
}

// predict answers 200 with the forecast, or 202 with the training task when
// the model must be trained first. Cache-Control: no-cache asks for a forecast
// computed now, which then replaces the cached one.
func (h *handlers) predict(c *fiber.Ctx, model string, cacheControl *string) error {
	ctx, cancel := h.callCtx(c)
	defer cancel()
	get := h.d.Forecast.Predict
	if strings.Contains(strings.ToLower(value(cacheControl)), "no-cache") {
		get = h.d.Forecast.PredictFresh
	}
	pred, tr, err := get(ctx, model)
	if err != nil {
		return err
	}
	if tr != nil {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "training", "detail": tr.Detail, "task_id": tr.TaskID})
	}
	// The forecast is JSON already (from Python, or from the cache as Python
	// wrote it): wrap it without decoding and encoding 27 kB again.
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	body := make([]byte, 0, len(pred)+len(`{"result":}`))
	body = append(append(append(body, `{"result":`...), pred...), '}')
	return c.Send(body)
}

// POST /predict-batch {"tickers": [...]}: forecasts of many tickers from one
// call. The count is bounded here; each ticker is validated, and fails on its
// own, in Python.
func (h *handlers) PredictBatch(c *fiber.Ctx) error {
	var b api.BatchRequest
	if _, err := decodeBody(c, &b, false); err != nil {
		return err
	}
	switch {
	case b.Tickers == nil: // absent or null; [] decodes to an empty slice
		return unprocessable(`missing field "tickers"`)
	case len(b.Tickers) == 0:
		return unprocessable("tickers is empty: name at least one ticker")
	case len(b.Tickers) > h.d.BatchMaxTickers:
		return unprocessable(fmt.Sprintf("%d tickers: a batch holds at most %d (BATCH_MAX_TICKERS)", len(b.Tickers), h.d.BatchMaxTickers))
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Forecast.PredictBatch(ctx, b.Tickers, h.d.BatchThreads)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(out)
}
