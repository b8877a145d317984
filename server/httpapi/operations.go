package httpapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// operation is one operation of the OpenAPI document with the policies it declares there;
// installGuards applies them, so no route table in Go repeats them.
type operation struct {
	ID     string
	Method string // upper case, as Fiber names it
	Path   string // in Fiber's syntax: /status/:task_id
	// Public is security [{}]: served to anyone, no credential read (the document, its page).
	Public bool
	// Role is x-role's role, the one a caller must hold. RoleNone ("none") marks a probe
	// (/health, /metrics): a missing credential is not refused there, a wrong one is.
	// Without x-role: RoleRead, which every caller identify lets through holds.
	Role Role
	// Action is x-role's action: what the 403 of a caller without Role names.
	Action string
	// RateLimit is x-rate-limit: the ratelimit policy the caller's calls count against.
	// Empty: none.
	RateLimit string
}

var pathParamSyntax = regexp.MustCompile(`\{([a-z_]+)\}`)

// operations reads the document's operations, sorted by path and method. A role the server
// does not know is an error: the document would promise a guard nobody applies.
func operations(doc []byte) ([]operation, error) {
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Security    []map[string][]string `json:"security"`
			Role        *struct {
				Role   string `json:"role"`
				Action string `json:"action"`
			} `json:"x-role"`
			RateLimit string `json:"x-rate-limit"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("httpapi: reading the OpenAPI document: %w", err)
	}
	var ops []operation
	for path, methods := range d.Paths {
		for method, o := range methods {
			op := operation{
				ID:        o.OperationID,
				Method:    strings.ToUpper(method),
				Path:      pathParamSyntax.ReplaceAllString(path, ":$1"),
				Public:    len(o.Security) == 1 && len(o.Security[0]) == 0,
				Role:      RoleRead,
				RateLimit: o.RateLimit,
			}
			if o.Role != nil {
				op.Role, op.Action = roleNamed(o.Role.Role), o.Role.Action
				if op.Role == RoleNone && o.Role.Role != RoleNone.String() {
					return nil, fmt.Errorf("httpapi: operation %s: x-role %q is no role", o.OperationID, o.Role.Role)
				}
			}
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops, nil
}

// guards are the handlers that run before op's own: identify (unless the operation is
// public), the role it declares, then its rate limit, in the order the 401, 403 and 429
// have always come in.
func (h *handlers) guards(op operation, a *access) []fiber.Handler {
	var gs []fiber.Handler
	if !op.Public {
		gs = append(gs, a.identify(op.Role == RoleNone))
	}
	if op.Role > RoleRead {
		gs = append(gs, need(op.Role, op.Action))
	}
	// POST /monitor may start a forced retraining only when MONITOR_AUTO_RETRAIN is on: a
	// setting of this server, not of the contract, so its admin rule is decided here.
	if op.ID == "runMonitor" && h.d.MonitorRetrains {
		gs = append(gs, need(RoleAdmin, "monitoring that may retrain (MONITOR_AUTO_RETRAIN=on)"))
	}
	if op.RateLimit != "" {
		gs = append(gs, rateLimit(h.d.Limiter, h.d.Metrics, h.d.Logger, op.RateLimit))
	}
	return gs
}

// installGuards registers each operation's guards on its method and path. Fiber runs the
// handlers registered first on a route first, and their c.Next() moves on to the
// generated route registered after them.
func (h *handlers) installGuards(app *fiber.App, ops []operation, a *access) {
	for _, op := range ops {
		gs := h.guards(op, a)
		if len(gs) == 0 {
			continue
		}
		if op.Method == fiber.MethodGet {
			app.Get(op.Path, gs...) // GET and HEAD, as the generated routes register it
		} else {
			app.Add(op.Method, op.Path, gs...)
		}
	}
}
