package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"stockagent/web"
)

const testPage = "<!doctype html><title>the app</title>"

func testWebApp(t *testing.T) *web.App {
	t.Helper()
	a, err := web.NewApp(fstest.MapFS{
		"index.html":           {Data: []byte(testPage)},
		"assets/app-1a2b3c.js": {Data: []byte("console.log(1)")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A browser gets the web app at / and at the app's own paths; API clients get what they always
// got, and an API path stays an API path whatever the Accept header says.
func TestWebAppNegotiation(t *testing.T) {
	// What a browser sends for a page.
	const html = "text/html,application/xhtml+xml,*/*;q=0.8"
	app, _, _ := newTestApp(t) // its App is testWebApp
	for name, tc := range map[string]struct {
		method, path, accept string
		status               int
		page                 bool // the app's index.html, else not
		bodyHas              string
	}{
		"browser at /":             {"GET", "/", html, 200, true, ""},
		"API client at /":          {"GET", "/", "application/json", 200, false, `"project"`},
		"curl at /":                {"GET", "/", "*/*", 200, false, `"project"`},
		"no Accept at /":           {"GET", "/", "", 200, false, `"project"`},
		"HEAD from a browser":      {"HEAD", "/monitor", html, 200, false, ""},
		"app page /monitor":        {"GET", "/monitor", html, 200, true, ""},
		"app page /analyze/AAPL":   {"GET", "/analyze/AAPL", html, 200, true, ""},
		"unknown page":             {"GET", "/no/such/page", html, 200, true, ""},
		"API route from a browser": {"GET", "/health", html, 200, false, `"status"`},
		"API param route":          {"GET", "/status/nope", html, 404, false, `"detail"`},
		"docs stay docs":           {"GET", "/docs", html, 200, false, "swagger-ui"},
		"unknown path, API client": {"GET", "/no/such/page", "application/json", 404, false, `"detail"`},
		"POST from a browser":      {"POST", "/monitor", html, 404, false, `"detail"`},
		"app file":                 {"GET", "/assets/app-1a2b3c.js", "*/*", 200, false, "console.log"},
		"missing app file":         {"GET", "/assets/nope.js", html, 404, false, `"detail"`},
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			res, err := app.Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			body := string(raw)
			if res.StatusCode != tc.status {
				t.Fatalf("%s %s: status %d, want %d (%s)", tc.method, tc.path, res.StatusCode, tc.status, body)
			}
			if got := body == testPage; got != tc.page {
				t.Errorf("%s %s: page served %v, want %v (%q)", tc.method, tc.path, got, tc.page, body)
			}
			if tc.page && !strings.Contains(res.Header.Get("Content-Security-Policy"), "script-src 'self'") {
				t.Errorf("%s %s: Content-Security-Policy %q", tc.method, tc.path, res.Header.Get("Content-Security-Policy"))
			}
			if !strings.Contains(body, tc.bodyHas) {
				t.Errorf("%s %s: body %q, want it to contain %s", tc.method, tc.path, body, tc.bodyHas)
			}
		})
	}
}

// With API keys on, the page and its files load without one (the app then asks for the key),
// and so does Swagger UI (its Authorize asks for it); everything else still needs it.
func TestWebAppWithAPIKeys(t *testing.T) {
	app, _, _ := newTestApp(t, func(d *Deps) { d.APIKeys = []string{"k1"} })
	for path, want := range map[string]int{"/": 200, "/monitor": 200, "/assets/app-1a2b3c.js": 200, "/tasks": 401, "/docs": 200} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept", "text/html")
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s without a key: status %d, want %d", path, res.StatusCode, want)
		}
	}
}
