package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func newApp() *fiber.App {
	app := fiber.New()
	MountDocs(app, "/openapi.json")
	return app
}

// get is fetch without headers, with the body as a string.
func get(t *testing.T, app *fiber.App, path string) (*http.Response, string) {
	t.Helper()
	resp, body := fetch(t, app, path, nil)
	return resp, string(body)
}

// refs matches every src= and href= in the page.
var refs = regexp.MustCompile(`(?:src|href)="([^"]*)"`)

func TestDocsPage(t *testing.T) {
	app := newApp()
	resp, body := get(t, app, "/docs")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /docs: status %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get(fiber.HeaderContentType); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /docs: Content-Type %q, want text/html", ct)
	}
	if !strings.Contains(body, `id="swagger-ui"`) || !strings.Contains(body, `data-spec-url="/openapi.json"`) {
		t.Errorf("GET /docs: no swagger-ui element with the spec's URL in:\n%s", body)
	}
	// Offline: nothing absolute, and the page's own policy keeps the browser on this server.
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "//") {
		t.Errorf("GET /docs: the page names another host:\n%s", body)
	}
	if csp := resp.Header.Get(fiber.HeaderContentSecurityPolicy); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("GET /docs: Content-Security-Policy %q, want default-src 'self'", csp)
	}

	found := refs.FindAllStringSubmatch(body, -1)
	if len(found) < 3 {
		t.Fatalf("GET /docs: %d src/href references, want the CSS, the bundle and docs.js:\n%s", len(found), body)
	}
	for _, m := range found {
		ref := m[1]
		if !strings.HasPrefix(ref, "/docs/assets/") {
			t.Errorf("GET /docs: reference %q is not under /docs/assets/", ref)
			continue
		}
		// Every reference resolves, with the version it carries.
		if resp, _ := get(t, app, ref); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s (from the page): status %d, want 200", ref, resp.StatusCode)
		}
	}
}

func TestDocsAssets(t *testing.T) {
	app := newApp()
	for name, want := range map[string]struct {
		contentType string
		minSize     int
	}{
		"swagger-ui-bundle.js": {"text/javascript", 500_000},
		"swagger-ui.css":       {"text/css", 50_000},
		"docs.js":              {"text/javascript", 100},
		"favicon-32x32.png":    {"image/png", 100},
		"NOTICE":               {"text/plain", 10},
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := get(t, app, "/docs/assets/"+name)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if ct := resp.Header.Get(fiber.HeaderContentType); !strings.HasPrefix(ct, want.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, want.contentType)
			}
			if len(body) < want.minSize {
				t.Errorf("%d bytes, want at least %d", len(body), want.minSize)
			}
			if cc := resp.Header.Get(fiber.HeaderCacheControl); !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("Cache-Control %q, want a long max-age", cc)
			}
		})
	}
}

func TestDocsUnknownAsset(t *testing.T) {
	app := newApp()
	// index.html and swagger-initializer.js are swagger-ui-dist's petstore demo: never served.
	for _, name := range []string{"nope.js", "index.html", "swagger-initializer.js", "docs.html", "..%2Fdocs.go"} {
		if resp, _ := get(t, app, "/docs/assets/"+name); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /docs/assets/%s: status %d, want 404", name, resp.StatusCode)
		}
	}
}

func TestDocsUnderGroup(t *testing.T) {
	app := fiber.New()
	MountDocs(app.Group("/api"), "/api/openapi.json")
	_, body := get(t, app, "/api/docs")
	for _, m := range refs.FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "/api/docs/assets/") {
			t.Errorf("GET /api/docs: reference %q is not under /api/docs/assets/", m[1])
		}
	}
}
