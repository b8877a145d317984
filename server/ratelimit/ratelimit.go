// Package ratelimit limits how often each client may call each class of endpoint
// (training, prediction, …), with one named Policy per class and one bucket per
// (policy, client) pair. The caller derives the client key (API key, else IP); this
// package does no HTTP, but a Decision carries what the X-RateLimit-* and Retry-After
// headers need.
//
// # Algorithm
//
// The generic cell rate algorithm (GCRA), the token bucket written as one timestamp per
// bucket. A policy of Limit calls per Window spaces calls one interval = Window/Limit
// apart, and lets a client run up to Limit intervals ahead of time:
//
//   - A client that has been idle for a Window has its full Limit available at once.
//   - After a burst, it gets one more call per interval: "40/hour" allows 40 calls at
//     once, then one every 90 s.
//   - A refused call is not counted, so hammering does not push the next allowed call
//     further away.
//   - The limit is on the long-run rate, not on a calendar window: over any span of
//     length Window a client gets at most 2·Limit−1 calls (a full burst, then one per
//     interval), and never more than Limit at once. A fixed window would allow 2·Limit
//     within moments around its boundary.
//
// Each step is atomic: one Lua script on Redis (on the server's clock, so every process
// sharing the Redis enforces one limit together), or one locked map update in memory.
// See store.Store.RateLimit. Intervals are whole microseconds, rounded down, so a
// policy can be a hair more generous than written (3 per second: one per 333 333 µs).
//
// The state of a bucket expires once it is full again, so idle clients cost nothing.
// Buckets are keyed by a hash of the client key: API keys never appear in Redis.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"stockagent/server/store"
)

// DefaultKeyPrefix is put before every bucket key unless Config.KeyPrefix says otherwise.
const DefaultKeyPrefix = "ratelimit:"

// ErrUnknownPolicy is wrapped by Allow when asked for a policy the Limiter was not given.
var ErrUnknownPolicy = errors.New("ratelimit: unknown policy")

// Backend is the atomic step the Limiter runs on; every store.Store is one.
type Backend interface {
	RateLimit(ctx context.Context, key string, limit int, window time.Duration) (store.RateLimitResult, error)
}

// Config configures a Limiter. It is read once by New.
type Config struct {
	// Enabled switches limiting on. When false (the zero Config) every call is allowed
	// without touching the backend, e.g. for benchmarks.
	Enabled bool
	// Policies, one per endpoint class, with distinct names. A policy whose Limit is 0
	// allows every call.
	Policies []Policy
	// KeyPrefix is put before every bucket key in the backend. Zero: DefaultKeyPrefix.
	KeyPrefix string
}

// Decision is the outcome of one Allow call.
type Decision struct {
	// Allowed reports whether the call may proceed; a refused call is not counted.
	Allowed bool
	// Limit is the policy's limit (X-RateLimit-Limit). 0 when no limit applies (the
	// limiter or the policy is off): send no rate-limit headers then.
	Limit int
	// Remaining is how many more calls would be allowed right now (X-RateLimit-Remaining).
	Remaining int
	// ResetAfter is how long until the client has its full Limit again (X-RateLimit-Reset).
	ResetAfter time.Duration
	// RetryAfter is how long to wait before the next call can be allowed (Retry-After);
	// zero when Allowed.
	RetryAfter time.Duration
}

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up, for the Retry-After
// header: rounding down would invite a retry that is refused again.
func (d Decision) RetryAfterSeconds() int { return ceilSeconds(d.RetryAfter) }

// ResetSeconds is ResetAfter in whole seconds, rounded up, for X-RateLimit-Reset.
func (d Decision) ResetSeconds() int { return ceilSeconds(d.ResetAfter) }

func ceilSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// Limiter decides whether a client may make a call under a named policy.
// It is safe for concurrent use and holds no state of its own: the buckets live in the
// backend, so limiters in several processes sharing one Redis enforce one limit.
// Create it with New; the zero Limiter is not usable.
type Limiter struct {
	backend  Backend
	enabled  bool
	prefix   string
	policies map[string]Policy // read-only after New
}

// New returns a Limiter over backend. It checks every policy (see Policy.Validate) and
// that names are distinct. backend may be nil only when cfg.Enabled is false.
func New(backend Backend, cfg Config) (*Limiter, error) {
	l := &Limiter{
		backend:  backend,
		enabled:  cfg.Enabled,
		prefix:   cfg.KeyPrefix,
		policies: make(map[string]Policy, len(cfg.Policies)),
	}
	if l.prefix == "" {
		l.prefix = DefaultKeyPrefix
	}
	if l.enabled && backend == nil {
		return nil, errors.New("ratelimit: enabled without a backend")
	}
	for _, p := range cfg.Policies {
		if err := p.Validate(); err != nil {
			return nil, err
		}
		if _, dup := l.policies[p.Name]; dup {
			return nil, fmt.Errorf("ratelimit: policy %q given twice", p.Name)
		}
		l.policies[p.Name] = p
	}
	return l, nil
}

// Allow counts one call by client under the named policy and says whether it may
// proceed. client is the caller-derived identity (API key or IP) and must not be empty.
//
// A disabled limiter, or a policy with Limit 0, allows every call and returns a
// Decision with Limit 0. Asking for a policy New was not given is an error wrapping
// ErrUnknownPolicy (unless the limiter is disabled). When the backend fails, Allow
// returns its error (which wraps store.ErrUnavailable when Redis is down) and a zero
// Decision: whether to fail open (allow and log) or answer 503 is the caller's choice.
func (l *Limiter) Allow(ctx context.Context, policy, client string) (Decision, error) {
	if !l.enabled {
		return Decision{Allowed: true}, nil
	}
	p, ok := l.policies[policy]
	if !ok {
		return Decision{}, fmt.Errorf("%w %q", ErrUnknownPolicy, policy)
	}
	if p.Limit == 0 {
		return Decision{Allowed: true}, nil
	}
	if client == "" {
		return Decision{}, fmt.Errorf("ratelimit: policy %q: empty client key", policy)
	}
	r, err := l.backend.RateLimit(ctx, l.key(policy, client), p.Limit, p.Window)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: policy %q: %w", policy, err)
	}
	return Decision{
		Allowed:    r.Allowed,
		Limit:      p.Limit,
		Remaining:  r.Remaining,
		ResetAfter: r.ResetAfter,
		RetryAfter: r.RetryAfter,
	}, nil
}

// key is the bucket of client under policy: a hash, so neither API keys nor arbitrary
// client strings end up in the store's key space.
func (l *Limiter) key(policy, client string) string {
	return l.prefix + policy + ":" + digest(client)
}

func digest(client string) string {
	sum := sha256.Sum256([]byte(client))
	return hex.EncodeToString(sum[:16])
}
