package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gofiber/fiber/v2"
)

var (
	testJS   = "console.log('app');" + strings.Repeat(" /* padding that compresses */", 40)
	testPage = `<!doctype html><script type="module" src="/assets/index-abc123.js"></script>`
)

func testApp(t *testing.T) *fiber.App {
	t.Helper()
	a, err := NewApp(fstest.MapFS{
		"index.html":             {Data: []byte(testPage)},
		"assets/index-abc123.js": {Data: []byte(testJS)},
		"assets/logo-def456.png": {Data: []byte{0x89, 'P', 'N', 'G'}},
	})
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	a.Mount(app)
	app.Get("/", a.Page)
	return app
}

// fetch makes a GET with the given headers and returns the response with its body read.
func fetch(t *testing.T, app *fiber.App, path string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	return resp, body
}

func TestAppPage(t *testing.T) {
	resp, body := fetch(t, testApp(t), "/", nil)
	if resp.StatusCode != http.StatusOK || string(body) != testPage {
		t.Fatalf("GET /: %d %q, want 200 and index.html", resp.StatusCode, body)
	}
	for header, want := range map[string]string{
		fiber.HeaderContentType:           "text/html",
		fiber.HeaderCacheControl:          "no-cache",
		fiber.HeaderContentSecurityPolicy: "script-src 'self'",
	} {
		if got := resp.Header.Get(header); !strings.Contains(got, want) {
			t.Errorf("GET /: %s %q, want it to contain %q", header, got, want)
		}
	}
	if csp := resp.Header.Get(fiber.HeaderContentSecurityPolicy); strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("GET /: Content-Security-Policy %q allows inline code", csp)
	}
}

func TestAppAssets(t *testing.T) {
	app := testApp(t)
	for name, tc := range map[string]struct {
		path, contentType string
		status            int
	}{
		"script":        {"/assets/index-abc123.js", "text/javascript", 200},
		"image":         {"/assets/logo-def456.png", "image/png", 200},
		"unknown":       {"/assets/index-zzz.js", "", 404},
		"the page":      {"/assets/index.html", "", 404},
		"outside":       {"/assets/..%2Findex.html", "", 404},
		"folder itself": {"/assets/", "", 404},
	} {
		t.Run(name, func(t *testing.T) {
			resp, _ := fetch(t, app, tc.path, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("GET %s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if ct := resp.Header.Get(fiber.HeaderContentType); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if cc := resp.Header.Get(fiber.HeaderCacheControl); cc != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q, want a year, immutable", cc)
			}
		})
	}
}

func TestAppGzip(t *testing.T) {
	app := testApp(t)
	resp, body := fetch(t, app, "/assets/index-abc123.js", map[string]string{fiber.HeaderAcceptEncoding: "gzip, br"})
	if resp.Header.Get(fiber.HeaderContentEncoding) != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get(fiber.HeaderContentEncoding))
	}
	if !strings.Contains(resp.Header.Get(fiber.HeaderVary), "Accept-Encoding") {
		t.Errorf("Vary %q, want Accept-Encoding", resp.Header.Get(fiber.HeaderVary))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || string(plain) != testJS {
		t.Fatalf("gunzipped body %q (%v), want the script", plain, err)
	}
	if len(body) >= len(testJS) {
		t.Errorf("gzipped %d bytes, plain %d: no gain", len(body), len(testJS))
	}

	// No gzip asked for: the plain file. An image is never gzipped.
	if resp, body := fetch(t, app, "/assets/index-abc123.js", nil); resp.Header.Get(fiber.HeaderContentEncoding) != "" || string(body) != testJS {
		t.Errorf("without Accept-Encoding: Content-Encoding %q, body %q", resp.Header.Get(fiber.HeaderContentEncoding), body)
	}
	if resp, _ := fetch(t, app, "/assets/logo-def456.png", map[string]string{fiber.HeaderAcceptEncoding: "gzip"}); resp.Header.Get(fiber.HeaderContentEncoding) != "" {
		t.Errorf("png: Content-Encoding %q, want none", resp.Header.Get(fiber.HeaderContentEncoding))
	}
}

func TestNewAppWithoutPage(t *testing.T) {
	if _, err := NewApp(fstest.MapFS{"assets/a.js": {Data: []byte("x")}}); err == nil || !strings.Contains(err.Error(), "make web") {
		t.Fatalf("NewApp without index.html: %v, want an error that says how to build it", err)
	}
}

// The app built into this binary: its page loads only files that it serves, all from this
// server, and runs no inline script (which the page's policy would block).
func TestBuiltApp(t *testing.T) {
	a, err := Built()
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	a.Mount(app)
	app.Get("/", a.Page)
	_, page := fetch(t, app, "/", nil)
	if regexp.MustCompile(`<script(?:\s+type="module")?\s*>`).Match(page) {
		t.Errorf("the page has an inline script:\n%s", page)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllSubmatch(page, -1)
	if len(refs) == 0 {
		t.Fatalf("the page loads nothing:\n%s", page)
	}
	for _, m := range refs {
		ref := string(m[1])
		if !strings.HasPrefix(ref, "/assets/") {
			t.Errorf("the page loads %q, outside /assets/", ref)
			continue
		}
		if resp, _ := fetch(t, app, ref, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s (from the page): status %d, want 200", ref, resp.StatusCode)
		}
	}
}
