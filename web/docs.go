// Package web holds the browser-facing files built into the server binary: the web app (app.go),
// built by Vite from src/ into dist/, and Swagger UI, served at GET /docs from the npm package
// swagger-ui-dist, so the docs need no CDN and work offline.
//
// It lives in web/, beside package.json, rather than under server/ because go:embed reads only
// files in its package's folder and below: a package elsewhere cannot reach up and over to
// web/node_modules or web/dist. The build copies the few Swagger UI files served out of
// node_modules into swaggerui/ and builds the app into dist/ (both git-ignored); until it has,
// this package does not compile ("pattern …: no matching files found"):
//
//	make web web/swaggerui/.stamp
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// files are the assets under /docs/assets/: the parts of swagger-ui-dist the page uses, with its
// LICENSE and NOTICE (Apache-2.0 asks that they travel with it), and docs.js, ours. They are named
// one by one so that a missing copy fails the build with its name, and so that the package's own
// index.html and swagger-initializer.js, which load the petstore example, are never served.
//
//go:embed swaggerui/swagger-ui.css swaggerui/swagger-ui-bundle.js
//go:embed swaggerui/favicon-16x16.png swaggerui/favicon-32x32.png
//go:embed swaggerui/LICENSE swaggerui/NOTICE
//go:embed docs.js
var files embed.FS

// pageHTML is the template of GET /docs, ours as well.
//
//go:embed docs.html
var pageHTML string

var page = template.Must(template.New("docs.html").Parse(pageHTML))

// contentTypes maps an asset's extension to its Content-Type; LICENSE and NOTICE have none.
// A table of our own rather than package mime, whose answers depend on the host's mime.types.
var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".png": "image/png",
	"":     "text/plain; charset=utf-8",
}

// Response headers. Assets may be cached for a year because their URLs carry the version (a hash
// of every asset), so a new binary with other files is asked for under new URLs; the page itself
// is revalidated each time. The policy lets the page load nothing but this server's own files,
// and run no inline script (docs.js is a file for that reason).
const (
	assetCacheControl = "public, max-age=31536000, immutable"
	pageCacheControl  = "no-cache"
	pagePolicy        = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

type asset struct {
	body        []byte
	contentType string
}

// MountDocs registers on r:
//
//	GET /docs               a Swagger UI page that shows the OpenAPI document at specURL
//	GET /docs/assets/{name} the files that page loads (404 for any other name)
//
// specURL is fetched by the browser, so it is a path on this server, e.g. "/openapi.json". The
// page refers to its assets through its own route, so it works under a group's prefix too.
// MountDocs belongs to start-up wiring: it panics only if the embedded files cannot be read,
// which a build that compiled cannot produce.
func MountDocs(r fiber.Router, specURL string) {
	assets := make(map[string]asset)
	var names []string
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		name := path.Base(p)
		assets[name] = asset{body: body, contentType: contentTypes[path.Ext(name)]}
		names = append(names, name)
		return nil
	})
	if err != nil {
		panic("web: reading the embedded docs assets: " + err.Error())
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		h.Write([]byte(name))
		h.Write(assets[name].body)
	}
	version := hex.EncodeToString(h.Sum(nil))[:12]

	r.Get("/docs", func(c *fiber.Ctx) error {
		var buf bytes.Buffer
		err := page.Execute(&buf, struct{ Assets, Version, SpecURL string }{
			Assets:  strings.TrimSuffix(c.Route().Path, "/") + "/assets/",
			Version: version,
			SpecURL: specURL,
		})
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, pageCacheControl)
		c.Set(fiber.HeaderContentSecurityPolicy, pagePolicy)
		c.Type("html", "utf-8")
		return c.Send(buf.Bytes())
	})
	r.Get("/docs/assets/:name", func(c *fiber.Ctx) error {
		a, ok := assets[c.Params("name")]
		if !ok {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderContentType, a.contentType)
		c.Set(fiber.HeaderCacheControl, assetCacheControl)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		return c.Send(a.body)
	})
}
