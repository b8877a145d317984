package httpapi

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// send is one request with exactly the given headers (no Content-Type unless named).
func send(t *testing.T, app *fiber.App, method, target, body string, header map[string]string) int {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// Finding 05: what any web page can make a browser send without a preflight — a text/plain
// or form body, a bodyless cross-site POST — never starts work, and a page that rebinds its
// own name to this server cannot read it.
func TestFinding05CrossSite(t *testing.T) {
	app, _, m := newTestApp(t, func(d *Deps) {
		d.CORSOrigins = []string{"https://app.example"}
		d.LogFile = d.DataDir + "/server.log"
	})
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
	}{
		{"text/plain body", "POST", "/train-parent", `{"epochs":1}`, map[string]string{"Content-Type": "text/plain"}, 415},
		{"form body", "POST", "/train-child", "ticker=AAPL", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"multipart body", "POST", "/predict-child", "--x--", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, 415},
		{"no content type", "POST", "/train-child", `{"ticker":"AAPL"}`, nil, 415},
		{"cross-site origin, no body", "POST", "/train-parent", "", map[string]string{"Origin": "https://evil.example"}, 403},
		{"null origin, no body", "POST", "/train-parent", "", map[string]string{"Origin": "null"}, 403},
		{"Sec-Fetch-Site cross-site", "POST", "/predict-parent", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"cross-site DELETE", "DELETE", "/tasks/x", "", map[string]string{"Origin": "https://evil.example"}, 403},
		{"rebinding host reads logs", "GET", "/system/logs", "", map[string]string{"Host": "evil.example"}, 421},
		{"rebinding host reads outputs", "GET", "/outputs", "", map[string]string{"Host": "evil.example:8000"}, 421},
		{"rebinding host trains", "POST", "/train-parent", "", map[string]string{"Host": "rebind.evil.example"}, 421},
		// What must keep working.
		{"JSON with charset", "POST", "/predict-child", `{"ticker":"ZZZZ"}`, map[string]string{"Content-Type": "application/json; charset=utf-8"}, 404},
		{"allowed origin, no body", "GET", "/tasks", "", map[string]string{"Origin": "https://app.example"}, 200},
		{"same origin, no body", "DELETE", "/tasks/x", "", map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, 404},
		{"listed CORS origin, no body", "DELETE", "/tasks/x", "", map[string]string{"Origin": "https://app.example"}, 404},
		{"localhost with port", "GET", "/outputs", "", map[string]string{"Host": "localhost:8000"}, 200},
		{"a .localhost name", "GET", "/outputs", "", map[string]string{"Host": "stock.localhost"}, 200},
		{"IPv4 literal", "GET", "/outputs", "", map[string]string{"Host": "10.1.2.3:8000"}, 200},
		{"IPv6 literal", "GET", "/outputs", "", map[string]string{"Host": "[::1]:8000"}, 200},
		{"health from any host", "GET", "/health", "", map[string]string{"Host": "evil.example"}, 200},
		{"metrics from any host", "GET", "/metrics", "", map[string]string{"Host": "stockagent"}, 200},
	}
	for _, tc := range cases {
		if got := send(t, app, tc.method, tc.path, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: %s %s answered %d, want %d", tc.name, tc.method, tc.path, got, tc.want)
		}
	}
	if list, _ := m.List(t.Context()); len(list) != 0 {
		t.Errorf("refused requests started %d tasks", len(list))
	}
}

// The old README's calls keep working as curl sends them: bodyless POSTs with neither
// Content-Type nor Origin, JSON ones with -H "Content-Type: application/json".
func TestBodylessCurlContract(t *testing.T) {
	app, _, _ := newTestApp(t)
	curl := map[string]string{"Host": "localhost:8000", "User-Agent": "curl/8.5.0", "Accept": "*/*"}
	withJSON := map[string]string{"Content-Type": "application/json"}
	for k, v := range curl {
		withJSON[k] = v
	}
	for _, tc := range []struct {
		path, body string
		header     map[string]string
	}{
		{"/train-parent", "", curl},
		{"/predict-parent", "", curl},
		{"/monitor/parent", "", curl},
		{"/monitor/AAPL", "", curl},
		{"/train-child", `{"ticker":"AAPL"}`, withJSON},
		{"/predict-child", `{"ticker":"AAPL"}`, withJSON},
		{"/analyze", `{"ticker":"AAPL"}`, withJSON},
	} {
		got := send(t, app, "POST", tc.path, tc.body, tc.header)
		if got == 403 || got == 415 || got == 421 {
			t.Errorf("curl -X POST localhost:8000%s answered %d", tc.path, got)
		}
		if (tc.path == "/train-parent" || tc.path == "/predict-parent") && got != 200 && got != 202 {
			t.Errorf("curl -X POST localhost:8000%s answered %d, want 200 or 202", tc.path, got)
		}
	}
}

// Every response, errors included, carries one Content-Security-Policy that forbids framing,
// and the headers old browsers and referrers need.
func TestSecurityHeaders(t *testing.T) {
	app, _, _ := newTestApp(t)
	for _, tc := range []struct{ path, accept string }{
		{"/health", ""}, {"/nope", ""}, {"/", "text/html"}, {"/docs", "text/html"},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		res, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if csp := res.Header.Values(fiber.HeaderContentSecurityPolicy); len(csp) != 1 || !strings.Contains(csp[0], "frame-ancestors 'none'") {
			t.Errorf("GET %.40s: Content-Security-Policy %q, want one policy with frame-ancestors 'none'", tc.path, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %.40s (%d): %s %q, want %q", tc.path, res.StatusCode, k, got, want)
			}
		}
	}
}

// A request line too large for the read buffer is answered by the server before any
// middleware runs: still JSON with a detail, still with the security headers.
func TestOversizedRequestLine(t *testing.T) {
	app, _, _ := newTestApp(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(l) }() // returns when Shutdown closes l
	t.Cleanup(func() { _ = app.Shutdown() })
	res, err := http.Get("http://" + l.Addr().String() + "/tasks?q=" + strings.Repeat("a", 8<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusRequestHeaderFieldsTooLarge || body["detail"] == nil {
		t.Fatalf("oversized request line: %d %v %v", res.StatusCode, body, err)
	}
	if res.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("431 without the security headers: %v", res.Header)
	}
}

func TestHostAllowed(t *testing.T) {
	allowed := []string{"stocks.example", ".corp.example"}
	for host, want := range map[string]bool{
		"stocks.example": true, "STOCKS.example.": true, "a.corp.example": true, "corp.example": true,
		"localhost": true, "app.localhost": true, "127.0.0.1": true, "::1": true, "": true,
		"evil.example": false, "stocks.example.evil": false, "evilcorp.example": false, "localhost.evil": false,
	} {
		if got := hostAllowed(strings.ToLower(host), allowed); got != want {
			t.Errorf("hostAllowed(%q) = %v, want %v", host, got, want)
		}
	}
	if !hostAllowed("anything.example", []string{"*"}) {
		t.Error(`"*" does not admit every name`)
	}
}
