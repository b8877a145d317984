package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"stockagent/server/metrics"
	"stockagent/server/metrics/scrape"
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
	page, err := scrape.Parse(resp.Body)
	resp.Body.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(page.Value(`stockagent_http_requests_total{route="/status/:task_id",method="GET",code="200"}`))
	// Output:
	// 1 true
}
