package httpapi

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/ratelimit"
)

// rateLimit applies policy per client. When the store behind the limiter
// fails, the request is let through and the failure logged: the limits
// protect the service, and refusing every client would be the larger harm.
func rateLimit(l *ratelimit.Limiter, m Metrics, log *slog.Logger, policy string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if l == nil {
			return c.Next()
		}
		d, err := l.Allow(c.UserContext(), policy, callerOf(c).ID)
		if err != nil {
			log.Warn("rate limit not checked", "policy", policy, "error", err)
			return c.Next()
		}
		if d.Limit > 0 {
			c.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
			c.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
			c.Set("X-RateLimit-Reset", strconv.Itoa(d.ResetSeconds()))
		}
		if !d.Allowed {
			if m != nil {
				m.RateLimited(policy)
			}
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(d.RetryAfterSeconds()))
			return fiber.NewError(fiber.StatusTooManyRequests,
				fmt.Sprintf("rate limit exceeded for %s requests (%d per window for each client); retry in %d s", policy, d.Limit, d.RetryAfterSeconds()))
		}
		return c.Next()
	}
}
