//go:build !(linux || darwin)

package httpapi

import (
	"context"

	"github.com/gofiber/fiber/v2"
)

// untilClientGone is c's context: watching the socket (disconnect.go) needs
// a Unix recv with MSG_PEEK.
func untilClientGone(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	return context.WithCancel(c.UserContext())
}
