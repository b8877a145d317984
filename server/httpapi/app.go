// Package httpapi is the HTTP face of the service: routes, handlers,
// middleware and the mapping of errors to {"detail": …} responses (docs/api.md).
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"stockagent/pybridge"
	"stockagent/server/analysis"
	"stockagent/server/forecast"
	"stockagent/server/httpapi/api"
	"stockagent/server/monitoring"
	"stockagent/server/ratelimit"
	"stockagent/server/store"
	"stockagent/server/tickers"
)

// Version is the service's version, reported by / and /health.
const Version = "0.1.0"

// Interpreter is what /health reports of the embedded interpreter.
type Interpreter interface{ Info() pybridge.Info }

// Metrics is the part of the metrics registry the HTTP layer uses.
type Metrics interface {
	Handler() fiber.Handler    // GET /metrics
	Middleware() fiber.Handler // requests and latency by route
	RateLimited(policy string)
}

// Deps are what the handlers need. Optional fields say what nil means.
type Deps struct {
	Logger   *slog.Logger
	Python   Interpreter
	Forecast *forecast.Service
	Analysis *analysis.Service   // nil: /analyze answers 503
	Monitor  *monitoring.Service // nil: /monitor answers 503
	Store    store.Store
	Metrics  Metrics            // nil: no /metrics
	Limiter  *ratelimit.Limiter // nil: no rate limits
	Docs     func(fiber.Router) // mounts GET /docs; nil: none
	App      WebApp             // the browser app, for requests that accept HTML; nil: none

	// CacheStore holds the prediction cache and rate limits: memory beside Store's bbolt
	// file, or Store itself with Redis. /health reports it as "cache_store"; nil: none.
	CacheStore store.Store
	// APIKeys are API_KEYS' entries ("key" or "key:role"); when there are any,
	// every endpoint but /health and /metrics needs one as X-API-Key (unless
	// OpenAccess). None: protected mode, loopback callers only (README, "Access").
	APIKeys []string
	// OpenAccess lets callers without a key read and train.
	OpenAccess bool
	// AdminToken is an admin bearer token (Authorization: Bearer …); empty: none.
	AdminToken string
	// AuthFailures counts wrong and missing credentials per client address; nil: no limit.
	AuthFailures *ratelimit.Lockout
	// MonitorRetrains says the health policy may start a forced retraining
	// (MONITOR_AUTO_RETRAIN): POST /monitor then needs admin.
	MonitorRetrains bool
	// BacktestCostBps is a backtest's cost in basis points when its request names none
	// (BACKTEST_COST_BPS).
	BacktestCostBps float64
	// CORSOrigins are the origins allowed to call from a browser; empty: none
	// (the web app is served from the same origin).
	CORSOrigins []string
	// AllowedHosts are the host names, beyond loopback names and IP literals, that requests
	// may address (Host header); others answer 421. See hostAllowList.
	AllowedHosts []string
	// TrustedProxies may set X-Forwarded-For; others' headers are ignored.
	TrustedProxies []netip.Prefix
	// DataDir is the data folder (the path /outputs reports); LogFile the file /system/logs reads.
	DataDir, LogFile string
	// ModelsDir is the model folder /outputs lists and /outputs/{ticker} reads (MODELS_DIR); empty: DataDir/models.
	ModelsDir string
	// BodyLimit bounds request bodies in bytes. Zero: DefaultBodyLimit.
	BodyLimit int
	// CallTimeout bounds one synchronous call into Python. Zero: DefaultCallTimeout.
	CallTimeout time.Duration
	// AnalyzeTimeout bounds one /analyze run (agent included). Zero: DefaultAnalyzeTimeout.
	AnalyzeTimeout time.Duration
	// ProbesOnly serves /health and /metrics alone (ROLE=trainer): every other path answers
	// 404 naming the role. False: the whole API.
	ProbesOnly bool
	// Draining reports that the process is shutting down: /health answers 503 "draining"
	// so that load balancers stop sending requests. Nil: never.
	Draining func() bool
	// BatchMaxTickers bounds one /predict-batch. Zero: DefaultBatchMaxTickers.
	// BatchThreads are the torch threads of its shared forward. Zero: 1.
	BatchMaxTickers, BatchThreads int
}

// WriteTimeout is longer than the longest synchronous call, so a slow
// answer is sent rather than cut.
func (d Deps) WriteTimeout() time.Duration {
	return max(d.CallTimeout, d.AnalyzeTimeout) + 10*time.Second
}

// Defaults of the Deps fields of the same names.
const (
	DefaultBodyLimit       = 64 << 10 // requests are small JSON objects
	DefaultCallTimeout     = 60 * time.Second
	DefaultAnalyzeTimeout  = 5 * time.Minute
	DefaultBatchMaxTickers = 500
)

// New builds the app with every route; main and the tests both call it.
func New(d Deps) *fiber.App {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.BodyLimit <= 0 {
		d.BodyLimit = DefaultBodyLimit
	}
	if d.CallTimeout <= 0 {
		d.CallTimeout = DefaultCallTimeout
	}
	if d.AnalyzeTimeout <= 0 {
		d.AnalyzeTimeout = DefaultAnalyzeTimeout
	}
	if d.BatchMaxTickers <= 0 {
		d.BatchMaxTickers = DefaultBatchMaxTickers
	}
	d.BatchThreads = max(d.BatchThreads, 1)
	app := fiber.New(fiber.Config{
		AppName:               "stockagent",
		ErrorHandler:          errorHandler(d.Logger),
		BodyLimit:             d.BodyLimit,
		DisableStartupMessage: true,
		// Longer than the longest synchronous call, so a slow forecast is
		// answered rather than cut.
		ReadTimeout:             d.CallTimeout + 10*time.Second,
		WriteTimeout:            d.WriteTimeout(),
		IdleTimeout:             2 * time.Minute,
		EnableTrustedProxyCheck: true,
		// X-Forwarded-Host and -Proto only from these. The client address is
		// resolveClient's: c.IP() would read X-Forwarded-For from the left.
		TrustedProxies: proxyStrings(d.TrustedProxies),
	})
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		d.Logger.Error("panic", "error", e, "path", c.Path(), "request_id", requestID(c))
	}}))
	app.Use(requestid.New(), securityHeaders, resolveClient(d.TrustedProxies))
	if len(d.CORSOrigins) > 0 {
		app.Use(cors.New(cors.Config{
			AllowOrigins: strings.Join(d.CORSOrigins, ","),
			AllowHeaders: "Content-Type, X-API-Key, Authorization",
			AllowMethods: "GET, POST, DELETE, OPTIONS",
		}))
	}
	if d.Metrics != nil {
		app.Use(d.Metrics.Middleware())
	}
	app.Use(accessLog(d.Logger), hostAllowList(d.AllowedHosts), bodyGuard(d.CORSOrigins))
	if d.ProbesOnly {
		app.Use(probesOnly)
	}
	h := &handlers{d: d}
	if d.App != nil {
		// Before any credential is read: the page and its files hold no data, and a browser
		// cannot send a header when it opens a page. The app's own API calls carry the key.
		d.App.Mount(app)
		app.Use(h.page(sync.OnceValue(func() routeSet { return getRoutes(app) })))
	}
	if d.Docs != nil {
		// Public as the document it shows: Swagger UI is where a browser enters the key
		// (Authorize) that its calls then carry.
		d.Docs(app)
	}
	ops, err := operations(spec)
	if err != nil {
		panic(err) // the embedded document is checked by the tests
	}
	acc := newAccess(d)
	h.installGuards(app, ops, acc)
	// Every route is an operation of the document, and every operation a method of h.
	api.RegisterHandlers(app, h)

	// No route: a credential is still checked first, so an unknown path tells a caller without
	// one nothing about which paths exist.
	app.Use(acc.identify(false), noRoute)
	return app
}

// noRoute is the JSON 404 of a path no operation serves.
func noRoute(c *fiber.Ctx) error {
	return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("no route %s %s", c.Method(), c.Path()))
}

// probesOnly answers every path but the probes with 404: a trainer process has no public
// API, so the route does not exist here (403 would suggest that a credential could open it).
func probesOnly(c *fiber.Ctx) error {
	if p := c.Path(); p == "/health" || p == "/metrics" {
		return c.Next()
	}
	return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf(
		"no route %s %s: this process runs ROLE=trainer and serves only /health and /metrics; send API calls to an api replica",
		c.Method(), c.Path()))
}

type handlers struct{ d Deps }

func proxyStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// callCtx derives the context of one call into Python from the request's.
func (h *handlers) callCtx(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.UserContext(), h.d.CallTimeout)
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals("requestid").(string)
	return id
}

// accessLog writes one structured line per request. It runs the error
// handler itself, so the line carries the status the client receives.
func accessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				return herr
			}
		}
		log.Info("request", "method", c.Method(), "path", c.Path(), "status", c.Response().StatusCode(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "ip", clientIP(c), "request_id", requestID(c))
		return nil
	}
}

// decodeTickerBody reads a required JSON body into v and returns its required "ticker"
// field, which decoding writes through ticker, as a model: the canonical ticker, or
// tickers.Parent for the parent's aliases.
func decodeTickerBody(c *fiber.Ctx, v any, ticker *string) (string, error) {
	sent, err := decodeBody(c, v, false)
	if err != nil {
		return "", err
	}
	if !sent["ticker"] {
		return "", badRequest(`missing field "ticker"`)
	}
	return tickers.Model(*ticker)
}

// fields are the top-level fields a body sent with a value other than null. The generated
// types hold a required string as a plain string, which cannot tell "" from absent.
type fields map[string]bool

// decodeBody reads a JSON object body into v (a generated request type), refusing unknown
// fields, and says which fields it sent. An empty body leaves v as it is when allowEmpty.
func decodeBody(c *fiber.Ctx, v any, allowEmpty bool) (fields, error) {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		if allowEmpty {
			return fields{}, nil
		}
		return nil, badRequest("request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return nil, unprocessable(fmt.Sprintf("field %q must be %s", typeErr.Field, jsonType(typeErr.Type)))
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return nil, unprocessable(strings.TrimPrefix(err.Error(), "json: "))
		}
		return nil, badRequest("malformed JSON: " + err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("malformed JSON: trailing data after the object")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, badRequest("malformed JSON: " + err.Error())
	}
	sent := fields{}
	for k, v := range raw {
		sent[k] = string(v) != "null"
	}
	return sent, nil
}

// jsonType names t for a type error: a generated enum type by the kind it holds
// ("string", not "api.TrainChildStrategy").
func jsonType(t reflect.Type) string {
	if t.PkgPath() != "" {
		return t.Kind().String()
	}
	return t.String()
}

// value is *p, or the zero value for an absent optional field.
func value[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
