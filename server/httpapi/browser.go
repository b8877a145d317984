package httpapi

import (
	"mime"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Defences against what a web page on another site can make a browser do: send a "simple"
// request (text/plain or form body, or none) without a CORS preflight, or point a name it
// owns at this server (DNS rebinding) and then read the answers as same-origin.

// apiPolicy is the Content-Security-Policy of every response that sets none of its own: JSON
// and errors load nothing and may not be framed.
const apiPolicy = "default-src 'none'; frame-ancestors 'none'"

// securityHeaders gives every response the headers of secure, after the handlers ran.
func securityHeaders(c *fiber.Ctx) error {
	err := c.Next()
	secure(c)
	return err
}

// secure sets the headers every response carries; the error handler calls it too, for the
// errors the server answers before any middleware runs (a 431 for an oversized request line).
// A handler that sets its own Content-Security-Policy (the web app's page, /docs) keeps it,
// with frame-ancestors added when it lacks one, so each response has one policy.
func secure(c *fiber.Ctx) {
	h := &c.Response().Header
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderReferrerPolicy, "same-origin")
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	switch csp := string(h.Peek(fiber.HeaderContentSecurityPolicy)); {
	case csp == "":
		h.Set(fiber.HeaderContentSecurityPolicy, apiPolicy)
	case !strings.Contains(csp, "frame-ancestors"):
		h.Set(fiber.HeaderContentSecurityPolicy, strings.TrimRight(csp, "; ")+"; frame-ancestors 'none'")
	}
}

// hostAllowList answers 421 to a request whose Host is not this server's: loopback names and
// IP literals always pass, other names only when listed (an entry ".example.com" also admits
// its subdomains; "*" admits every name). /health and /metrics pass whatever the Host, for
// probes and scrapers that address the server by a service name.
func hostAllowList(allowed []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if p := c.Path(); p == "/health" || p == "/metrics" {
			return c.Next()
		}
		if host := hostName(c.Hostname()); !hostAllowed(host, allowed) {
			return fiber.NewError(fiber.StatusMisdirectedRequest,
				"host "+quote(host)+" is not served here; list it in ALLOWED_HOSTS")
		}
		return c.Next()
	}
}

// hostName is the host of a Host header without its port or IPv6 brackets, lower case.
func hostName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.Trim(h, "[]"))
}

func hostAllowed(host string, allowed []string) bool {
	host = strings.TrimSuffix(host, ".")
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") || net.ParseIP(host) != nil {
		return true
	}
	for _, a := range allowed {
		a = strings.ToLower(a)
		switch {
		case a == "*", a == host:
			return true
		case strings.HasPrefix(a, ".") && (strings.HasSuffix(host, a) || host == a[1:]):
			return true
		}
	}
	return false
}

// quote shows a caller's value in a detail, cut short.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// bodyGuard refuses what a page on another site could send without a preflight: a body that
// is not JSON (415), and a bodyless POST or DELETE from a cross-site page (403) unless its
// origin is one of CORS_ORIGINS. Bodyless calls from curl and scripts send no Origin and pass.
func bodyGuard(corsOrigins []string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if len(c.Body()) > 0 {
			mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
			if err != nil || mt != fiber.MIMEApplicationJSON {
				return fiber.NewError(fiber.StatusUnsupportedMediaType,
					"a request body must be JSON sent as Content-Type: application/json")
			}
			return c.Next()
		}
		if m := c.Method(); m != fiber.MethodPost && m != fiber.MethodDelete {
			return c.Next()
		}
		origin := c.Get(fiber.HeaderOrigin)
		if slices.Contains(corsOrigins, origin) {
			return c.Next()
		}
		if (origin != "" && !sameOrigin(origin, c)) || c.Get("Sec-Fetch-Site") == "cross-site" {
			return fiber.NewError(fiber.StatusForbidden,
				"cross-site request refused: its origin is not listed in CORS_ORIGINS")
		}
		return c.Next()
	}
}

// sameOrigin reports whether origin names the host the request was sent to.
func sameOrigin(origin string, c *fiber.Ctx) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, c.Hostname())
}
