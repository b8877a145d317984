package vectorstore

import (
	"log/slog"
	"time"
)

// DefaultTimeout bounds each call to Qdrant. A search over the few thousand points this
// cache holds answers in milliseconds; a second is generous for a healthy server, yet a
// dead or unreachable one costs a request no more than that before it runs without the
// cache.
const DefaultTimeout = time.Second

// config collects the options; its zero value means "all defaults".
type config struct {
	collection string        // "": DefaultCollection
	apiKey     string        // "": none
	timeout    time.Duration // <= 0: DefaultTimeout
	logger     *slog.Logger  // nil: discard
}

// Option configures Open, NewMemory or NewQdrant.
type Option func(*config)

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.collection == "" {
		c.collection = DefaultCollection
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// WithCollection names the Qdrant collection (default DefaultCollection). Memory ignores it.
func WithCollection(name string) Option {
	return func(c *config) { c.collection = name }
}

// WithAPIKey sets the key sent to Qdrant with every call (QDRANT_API_KEY); "" sends none.
// Without TLS (an http:// address) the key travels in clear text. Memory ignores it.
func WithAPIKey(key string) Option {
	return func(c *config) { c.apiKey = key }
}

// WithTimeout bounds each Qdrant call, unless the caller's context ends sooner; zero or
// negative means DefaultTimeout. Memory ignores it.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithLogger sets where the store reports what it recovers from (Memory: a corrupt file
// moved aside). Default: nowhere.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
