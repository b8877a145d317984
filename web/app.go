package web

import (
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// dist is the browser app as Vite builds it (make web): index.html and hashed files under
// assets/. The folder is git-ignored, so until it is built this package does not compile
// ("pattern all:dist: no matching files found"). all: keeps names that start with _ or .,
// which a bundler may emit.
//
//go:embed all:dist
var dist embed.FS

// App serves the browser app: its page at any path the server hands it, and its files at
// /assets/. Everything is read and compressed once, when it is made.
type App struct {
	page  appFile
	files map[string]appFile // by path under assets/, e.g. "index-ab12cd.js"
}

type appFile struct {
	body        []byte
	gzipped     []byte // nil when compressing does not pay
	contentType string
}

// appPolicy is the page's Content-Security-Policy: scripts, styles, data and fonts from this
// server only, and no inline script or style element. Vite's build emits none; React and the
// chart set styles through the DOM, which style-src does not govern. data: images allow the
// icon inlined in index.html.
const appPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Built returns the app embedded in the binary.
func Built() (*App, error) {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	return NewApp(files)
}

// NewApp reads an app from files: index.html at its root and the files the page loads under
// assets/. Vite puts a hash of their content in those files' names, so they may be cached for
// good; index.html is not, and is revalidated on every load.
func NewApp(files fs.FS) (*App, error) {
	page, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("web: the app has no index.html (build it with make web): %w", err)
	}
	a := &App{page: newFile("index.html", page), files: map[string]appFile{}}
	err = fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		a.files[strings.TrimPrefix(p, "assets/")] = newFile(p, body)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("web: reading the app's assets: %w", err)
	}
	return a, nil
}

// appTypes maps the extensions a Vite build emits to their Content-Type.
var appTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
}

func newFile(name string, body []byte) appFile {
	ct, ok := appTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	a := appFile{body: body, contentType: ct}
	if strings.HasPrefix(ct, "text/") || ct == "image/svg+xml" || ct == "application/json" {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
		// Writing into a bytes.Buffer cannot fail.
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body) {
			a.gzipped = buf.Bytes()
		}
	}
	return a
}

// Mount registers GET /assets/* on r: the app's files, 404 for any other name. Paths are
// looked up in a table, never joined onto a folder.
func (a *App) Mount(r fiber.Router) {
	r.Get("/assets/*", func(c *fiber.Ctx) error {
		f, ok := a.files[c.Params("*")]
		if !ok {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderCacheControl, assetCacheControl)
		return send(c, f)
	})
}

// Page answers with the app's page (index.html); the app then shows what the URL names.
func (a *App) Page(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, pageCacheControl)
	c.Set(fiber.HeaderContentSecurityPolicy, appPolicy)
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	return send(c, a.page)
}

func send(c *fiber.Ctx, f appFile) error {
	c.Set(fiber.HeaderContentType, f.contentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if f.gzipped != nil {
		c.Vary(fiber.HeaderAcceptEncoding)
		if strings.Contains(c.Get(fiber.HeaderAcceptEncoding), "gzip") {
			c.Set(fiber.HeaderContentEncoding, "gzip")
			return c.Send(f.gzipped)
		}
	}
	return c.Send(f.body)
}
