package httpapi

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/redact"
	"stockagent/server/store"
)

// GET / describes the service (docs/api.md, "Endpoints").
func (h *handlers) GetServiceInfo(c *fiber.Ctx) error {
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
			"predict_batch":  "POST /predict-batch",
			"models":         "GET /models",
			"model":          "GET /models/{ticker}",
			"tickers":        "GET /tickers",
		},
	})
}

// GET /health reports the service and each component it depends on:
// "healthy" when all are up, "degraded" otherwise (the components say which), and
// 503 "draining" once the process is shutting down (readiness fails first).
// Callers without the admin role see only those states: versions, paths,
// addresses and errors tell an attacker what to aim at.
func (h *handlers) GetHealth(c *fiber.Ctx) error {
	if h.d.Draining != nil && h.d.Draining() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "draining",
			"detail": "shutting down: running trainings go back to the queue"})
	}
	status := "healthy"
	python := fiber.Map{"status": "down"}
	if h.d.Python != nil {
		python = fiber.Map{"status": "up", "interpreter": h.d.Python.Info()}
	} else {
		status = "degraded"
	}
	components := map[string]fiber.Map{"python": python}
	for name, s := range map[string]store.Store{"store": h.d.Store, "cache_store": h.d.CacheStore} {
		if s == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		st := fiber.Map{"status": "up", "backend": s.Name()}
		if err := s.Ping(ctx); err != nil {
			st["status"], st["error"] = "down", err.Error()
			status = "degraded"
		}
		cancel()
		components[name] = st
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
	if f := h.d.Forecast; f != nil {
		// Replicas sharing the serving pointers: what this one serves, and any version it refused.
		if states := f.Serving(); states != nil {
			comp := fiber.Map{"status": "up", "models": states}
			for _, m := range states {
				if m.Refused != "" {
					comp["status"], status = "stale", "degraded"
				}
			}
			components["serving"] = comp
		}
	}
	if !callerOf(c).Can(RoleAdmin) {
		for name, comp := range components {
			components[name] = fiber.Map{"status": comp["status"]}
		}
		return c.JSON(fiber.Map{"status": status, "components": components})
	}
	for _, comp := range components {
		if e, ok := comp["error"].(string); ok {
			comp["error"] = redact.Text(e)
		}
	}
	return c.JSON(fiber.Map{"status": status, "version": Version, "components": components})
}

// WebApp is the browser app (package web): its files, and the page that shows every one of
// its paths.
type WebApp interface {
	Mount(r fiber.Router)    // GET /assets/*: the files the page loads
	Page(c *fiber.Ctx) error // the page
}

// page answers a browser with the web app. A GET or HEAD that accepts text/html gets the page at
// / (API clients keep the JSON above) and at any path that is no GET route of the API, so the
// app's own paths (/monitor, /analyze/AAPL) survive a reload. Everything else goes on: API
// paths answer as ever, and unknown ones keep their JSON 404.
func (h *handlers) page(api func() routeSet) fiber.Handler {
	return func(c *fiber.Ctx) error {
		m := c.Method()
		if (m == fiber.MethodGet || m == fiber.MethodHead) && strings.Contains(c.Get(fiber.HeaderAccept), "text/html") &&
			(c.Path() == "/" || !api().match(c.Path())) {
			return h.d.App.Page(c)
		}
		return c.Next()
	}
}

// routeSet holds the GET routes' paths, split into segments.
type routeSet [][]string

// getRoutes reads the app's GET routes; called once every route is registered.
func getRoutes(app *fiber.App) routeSet {
	var rs routeSet
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodGet {
			rs = append(rs, strings.Split(strings.Trim(r.Path, "/"), "/"))
		}
	}
	return rs
}

// match reports whether path is one of the routes: ":name" stands for one segment, "*" for
// the rest of the path.
func (rs routeSet) match(path string) bool {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, r := range rs {
		if matchRoute(r, segs) {
			return true
		}
	}
	return false
}

func matchRoute(route, segs []string) bool {
	for i, part := range route {
		switch {
		case part == "*":
			return true
		case i >= len(segs):
			return false
		case strings.HasPrefix(part, ":"):
			if segs[i] == "" {
				return false
			}
		case part != segs[i]:
			return false
		}
	}
	return len(route) == len(segs)
}
