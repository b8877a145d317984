package metrics

import (
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// unmatched is the route label of a request that no route took: a 404 or 405
// answered by fiber itself or by a catch-all middleware.
const unmatched = "unmatched"

// Middleware measures every request that passes through it into
// stockagent_http_requests_total{route,method,code} and
// stockagent_http_request_duration_seconds{route,method}.
//
// The route label is the template of the route that answered
// ("/status/:task_id", never the raw path "/status/aapl"), or "unmatched"
// when no route did, only middleware (fiber's own 404/405 or a catch-all
// app.Use). The code is the one the client receives: when the rest of the
// chain returns an error, Middleware hands it to the app's ErrorHandler
// itself and returns nil, as the service's access log does; should the error
// handler fail too, the answer is a bare 500, as fiber would make it. A panic
// passing through is counted as a 500 and goes on to the recover middleware,
// which must sit further out.
//
// Install it early, with app.Use, before the routes.
func (m *Metrics) Middleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		done := false
		defer func() {
			if !done { // a panic is unwinding through the chain
				m.observeRequest(c, fiber.StatusInternalServerError, time.Since(start))
			}
		}()
		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		done = true
		m.observeRequest(c, c.Response().StatusCode(), time.Since(start))
		return nil
	}
}

func (m *Metrics) observeRequest(c *fiber.Ctx, code int, d time.Duration) {
	route, method := m.routes.label(c), methodLabel(c.Method())
	m.httpRequests.WithLabelValues(route, method, codeLabel(code)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// methods are the standard method names.
var methods = []string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
	fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace}

// methodLabel returns the standard method names as constants (c.Method() may
// be a view of the request buffer) and "other" for anything else.
func methodLabel(method string) string { return pick(method, methods) }

// codeLabels holds the label of every status code from 100 to 599, made once
// so that a request allocates none.
var codeLabels = func() (l [500]string) {
	for i := range l {
		l[i] = strconv.Itoa(100 + i)
	}
	return l
}()

func codeLabel(code int) string {
	if code < 100 || code > 599 {
		return other
	}
	return codeLabels[code-100]
}

// routeCache tells, for the route a request ended on, whether it is a real
// route (its template is the label) or middleware (app.Use: the request is
// "unmatched"). fiber keeps that flag unexported, so the cache lists the
// routes App.GetRoutes reports without middleware, keyed by the address of
// their first handler, which the *fiber.Route the request ran shares. It is
// rebuilt whenever the app or its handler count changes, that is when routes
// were added since. Its methods may be called concurrently.
type routeCache struct {
	p atomic.Pointer[routeIndex]
}

type routeIndex struct {
	app      *fiber.App
	handlers uint32
	labels   map[*fiber.Handler]string // read-only once stored
}

func (rc *routeCache) label(c *fiber.Ctx) string {
	r := c.Route() // the last route the request entered
	if len(r.Handlers) == 0 {
		return unmatched
	}
	app := c.App()
	idx := rc.p.Load()
	if idx == nil || idx.app != app || idx.handlers != app.HandlersCount() {
		idx = newRouteIndex(app)
		rc.p.Store(idx)
	}
	if l, ok := idx.labels[&r.Handlers[0]]; ok {
		return l
	}
	return unmatched
}

func newRouteIndex(app *fiber.App) *routeIndex {
	idx := &routeIndex{app: app, handlers: app.HandlersCount(), labels: make(map[*fiber.Handler]string)}
	for _, r := range app.GetRoutes(true) { // true: without middleware
		if len(r.Handlers) == 0 {
			continue
		}
		l := r.Path
		if l == "" || !utf8.ValidString(l) {
			l = other
		}
		idx.labels[&r.Handlers[0]] = l
	}
	return idx
}
