package httpapi

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/gofiber/fiber/v2"
)

// Role is what a caller may do. Roles are ordered: each holds the ones below it.
type Role int

const (
	RoleNone  Role = iota // nothing beyond /health and /metrics
	RoleRead              // forecasts, analyses, status, models
	RoleTrain             // start trainings
	RoleAdmin             // promotion overrides, force, cancelling others' tasks, reset, logs
)

func (r Role) String() string {
	switch r {
	case RoleRead:
		return "read"
	case RoleTrain:
		return "train"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// Caller is who sent a request, as far as the server can tell: the identity
// that rate limits, task ownership and conversation threads key on, and the
// role it holds. ID is "key:<hash>" for a configured API key (never the key
// itself), else "ip:<address>" — never anything a caller can make up.
type Caller struct {
	ID   string
	Role Role
}

// Can reports whether the caller holds role r.
func (c Caller) Can(r Role) bool { return c.Role >= r }

const callerLocal = "caller"

// callerOf is the caller the identify middleware attached to c.
func callerOf(c *fiber.Ctx) Caller {
	v, _ := c.Locals(callerLocal).(Caller)
	return v
}

// keyID names an API key without revealing it (logs and the store see only this).
func keyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "key:" + hex.EncodeToString(sum[:8])
}

// identify attaches the Caller to every request: a configured key's identity,
// else the peer address (X-Forwarded-For only through TRUSTED_PROXIES). Every
// caller holds every role for now, but one without a key where keys are configured (it
// reaches only /health and /metrics); roles per key come with API_KEYS roles.
func identify(keys []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, role := "ip:"+c.IP(), RoleAdmin
		if k := c.Get("X-API-Key"); k != "" && oneOf(k, keys) {
			id = keyID(k)
		} else if len(keys) > 0 {
			role = RoleNone
		}
		c.Locals(callerLocal, Caller{ID: id, Role: role})
		return c.Next()
	}
}
