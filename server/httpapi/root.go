package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// GET / describes the service (API.md, "Root, health, docs").
func (h *handlers) root(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{
		"project":     "stockagent",
		"version":     Version,
		"description": "LSTM stock forecasts that transfer market dynamics learned on the S&P 500 index to single tickers, served by a Go server that embeds CPython. Forecasts are not investment advice.",
		"features": []string{
			"embedded CPython interpreter with inference and long-work lanes",
			"parent LSTM on ^GSPC, child models by transfer learning",
			"direct 63-trading-day forecasts with 80% conformal intervals",
			"held-out evaluation against naive and drift baselines",
			"background training tasks with live progress",
		},
		"endpoints": fiber.Map{
			"health":         "GET /health",
			"openapi":        "GET /openapi.json",
			"train_parent":   "POST /train-parent",
			"train_child":    "POST /train-child",
			"status":         "GET /status/{task_id}",
			"predict_parent": "POST /predict-parent",
			"predict_child":  "POST /predict-child",
			"models":         "GET /models",
			"model":          "GET /models/{ticker}",
			"tickers":        "GET /tickers",
		},
	})
}

// GET /health reports the service and each component it depends on:
// "healthy" when all are up, "degraded" otherwise (the components say which).
func (h *handlers) health(c *fiber.Ctx) error {
	status := "healthy"
	python := fiber.Map{"status": "down"}
	if h.d.Python != nil {
		python = fiber.Map{"status": "up", "interpreter": h.d.Python.Info()}
	} else {
		status = "degraded"
	}
	components := fiber.Map{"python": python}
	if h.d.Store != nil {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		st := fiber.Map{"status": "up", "backend": h.d.Store.Name()}
		if err := h.d.Store.Ping(ctx); err != nil {
			st["status"], st["error"] = "down", err.Error()
			status = "degraded"
		}
		components["store"] = st
	}
	if a := h.d.Analysis; a != nil {
		// Optional parts: their absence is reported, not counted against health.
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if llm, err := a.LLMStatus(ctx); err == nil {
			components["llm"] = llm
		} else {
			components["llm"] = fiber.Map{"status": "unknown", "error": err.Error()}
		}
		vs := fiber.Map{"status": "not opened yet (opens on the first /analyze)"}
		if v := a.Vectors(); v != nil {
			vs = fiber.Map{"status": "up", "backend": v.Name()}
			if err := v.Ping(ctx); err != nil {
				vs["status"], vs["error"] = "down", err.Error()
			}
		}
		components["vector_store"] = vs
	}
	return c.JSON(fiber.Map{"status": status, "version": Version, "components": components})
}
