// Package storetest runs tests against every store backend: the in-process one, the bbolt
// file (in the test's temporary folder) and a real Redis server (Debian's redis-server),
// started on a free loopback port for the test and killed when it ends.
//
// The environment decides where Redis comes from:
//   - REDIS_URL_TEST set: tests use that server, each under its own random key prefix
//     (KeyPrefix), and start none.
//   - otherwise: redis-server from PATH, without persistence and with KEYS disabled, so
//     any code path that calls KEYS fails loudly.
//   - no redis-server on PATH: Redis tests fail, never skip (make test installs the package,
//     or stops first and says how).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"stockagent/server/store"
)

// EnvURL names the environment variable that points the tests at an existing Redis.
const EnvURL = "REDIS_URL_TEST"

// Backend is one store backend to test: URL is what store.Open takes ("" for the
// in-process store). Open it with store.WithPrefix(KeyPrefix(t)) so that tests sharing
// a server (REDIS_URL_TEST, or subtests of one Run) never see each other's keys.
type Backend struct {
	Name string // "memory", "bolt" or "redis"
	URL  string
}

// Open opens b's store for t under t's own key prefix (KeyPrefix; an opts
// WithPrefix overrides it) with opts. t's cleanup deletes what the test left, which
// matters on a shared REDIS_URL_TEST server, and closes the store.
func (b Backend) Open(t testing.TB, opts ...store.Option) store.Store {
	t.Helper()
	s, err := store.Open(b.URL, append([]store.Option{store.WithPrefix(KeyPrefix(t))}, opts...)...)
	if err != nil {
		t.Fatalf("open %s store: %v", b.Name, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		var keys []string
		_ = s.Scan(ctx, "", func(k string) error { keys = append(keys, k); return nil })
		_ = s.Delete(ctx, keys...)
		_ = s.Close()
	})
	return s
}

// Runner is *testing.T or *testing.B.
type Runner[T any] interface {
	testing.TB
	Run(name string, f func(T)) bool
}

// Run runs f once per backend, as subtests named "memory", "bolt" and "redis". The bolt
// subtest's file lives in its temporary folder; stores opened on its URL share it, as
// clients of one Redis do. The Redis subtest starts a server (or uses REDIS_URL_TEST) and
// fails when neither is available; the server lives until the subtest and all its own
// subtests end.
func Run[T Runner[T]](t T, f func(t T, b Backend)) {
	t.Helper()
	t.Run("memory", func(t T) {
		f(t, Backend{Name: "memory"})
	})
	t.Run("bolt", func(t T) {
		f(t, Backend{Name: "bolt", URL: boltURL(filepath.Join(t.TempDir(), "store.db"))})
	})
	t.Run("redis", func(t T) {
		f(t, Backend{Name: "redis", URL: StartRedis(t)})
	})
}

// RunSuites runs every suite once per backend (Run), each as a parallel subtest named
// by its key.
func RunSuites(t *testing.T, suites map[string]func(t *testing.T, b Backend)) {
	t.Helper()
	Run(t, func(t *testing.T, b Backend) {
		for name, suite := range suites {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				suite(t, b)
			})
		}
	})
}

// StartRedis returns the URL of a Redis server for t: REDIS_URL_TEST when set, else a new
// server (see NewServer) that t's cleanup kills.
func StartRedis(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return NewServer(t).URL()
}

// boltURL is the URL store.Open reads as the bbolt file at path.
func boltURL(path string) string {
	return (&url.URL{Scheme: "bolt", Path: path}).String()
}

var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// KeyPrefix returns a key prefix unique to this call, "test:<test name>:<random>:", so
// tests sharing one Redis never see each other's keys.
func KeyPrefix(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("storetest: random key prefix: %v", err)
	}
	name := unsafeKeyChars.ReplaceAllString(t.Name(), "_")
	return "test:" + name + ":" + hex.EncodeToString(b[:]) + ":"
}
