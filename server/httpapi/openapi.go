package httpapi

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// spec is the OpenAPI document of every route in New; a test keeps the two in step.
//
//go:embed openapi.json
var spec []byte

// GET /openapi.json
func openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(spec)
}
