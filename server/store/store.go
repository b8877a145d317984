// Package store holds the shared state of the service: the prediction cache, task records,
// rate-limit counters and locks. It is one small key/value interface, Store, with three
// implementations:
//
//   - Memory, in-process: state lives as long as the process and is private to it.
//   - Bolt, a bbolt file: state outlives crashes and restarts, for one process.
//   - Redis, through github.com/redis/go-redis/v9: state is shared by every server
//     process pointed at the same Redis and outlives restarts.
//
// Open picks one from a URL ("" for memory, "bolt:///path/store.db", "redis://host:port/db").
//
// All implementations pass the same test suites, so callers may rely on the contract
// written on Store and nothing more. Errors name the operation and quote the key
// (`store: redis get "x": …`) and wrap the sentinels below, to be tested with errors.Is:
// ErrNotFound for an absent or expired key, ErrUnavailable when Redis cannot be reached
// (the HTTP layer answers 503), ErrClosed after Close.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"stockagent/server/redact"
)

// Store is a key/value store with expiry, atomic counters, set-if-absent locks, prefix scans
// and an atomic rate-limit step.
//
// Implementations are safe for concurrent use. Keys are arbitrary strings; values are
// arbitrary bytes, copied on the way in and out, so callers may reuse their slices.
// A ttl of 0 means no expiry; a negative ttl is an error. Expiry has millisecond
// resolution (Redis rounds up to the next millisecond).
type Store interface {
	// Get returns the value of key, or an error wrapping ErrNotFound when it is absent or expired.
	Get(ctx context.Context, key string) ([]byte, error)

	// Set stores val under key, replacing any value and expiry it had.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error

	// SetNX stores val under key only if key is absent, and reports whether it did.
	// It is the acquire step of locks and leases: store a token only the owner knows.
	SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)

	// CompareAndDelete deletes key only if it currently holds val, and reports whether it
	// did: the release step of a lock, which must never delete a lock someone else now holds.
	CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error)

	// CompareAndExpire sets the expiry of key to ttl only if it currently holds val, and
	// reports whether it did: the renew step of a lease. ttl 0 removes the expiry.
	CompareAndExpire(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error)

	// Delete removes keys; absent keys are not an error, and no keys is a no-op.
	Delete(ctx context.Context, keys ...string) error

	// Incr adds by to the integer stored under key and returns the new value. An absent key
	// counts as 0 and is created with expiry ttl; an existing key keeps its expiry.
	// The value is stored as decimal text, so Get returns e.g. "42". A value that is not
	// an integer, or a sum that overflows int64, is an error.
	Incr(ctx context.Context, key string, by int64, ttl time.Duration) (int64, error)

	// CommitFenced sets key to val only if the counter fenceKey (as Incr keeps it) holds
	// exactly token, in one atomic step, and reports whether it did. An absent counter is 0.
	// It is the commit step of a fenced lease: a holder whose token was superseded (its lease
	// lapsed and another took the work over) cannot write. key keeps no expiry.
	CommitFenced(ctx context.Context, fenceKey string, token int64, key string, val []byte) (bool, error)

	// Scan calls fn for every key that starts with prefix (matched literally), in batches and
	// in no particular order, without blocking the store for the whole walk (Redis: SCAN with
	// MATCH, never KEYS). Keys written or deleted during the scan may or may not be seen,
	// and Redis may report a key more than once if its table is resized meanwhile, so fn
	// should be idempotent. fn may call the store. Scan stops at the first error from fn
	// and returns it unchanged, and stops with ctx's error when ctx ends.
	Scan(ctx context.Context, prefix string, fn func(key string) error) error

	// RateLimit runs one atomic step of the generic cell rate algorithm (GCRA) on key:
	// up to limit calls at once, refilled evenly over window. Package ratelimit documents
	// the algorithm and builds policies on it; most callers want that package instead.
	RateLimit(ctx context.Context, key string, limit int, window time.Duration) (RateLimitResult, error)

	// Ping checks that the store answers; for Memory it fails only after Close.
	Ping(ctx context.Context) error

	// Close releases the store's resources. It is idempotent; every other call afterwards
	// returns an error wrapping ErrClosed.
	Close() error

	// Name is "memory", "bolt" or "redis", for logs, health reports and metric labels.
	Name() string
}

// Notifier is implemented by a store that every process shares (Redis): a notice published
// on a channel reaches every process subscribed to it. Notices are not stored: a process
// that was disconnected misses them and must read the state they announce from the store.
type Notifier interface {
	// Publish sends msg to every current subscriber of channel.
	Publish(ctx context.Context, channel string, msg []byte) error
	// Subscribe listens on channels until ctx ends, telling h what it hears (Listener). It
	// returns ctx's error, or an error when the store is closed.
	Subscribe(ctx context.Context, channels []string, h Listener) error
}

// Listener is what a subscription tells its subscriber. Its functions are called from one
// goroutine, in the order the connection delivered what they report; nil ones are skipped.
type Listener struct {
	// Subscribed is called after every (re)subscription to all the channels: notices sent
	// while disconnected are lost, so the subscriber catches up from the store here.
	Subscribed func()
	// Lost is called when the connection failed: notices may be missed until Subscribed.
	Lost func(err error)
	// Message is called with each notice and the channel it came on.
	Message func(channel string, msg []byte)
	// PingEvery, when positive, sends a PING on the subscription's own connection that
	// often, and Heard is called with the time each answered ping was sent. Replies come
	// in order on that connection, so every notice published before then has reached
	// Message already: the subscriber knows how far behind it can be, which a silent
	// network partition (no error, just nothing) would otherwise hide.
	PingEvery time.Duration
	Heard     func(sent time.Time)
}

var _ Notifier = (*Redis)(nil)

// RateLimitResult is the outcome of one RateLimit step.
type RateLimitResult struct {
	// Allowed reports whether this call fits in the limit; a refused call is not counted.
	Allowed bool
	// Remaining is how many more calls would be allowed right now, after this one.
	Remaining int
	// RetryAfter is how long to wait before the next call can be allowed;
	// zero when Allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the full limit is available again.
	ResetAfter time.Duration
}

var (
	_ Store = (*Memory)(nil)
	_ Store = (*Redis)(nil)
	_ Store = (*Bolt)(nil)
)

// Open returns the store a URL names: "" is an in-process Memory store; bolt:///path/file.db
// the durable Bolt store in that file (OpenBolt); redis://,
// rediss:// and unix:// URLs (as redis.ParseURL reads them, e.g. redis://host:6379/0) are
// a Redis store, pinged once so that a wrong address fails at start-up with an error
// wrapping ErrUnavailable. Options that do not apply to the chosen backend are ignored.
func Open(rawURL string, opts ...Option) (Store, error) {
	if rawURL == "" {
		return NewMemory(opts...), nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes its input, which may hold a password: keep only the reason.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("store: open: bad URL: %w", err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	case "bolt":
		return OpenBolt(u.Path, opts...)
	default:
		return nil, fmt.Errorf("store: open %q: unsupported scheme %q (want \"\" for the in-process store, bolt:///path/store.db, or redis://host:port/db)", redact.URL(rawURL), u.Scheme)
	}
	r, err := NewRedis(rawURL, opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.dialTimeout+2*r.ioTimeout)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("store: open %q: %w", redact.URL(rawURL), err)
	}
	return r, nil
}
