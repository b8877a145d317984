package httpapi

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// spec is the OpenAPI document: the routes New registers (api.RegisterHandlers) and the
// guards it installs (operations) both come from it.
//
//go:embed openapi.json
var spec []byte

// GET /openapi.json
func (h *handlers) GetOpenAPIDocument(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(spec)
}

// GET /docs is answered by Deps.Docs, mounted ahead of the generated routes; this is
// reached only on a server without it.
func (h *handlers) GetDocs(c *fiber.Ctx) error { return noRoute(c) }

// GET /metrics: Deps.Metrics' exposition, or no route on a server without it.
func (h *handlers) GetMetrics(c *fiber.Ctx) error {
	if h.d.Metrics == nil {
		return noRoute(c)
	}
	return h.d.Metrics.Handler()(c)
}
