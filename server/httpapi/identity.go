package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/config"
	"stockagent/server/ratelimit"
)

// Role is what a caller may do. Roles are ordered: each holds the ones below it.
type Role int

// The roles, lowest first.
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

// roleNamed is the Role an API_KEYS entry names (config.Roles).
func roleNamed(name string) Role {
	for r := RoleRead; r <= RoleAdmin; r++ {
		if r.String() == name {
			return r
		}
	}
	return RoleNone
}

// Caller is who sent a request, as far as the server can tell: the identity
// that rate limits, task ownership and conversation threads key on, and the
// role it holds. ID is "key:<hash>" for a configured API key or the admin
// token (never the secret itself), else "ip:<client address>" — never
// anything a caller can make up.
type Caller struct {
	ID   string
	Role Role
}

// Can reports whether the caller holds role r.
func (c Caller) Can(r Role) bool { return c.Role >= r }

const (
	callerLocal = "caller"
	clientLocal = "client_address"
)

// callerOf is the caller the identify middleware attached to c.
func callerOf(c *fiber.Ctx) Caller {
	v, _ := c.Locals(callerLocal).(Caller)
	return v
}

// keyID names a secret without revealing it (logs and the store see only this).
func keyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "key:" + hex.EncodeToString(sum[:8])
}

// clientAddress is who sent a request: the socket peer, or, when the peer is a
// trusted proxy, the right-most X-Forwarded-For entry that is no trusted proxy
// (several headers read as one list, in order). Entries left of it were written
// by the client and are never read. A malformed entry ends the walk at the last
// trusted hop, which is then the client: never an address a client chose.
func clientAddress(peer netip.Addr, forwarded []string, trusted []netip.Prefix) netip.Addr {
	addr := peer.Unmap().WithZone("")
	for i := len(forwarded) - 1; i >= 0 && isTrusted(addr, trusted); i-- {
		hops := strings.Split(forwarded[i], ",")
		for j := len(hops) - 1; j >= 0 && isTrusted(addr, trusted); j-- {
			next, ok := parseHop(hops[j])
			if !ok {
				return addr
			}
			addr = next
		}
	}
	return addr
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads one X-Forwarded-For entry: an address, or an address and port
// as some proxies write it.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// peerAddr is the socket peer. fasthttp reports 0.0.0.0 for a connection
// that is no network socket (app.Test's in-process one).
func peerAddr(c *fiber.Ctx) netip.Addr {
	a, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	return a.Unmap()
}

// resolveClient attaches the client address to every request, for identity,
// limits and logs alike.
func resolveClient(trusted []netip.Prefix) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var fwd []string
		if len(trusted) > 0 {
			for _, v := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
				fwd = append(fwd, string(v))
			}
		}
		c.Locals(clientLocal, clientAddress(peerAddr(c), fwd, trusted))
		return c.Next()
	}
}

// clientIP is the address resolveClient found.
func clientIP(c *fiber.Ctx) netip.Addr {
	a, _ := c.Locals(clientLocal).(netip.Addr)
	return a
}

// access decides who a request comes from and what it may do (README, "Access").
type access struct {
	keys       []apiKey // compared in constant time, all of them every time
	adminToken [sha256.Size]byte
	hasAdmin   bool
	open       bool // OPEN_ACCESS: callers without a key hold read+train
	failures   *ratelimit.Lockout
	metrics    Metrics
	log        *slog.Logger
}

type apiKey struct {
	sum  [sha256.Size]byte
	id   string
	role Role
}

// newAccess reads d's keys, which config.Load has validated.
func newAccess(d Deps) *access {
	a := &access{open: d.OpenAccess, failures: d.AuthFailures, metrics: d.Metrics, log: d.Logger}
	for _, e := range d.APIKeys {
		k, err := config.ParseAPIKey(e)
		if err != nil {
			panic(fmt.Sprintf("httpapi: API key entry: %v", err))
		}
		a.keys = append(a.keys, apiKey{sum: sha256.Sum256([]byte(k.Key)), id: keyID(k.Key), role: roleNamed(k.Role)})
	}
	if d.AdminToken != "" {
		a.adminToken, a.hasAdmin = sha256.Sum256([]byte(d.AdminToken)), true
	}
	return a
}

// match finds the key got names. Hashing first makes every comparison the same
// length, so timing tells neither a key's bytes nor its length.
func (a *access) match(got string) (apiKey, bool) {
	sum := sha256.Sum256([]byte(got))
	var found apiKey
	ok := 0
	for _, k := range a.keys {
		eq := subtle.ConstantTimeCompare(sum[:], k.sum[:])
		if eq == 1 {
			found = k
		}
		ok |= eq
	}
	return found, ok == 1
}

// identify attaches the Caller to every request, or refuses it:
//   - ADMIN_TOKEN as a bearer token: admin.
//   - A configured X-API-Key: its role. With API_KEYS unset the header names nobody.
//   - No credential: with API_KEYS set, a 401 unless OPEN_ACCESS (read+train);
//     without keys, loopback callers hold every role, others read+train under
//     OPEN_ACCESS and are refused otherwise (protected mode).
//
// A probe (an operation whose x-role is none: /health, /metrics) is never refused
// for a missing credential (probes carry none), only for a wrong one. Wrong or
// missing credentials count against the client address (AUTH_FAILURE_LIMIT), and
// a locked-out address is refused even a right one.
func (a *access) identify(probe bool) fiber.Handler {
	return func(c *fiber.Ctx) error { return a.identifyCaller(c, probe) }
}

func (a *access) identifyCaller(c *fiber.Ctx, probe bool) error {
	addr := clientIP(c)
	key := c.Get("X-API-Key")
	token, bearer := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	bearer = bearer && a.hasAdmin
	keyed := len(a.keys) > 0
	needKey := keyed && !a.open && !probe
	if bearer || (keyed && key != "") || needKey {
		if err := a.lockedOut(c, addr); err != nil {
			return err
		}
	}
	caller := Caller{ID: "ip:" + addr.String()}
	switch {
	case bearer:
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], a.adminToken[:]) != 1 {
			return a.failed(c, addr, fiber.StatusForbidden, "invalid admin token")
		}
		caller = Caller{ID: keyID(token), Role: RoleAdmin}
	case keyed && key != "":
		k, ok := a.match(key)
		if !ok {
			return a.failed(c, addr, fiber.StatusForbidden, "invalid API key")
		}
		caller = Caller{ID: k.id, Role: k.role}
	case needKey:
		return a.failed(c, addr, fiber.StatusUnauthorized, "missing X-API-Key header")
	case !keyed && (addr.IsLoopback() || addr.IsUnspecified() && addr == peerAddr(c)):
		caller.Role = RoleAdmin // the laptop: this machine's own callers
	case a.open:
		caller.Role = RoleTrain
	case !probe:
		return fiber.NewError(fiber.StatusForbidden, "this server has no API_KEYS and serves only loopback callers: "+
			"set API_KEYS (e.g. API_KEYS=key:admin) and send X-API-Key, or set OPEN_ACCESS=1 to let anyone read and train")
	}
	c.Locals(callerLocal, caller)
	return c.Next()
}

// lockedOut refuses an address that failed too often. A store failure lets the
// request through, as the rate limits do.
func (a *access) lockedOut(c *fiber.Ctx, addr netip.Addr) error {
	if a.failures == nil {
		return nil
	}
	wait, err := a.failures.Locked(c.UserContext(), addr.String())
	if err != nil {
		a.log.Warn("authentication lockout not checked", "error", err)
		return nil
	}
	if wait > 0 {
		return a.refuse(c, ratelimit.Decision{RetryAfter: wait})
	}
	return nil
}

// failed counts a failed authentication by addr and answers status and detail,
// or a 429 once the address is over AUTH_FAILURE_LIMIT.
func (a *access) failed(c *fiber.Ctx, addr netip.Addr, status int, detail string) error {
	if a.failures != nil {
		d, err := a.failures.Fail(c.UserContext(), addr.String())
		if err != nil {
			a.log.Warn("authentication failure not counted", "error", err)
		} else if !d.Allowed {
			return a.refuse(c, d)
		}
	}
	return fiber.NewError(status, detail)
}

func (a *access) refuse(c *fiber.Ctx, d ratelimit.Decision) error {
	if a.metrics != nil {
		a.metrics.RateLimited(a.failures.Policy())
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(d.RetryAfterSeconds()))
	return fiber.NewError(fiber.StatusTooManyRequests, fmt.Sprintf(
		"too many failed authentications from this address; retry in %d s", d.RetryAfterSeconds()))
}

// need refuses callers that lack role r; what names the action for the detail.
func need(r Role, what string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := requireRole(c, r, what); err != nil {
			return err
		}
		return c.Next()
	}
}

func requireRole(c *fiber.Ctx, r Role, what string) error {
	if callerOf(c).Can(r) {
		return nil
	}
	how := fmt.Sprintf("an X-API-Key listed as key:%s in API_KEYS", r)
	if r == RoleAdmin {
		how += ", or Authorization: Bearer <ADMIN_TOKEN>"
	}
	return fiber.NewError(fiber.StatusForbidden, fmt.Sprintf("%s needs the %s role (%s); this caller holds %s",
		what, r, how, callerOf(c).Role))
}
