package httpapi

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"stockagent/pybridge"
	"stockagent/server/httpapi/api"
	"stockagent/server/monitoring"
	"stockagent/server/pyapi"
	"stockagent/server/tickers"
)

// POST /monitor/{ticker} ("parent" for the parent): drift now, judged by the
// health policy, and the evaluation of the analyst's latest report (one
// analysis runs first only when none is stored). An untrained model is a 404.
func (h *handlers) RunMonitor(c *fiber.Ctx, ticker string) error {
	model, err := pathModel(ticker)
	if err != nil {
		return err
	}
	if h.d.Monitor == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "monitoring is not configured on this server")
	}
	// An evaluation may run an analysis: stop it when the client leaves.
	ctx, cancel := untilClientGone(c)
	defer cancel()
	drift, err := h.d.Monitor.Drift(ctx, model)
	if err != nil {
		return err
	}
	var agentEval any
	ev, tr, err := h.d.Monitor.Evaluate(ctx, model)
	switch {
	case tr != nil:
		agentEval = fiber.Map{"status": "training", "task_id": tr.TaskID, "detail": tr.Detail}
	case err != nil:
		// The drift report stands on its own: say why there is no evaluation.
		agentEval = fiber.Map{"status": "unavailable", "detail": publicDetail(err)}
	default:
		agentEval = ev
	}
	if model == tickers.Parent {
		return c.JSON(fiber.Map{"ticker": model, "type": "parent", "drift": drift, "agent_eval": agentEval,
			"links": fiber.Map{"get_drift_json": "/monitor/parent/drift", "get_eval_json": "/monitor/parent/eval"}})
	}
	return c.JSON(fiber.Map{"ticker": model, "is_parent": false, "drift": drift, "agent_eval": agentEval})
}

// publicDetail is what a client may read of an error: a Python exception of
// ours keeps its message; anything else is summarized.
func publicDetail(err error) string {
	if _, detail, ok := analysisError(err); ok {
		return detail
	}
	var pe *pybridge.PyError
	if _, ok := pyapi.KindOf(err); ok && errors.As(err, &pe) {
		return pe.Message
	}
	return "internal error; see the server log"
}

// GET /monitor/{ticker}/drift: the latest stored drift report.
func (h *handlers) GetDrift(c *fiber.Ctx, ticker string) error { return h.latest(c, ticker, "drift") }

// GET /monitor/{ticker}/eval: the latest stored agent evaluation.
func (h *handlers) GetEval(c *fiber.Ctx, ticker string) error { return h.latest(c, ticker, "eval") }

func (h *handlers) latest(c *fiber.Ctx, ticker, what string) error {
	model, err := pathModel(ticker)
	if err != nil {
		return err
	}
	if h.d.Monitor == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "monitoring is not configured on this server")
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Monitor.Latest(ctx, what, model)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(out)
}

// MaxHistory bounds GET /monitor/{ticker}/history?limit=N (the Python side's
// MAX_HISTORY).
const MaxHistory = 500

// GET /monitor/{ticker}/history: a page of the model's drift reports and the
// analyst's evaluations, newest first; ?cursor= (the last page's next_cursor)
// pages back, ?before= starts at a time.
func (h *handlers) GetMonitorHistory(c *fiber.Ctx, ticker string, params api.GetMonitorHistoryParams) error {
	model, err := pathModel(ticker)
	if err != nil {
		return err
	}
	limit, err := optionalInt("limit", params.Limit, 50, 1, MaxHistory)
	if err != nil {
		return err
	}
	var before string
	if params.Before != nil {
		t, err := time.Parse(time.RFC3339, *params.Before)
		if err != nil {
			return unprocessable("before must be a time like 2026-11-27T01:47:22Z (ISO 8601 with its offset from UTC), got " + quote(*params.Before))
		}
		before = t.UTC().Format(time.RFC3339Nano)
	}
	var from *monitoring.Cursor
	if params.Cursor != nil {
		c, ok := monitoring.ParseCursor(*params.Cursor)
		if !ok {
			return unprocessable("cursor must be a page's next_cursor, like d120e37, got " + quote(*params.Cursor))
		}
		from = &c
	}
	if h.d.Monitor == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "monitoring is not configured on this server")
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	out, err := h.d.Monitor.History(ctx, model, limit, before, from)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
