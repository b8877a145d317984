package store

import "time"

// Defaults for the options below. Redis normally answers in well under a millisecond, so
// these are generous for a healthy server yet short enough that a dead one turns into a
// 503 quickly instead of a hung request.
const (
	// DefaultDialTimeout bounds one TCP connect to Redis.
	DefaultDialTimeout = time.Second
	// DefaultIOTimeout bounds one read or write on a Redis connection. The slowest call
	// we make is one SCAN batch, a few milliseconds even on a large key space.
	DefaultIOTimeout = 500 * time.Millisecond
	// DefaultSweepInterval is how often Memory deletes expired entries. Reads ignore
	// expired entries anyway, so the sweep only gives memory back; a minute keeps it
	// cheap while bounding what dead entries can hold.
	DefaultSweepInterval = time.Minute
)

// config collects the options; its zero value means "all defaults".
type config struct {
	prefix        string
	dialTimeout   time.Duration // zero: from the URL, else DefaultDialTimeout
	ioTimeout     time.Duration // zero: from the URL, else DefaultIOTimeout
	sweepInterval time.Duration // zero: DefaultSweepInterval
}

// Option configures Open, NewMemory or NewRedis.
type Option func(*config)

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithPrefix puts prefix before every key a Redis store sends to the server, so several
// deployments or test runs can share one Redis; callers never see it (Scan strips it).
// Memory ignores it: its keys are private to the process anyway. Default: no prefix.
func WithPrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithTimeouts sets the Redis dial timeout and the read/write timeout, overriding the
// URL's dial_timeout, read_timeout and write_timeout parameters. Zero keeps the URL's
// value or the default (DefaultDialTimeout, DefaultIOTimeout).
func WithTimeouts(dial, io time.Duration) Option {
	return func(c *config) { c.dialTimeout, c.ioTimeout = dial, io }
}

// WithSweepInterval sets how often Memory deletes expired entries; zero or negative
// means DefaultSweepInterval. Redis ignores it.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) { c.sweepInterval = d }
}
