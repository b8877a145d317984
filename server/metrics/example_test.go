package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"stockagent/server/metrics"
)

// The service makes one Metrics at start-up, measures every request with its
// middleware, serves /metrics, and hands the same value to the bridge
// (pybridge.Metrics), the task manager and the handlers.
func Example() {
	m := metrics.New(prometheus.NewRegistry())

	app := fiber.New()
	app.Use(m.Middleware())
	app.Get("/metrics", m.Handler())
	app.Get("/status/:task_id", func(c *fiber.Ctx) error { return c.SendString("running") })

	resp, _ := app.Test(httptest.NewRequest(http.MethodGet, "/status/aapl", nil), -1)
	resp.Body.Close()

	resp, _ = app.Test(httptest.NewRequest(http.MethodGet, "/metrics", nil), -1)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "stockagent_http_requests_total{") {
			fmt.Println(line)
		}
	}
	// Output:
	// stockagent_http_requests_total{code="200",method="GET",route="/status/:task_id"} 1
}
