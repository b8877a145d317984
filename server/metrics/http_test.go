package metrics_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/valyala/fasthttp"

	"stockagent/server/metrics"
)

// newApp builds an app shaped like the service's: an error handler that turns
// *fiber.Error into its status and anything else into 500, recover outside
// the metrics middleware, a few routes, and optionally the catch-all 404
// middleware httpapi ends with.
func newApp(m *metrics.Metrics, catchAll bool) *fiber.App {
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		code := fiber.StatusInternalServerError
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code = fe.Code
		}
		return c.Status(code).JSON(fiber.Map{"detail": err.Error()})
	}})
	app.Use(recover.New())
	app.Use(m.Middleware())
	app.Get("/metrics", m.Handler())
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString("root") })
	app.Get("/status/:task_id", func(c *fiber.Ctx) error {
		if c.Params("task_id") == "missing" {
			return fiber.NewError(fiber.StatusNotFound, "unknown task")
		}
		return c.JSON(fiber.Map{"status": "running"})
	})
	app.Post("/predict-child", func(c *fiber.Ctx) error { return errors.New("internal") })
	app.Post("/train-parent", func(c *fiber.Ctx) error { return c.Status(fiber.StatusAccepted).SendString("started") })
	app.Get("/panic", func(c *fiber.Ctx) error { panic("boom") })
	v1 := app.Group("/v1")
	v1.Get("/models/:ticker", func(c *fiber.Ctx) error { return c.SendString("model") })
	if catchAll {
		app.Use(func(c *fiber.Ctx) error {
			return fiber.NewError(fiber.StatusNotFound, "no route "+c.Path())
		})
	}
	return app
}

func TestMiddleware(t *testing.T) {
	type request struct{ method, path string }
	cases := map[string]struct {
		requests []request
		wantCode int
		want     []string
	}{
		"route template, not the raw path": {
			[]request{{"GET", "/status/aapl"}, {"GET", "/status/msft"}},
			200,
			[]string{
				`stockagent_http_requests_total{code="200",method="GET",route="/status/:task_id"} 2`,
				`stockagent_http_request_duration_seconds_count{method="GET",route="/status/:task_id"} 2`,
			},
		},
		"root route": {
			[]request{{"GET", "/"}},
			200,
			[]string{`stockagent_http_requests_total{code="200",method="GET",route="/"} 1`},
		},
		"group route": {
			[]request{{"GET", "/v1/models/AAPL"}},
			200,
			[]string{`stockagent_http_requests_total{code="200",method="GET",route="/v1/models/:ticker"} 1`},
		},
		"status set by the handler": {
			[]request{{"POST", "/train-parent"}},
			202,
			[]string{`stockagent_http_requests_total{code="202",method="POST",route="/train-parent"} 1`},
		},
		"404 of a matched route keeps its template": {
			[]request{{"GET", "/status/missing"}},
			404,
			[]string{`stockagent_http_requests_total{code="404",method="GET",route="/status/:task_id"} 1`},
		},
		"error turned into its final status": {
			[]request{{"POST", "/predict-child"}},
			500,
			[]string{`stockagent_http_requests_total{code="500",method="POST",route="/predict-child"} 1`},
		},
		"unmatched path": {
			[]request{{"GET", "/no/such/path"}, {"GET", "/aapl"}},
			404,
			[]string{`stockagent_http_requests_total{code="404",method="GET",route="unmatched"} 2`},
		},
		"unmatched method": {
			[]request{{"DELETE", "/status/aapl"}},
			405,
			[]string{`stockagent_http_requests_total{code="405",method="DELETE",route="unmatched"} 1`},
		},
		"unknown method": {
			[]request{{"BREW", "/status/aapl"}},
			400, // refused by fiber before any middleware runs: not counted
			nil,
		},
		"panic counted as 500": {
			[]request{{"GET", "/panic"}},
			500,
			[]string{`stockagent_http_requests_total{code="500",method="GET",route="/panic"} 1`},
		},
	}
	for _, catchAll := range []bool{false, true} {
		for name, tc := range cases {
			if catchAll {
				name += ", catch-all 404 middleware"
			}
			t.Run(name, func(t *testing.T) {
				m, _ := newMetrics(t)
				app := newApp(m, catchAll)
				wantCode := tc.wantCode
				if catchAll && wantCode == fiber.StatusMethodNotAllowed {
					wantCode = fiber.StatusNotFound // the catch-all answers before fiber's 405
				}
				for _, r := range tc.requests {
					resp, err := app.Test(httptest.NewRequest(r.method, r.path, nil), -1)
					if err != nil {
						t.Fatalf("%s %s: %v", r.method, r.path, err)
					}
					resp.Body.Close()
					if resp.StatusCode != wantCode {
						t.Fatalf("%s %s: status %d, want %d", r.method, r.path, resp.StatusCode, wantCode)
					}
				}
				got := getMetrics(t, m)
				want := tc.want
				if catchAll {
					want = nil
					for _, w := range tc.want {
						want = append(want, strings.Replace(w, `code="405"`, `code="404"`, 1))
					}
				}
				wantSamples(t, got, want...)
				for name, f := range got {
					if !strings.HasPrefix(name, "stockagent_http_") {
						continue
					}
					for _, s := range f.GetMetric() {
						for _, l := range s.GetLabel() {
							if l.GetName() == "route" && len(tc.want) == 0 && l.GetValue() != "/metrics" {
								t.Errorf("unexpected series %s %v", name, s.GetLabel())
							}
							if v := l.GetValue(); strings.Contains(v, "aapl") || strings.Contains(v, "AAPL") || strings.Contains(v, "/no/such") {
								t.Errorf("raw path in a label: %s %v", name, s.GetLabel())
							}
						}
					}
				}
			})
		}
	}
}

// TestMiddlewareSeesRoutesAddedLater checks that a route registered after the
// first request is still told from middleware.
func TestMiddlewareSeesRoutesAddedLater(t *testing.T) {
	m, _ := newMetrics(t)
	app := fiber.New()
	app.Use(m.Middleware())
	app.Get("/a", func(c *fiber.Ctx) error { return nil })
	for _, path := range []string{"/a", "/b/1"} {
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	app.Get("/b/:id", func(c *fiber.Ctx) error { return nil })
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/b/2", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantSamples(t, getMetrics(t, m),
		`stockagent_http_requests_total{code="200",method="GET",route="/a"} 1`,
		`stockagent_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`stockagent_http_requests_total{code="200",method="GET",route="/b/:id"} 1`,
	)
}

// BenchmarkMiddleware measures a request through the middleware against one
// without it; the difference is the middleware's cost per request.
func BenchmarkMiddleware(b *testing.B) {
	for _, withMetrics := range []bool{false, true} {
		name := "without"
		if withMetrics {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			app := fiber.New()
			if withMetrics {
				app.Use(metrics.New(nil).Middleware())
			}
			app.Get("/status/:task_id", func(c *fiber.Ctx) error { return c.SendString("running") })
			h := app.Handler()
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/status/aapl")
			ctx.Request.Header.SetMethod(fiber.MethodGet)
			b.ReportAllocs()
			for b.Loop() {
				h(&ctx)
				ctx.Response.Reset()
			}
		})
	}
}
