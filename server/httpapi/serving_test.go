package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/config"
	"stockagent/server/ratelimit"
	"stockagent/server/store"
)

// request sends one JSON request with header to app and returns the status, the body
// as a JSON object (nil when it is not one) and the response headers.
func request(t *testing.T, app *fiber.App, method, path, body string, header map[string]string) (int, map[string]any, map[string]string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out) // not every answer is JSON: callers check the status first
	h := map[string]string{}
	for k := range res.Header {
		h[k] = res.Header.Get(k)
	}
	return res.StatusCode, out, h
}

func withLimiter(t *testing.T, trusted []string) func(*Deps) {
	return func(d *Deps) {
		pred, _ := ratelimit.ParsePolicy("prediction", "40/hour")
		train, _ := ratelimit.ParsePolicy("training", "5/hour")
		l, err := ratelimit.New(store.NewMemory(), ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{pred, train}})
		if err != nil {
			t.Fatal(err)
		}
		d.Limiter = l
		for _, p := range trusted {
			prefix, err := config.ParseProxy(p)
			if err != nil {
				t.Fatal(err)
			}
			d.TrustedProxies = append(d.TrustedProxies, prefix)
		}
	}
}

// The 41st prediction in an hour from one client is a 429 with Retry-After,
// while another client is still served.
func TestRateLimitsArePerClient(t *testing.T) {
	app, py, _ := newTestApp(t, withLimiter(t, nil), func(d *Deps) { d.APIKeys = []string{"alice", "bob"} })
	py.trained["AAPL"] = true
	alice := map[string]string{"X-API-Key": "alice"}
	for i := range 40 {
		status, _, h := request(t, app, "POST", "/predict-child", `{"ticker":"AAPL"}`, alice)
		if status != 200 || h["X-Ratelimit-Limit"] != "40" || h["X-Ratelimit-Remaining"] != strconv.Itoa(39-i) {
			t.Fatalf("call %d: %d, headers %v", i+1, status, h)
		}
	}
	status, body, h := request(t, app, "POST", "/predict-child", `{"ticker":"AAPL"}`, alice)
	retry, _ := strconv.Atoi(h["Retry-After"])
	if status != 429 || retry <= 0 || !strings.Contains(body["detail"].(string), "rate limit") {
		t.Fatalf("41st call: %d %v Retry-After=%q", status, body, h["Retry-After"])
	}
	if status, _, _ := request(t, app, "POST", "/predict-child", `{"ticker":"AAPL"}`, map[string]string{"X-API-Key": "bob"}); status != 200 {
		t.Fatalf("another client was refused: %d", status)
	}
	// Status polling is never limited.
	for range 50 {
		if status, _, _ := request(t, app, "GET", "/tasks", "", alice); status != 200 {
			t.Fatalf("GET /tasks limited: %d", status)
		}
	}
}

func TestAPIKeys(t *testing.T) {
	app, _, _ := newTestApp(t, func(d *Deps) { d.APIKeys = []string{"k1", "k2"} })
	cases := map[string]struct {
		method, path, key string
		status            int
	}{
		"health needs none":  {"GET", "/health", "", 200},
		"metrics needs none": {"GET", "/metrics", "", 200},
		"spec needs none":    {"GET", "/openapi.json", "", 200},
		"docs need none":     {"GET", "/docs", "", 200},
		"missing key":        {"GET", "/tasks", "", 401},
		"wrong key":          {"GET", "/tasks", "nope", 403},
		"right key":          {"GET", "/tasks", "k2", 200},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.key != "" {
				req.Header.Set("X-API-Key", tc.key)
			}
			res, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status {
				t.Fatalf("got %d, want %d", res.StatusCode, tc.status)
			}
		})
	}
}

// Reset needs admin: an admin key or ADMIN_TOKEN, never a train key.
func TestResetNeedsAdmin(t *testing.T) {
	app, py, _ := newTestApp(t, func(d *Deps) { d.APIKeys, d.AdminToken = []string{"k"}, "s3cret" })
	py.trained["AAPL"] = true
	key := map[string]string{"X-API-Key": "k"}
	request(t, app, "POST", "/predict-child", `{"ticker":"AAPL"}`, key)
	if _, body, _ := request(t, app, "GET", "/system/cache", "", key); body["count"] != float64(1) {
		t.Fatalf("cache before reset: %v", body)
	}
	for name, tc := range map[string]struct {
		header map[string]string
		status int
	}{
		"train key":  {key, 403},
		"not bearer": {map[string]string{"X-API-Key": "k", "Authorization": "Basic x"}, 403},
		"wrong":      {map[string]string{"Authorization": "Bearer nope"}, 403},
	} {
		if status, _, _ := request(t, app, "DELETE", "/system/reset", "", tc.header); status != tc.status {
			t.Errorf("%s: %d, want %d", name, status, tc.status)
		}
	}
	status, body, _ := request(t, app, "DELETE", "/system/reset", "", map[string]string{"Authorization": "Bearer s3cret"})
	if status != 200 || body["status"] != "System Reset Complete" {
		t.Fatalf("reset: %d %v", status, body)
	}
	if _, body, _ := request(t, app, "GET", "/system/cache", "", key); body["count"] != float64(0) {
		t.Fatalf("cache after reset: %v", body)
	}
}

func TestCancelTask(t *testing.T) {
	app, py, m := newTestApp(t)
	py.trained["parent"] = true
	request(t, app, "POST", "/train-child", `{"ticker":"AAPL"}`, nil)
	status, body, _ := request(t, app, "DELETE", "/tasks/aapl", "", nil)
	if status != 200 || body["status"] != "cancelling" {
		t.Fatalf("cancel: %d %v", status, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rec, _ := m.Wait(ctx, "aapl"); rec.Status != "failed" {
		t.Fatalf("cancelled task: %+v", rec)
	}
	if status, _, _ := request(t, app, "DELETE", "/tasks/aapl", "", nil); status != 409 {
		t.Fatalf("cancel a finished task: %d, want 409", status)
	}
	if status, _, _ := request(t, app, "DELETE", "/tasks/nope", "", nil); status != 404 {
		t.Fatalf("cancel unknown: %d", status)
	}
}

func TestSystemLogsBounded(t *testing.T) {
	app, _, _ := newTestApp(t, func(d *Deps) { d.LogFile = d.DataDir + "/logs/server.log" })
	for _, q := range []string{"abc", "0", "5001", "100000", "", "1e3", "99999999999999999999"} {
		if status, body, _ := request(t, app, "GET", "/system/logs?lines="+q, "", nil); status != 422 || !strings.Contains(body["detail"].(string), "from 1 to 5000") {
			t.Errorf("lines=%s: %d %v", q, status, body)
		}
	}
	status, body, _ := request(t, app, "GET", "/system/logs?lines=5000", "", nil)
	if status != 200 || body["lines"] != float64(MaxLogLines) {
		t.Fatalf("lines=5000: %d %v", status, body)
	}
}

func TestCORSAllowList(t *testing.T) {
	app, _, _ := newTestApp(t, func(d *Deps) { d.CORSOrigins = []string{"https://app.example"} })
	preflight := func(origin string) string {
		req := httptest.NewRequest(http.MethodOptions, "/predict-child", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		return res.Header.Get("Access-Control-Allow-Origin")
	}
	if got := preflight("https://app.example"); got != "https://app.example" {
		t.Errorf("allowed origin got %q", got)
	}
	if got := preflight("https://evil.example"); got != "" {
		t.Errorf("other origin got Access-Control-Allow-Origin %q", got)
	}
}
