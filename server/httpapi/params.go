package httpapi

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/tickers"
)

// pathParam is a route parameter percent-decoded: Fiber hands parameters over
// as sent, and clients encode '^' (/monitor/%5EGSPC). An undecodable value is
// returned as sent, for the validation that follows to refuse. The result is a
// copy, safe to keep after the handler returns.
func pathParam(c *fiber.Ctx, name string) string {
	raw := strings.Clone(c.Params(name)) // PathUnescape returns its input when there is nothing to decode
	if v, err := url.PathUnescape(raw); err == nil {
		return v
	}
	return raw
}

// pathModel is the model the URL's ticker names (tickers.Model).
func pathModel(c *fiber.Ctx) (string, error) {
	return tickers.Model(pathParam(c, "ticker"))
}
