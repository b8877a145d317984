package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisMaxRetries is how often go-redis retries a call that failed on the network. One
// retry covers the usual case, a pooled connection the server closed (restart, idle
// timeout); more would stretch the wait for a dead server. A retry after a reply was
// lost may apply Incr or RateLimit twice: rare, and harmless for counters and limits.
const redisMaxRetries = 1

// Redis is the Store backed by a Redis server through go-redis, which keeps a pool of
// connections and reconnects by itself when the server comes back. Every multi-step
// operation (compare-and-delete, compare-and-expire, incr with expiry, rate limit) is
// one Lua script, run with EVALSHA and falling back to EVAL when the server lacks it.
// It is safe for concurrent use. Create it with NewRedis or Open.
type Redis struct {
	client      *redis.Client
	prefix      string // put before every key sent to the server
	dialTimeout time.Duration
	ioTimeout   time.Duration
	closeOnce   sync.Once
	closeErr    error // set once by Close
}

// Scripts, loaded by go-redis on first use (EVALSHA, then EVAL on NOSCRIPT).
var (
	// compareAndDelete: KEYS[1] key, ARGV[1] expected value.
	compareAndDeleteScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

	// compareAndExpire: KEYS[1] key, ARGV[1] expected value, ARGV[2] ttl in ms (0: none).
	compareAndExpireScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`)

	// incr: KEYS[1] key, ARGV[1] increment, ARGV[2] ttl in ms for a new key (0: none).
	incrScript = redis.NewScript(`
local created = redis.call('EXISTS', KEYS[1]) == 0
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if created and ARGV[2] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return n`)

	// commitFenced: KEYS[1] fence counter, KEYS[2] key, ARGV[1] token, ARGV[2] value.
	// The counter is compared as decimal text, as INCRBY stores it; absent is 0.
	commitFencedScript = redis.NewScript(`
local fence = redis.call('GET', KEYS[1]) or '0'
if fence ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
return 1`)

	rateLimitScript = redis.NewScript(gcraScript)
)

// NewRedis returns a Redis store for a URL that redis.ParseURL reads
// ("redis://[user:password@]host:port/db", "rediss://…", "unix://…"). It does not
// connect: the first call does, so a server that is down shows up as ErrUnavailable
// there (Open pings instead). Timeouts come from WithTimeouts, else from the URL's
// parameters, else DefaultDialTimeout and DefaultIOTimeout.
func NewRedis(rawURL string, opts ...Option) (*Redis, error) {
	c := newConfig(opts)
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: redis: parse URL: %w", err)
	}
	pick := func(opt, fromURL, def time.Duration) time.Duration {
		switch {
		case opt > 0:
			return opt
		case fromURL > 0:
			return fromURL
		}
		return def
	}
	ro.DialTimeout = pick(c.dialTimeout, ro.DialTimeout, DefaultDialTimeout)
	ro.ReadTimeout = pick(c.ioTimeout, ro.ReadTimeout, DefaultIOTimeout)
	ro.WriteTimeout = pick(c.ioTimeout, ro.WriteTimeout, ro.ReadTimeout)
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = redisMaxRetries
	ro.DialerRetries = 1 // one connect attempt per call: a refused connect fails fast
	return &Redis{
		client:      redis.NewClient(ro),
		prefix:      c.prefix,
		dialTimeout: ro.DialTimeout,
		ioTimeout:   ro.ReadTimeout,
	}, nil
}

// Name returns "redis".
func (r *Redis) Name() string { return "redis" }

// Close closes the connection pool. It is idempotent.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		if err := r.client.Close(); err != nil {
			r.closeErr = fmt.Errorf("store: redis close: %w", err)
		}
	})
	return r.closeErr
}

// k is key as sent to the server.
func (r *Redis) k(key string) string { return r.prefix + key }

// unavailableReplies are the prefixes of Redis error replies that mean "cannot serve now"
// rather than "bad request".
var unavailableReplies = []string{"LOADING", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "BUSY ", "NOREPLICAS", "ERR max number of clients"}

// wrap turns a go-redis error from op on key into ours: redis.Nil becomes ErrNotFound,
// a closed client ErrClosed, the caller's own cancellation stays a context error, a
// Redis error reply stays as it is, and anything else (connection refused or reset,
// timeouts, a pool exhausted) wraps ErrUnavailable.
func (r *Redis) wrap(ctx context.Context, op, key string, err error) error {
	what := "store: redis " + op
	if key != "" || op != "ping" {
		what = fmt.Sprintf("%s %q", what, key)
	}
	var reply redis.Error
	switch {
	case errors.Is(err, redis.Nil):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case errors.Is(err, redis.ErrClosed):
		return fmt.Errorf("%s: %w", what, ErrClosed)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, ctx.Err())
	case errors.As(err, &reply):
		for _, p := range unavailableReplies {
			if strings.HasPrefix(reply.Error(), p) {
				return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
			}
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
}

// Ping sends PING.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return r.wrap(ctx, "ping", "", err)
	}
	return nil
}

// Get returns key's value, or an error wrapping ErrNotFound.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	val, err := r.client.Get(ctx, r.k(key)).Bytes()
	if err != nil {
		return nil, r.wrap(ctx, "get", key, err)
	}
	return val, nil
}

// Set stores val under key (SET with PX).
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := checkTTL("redis", "set", key, ttl); err != nil {
		return err
	}
	args := []any{"set", r.k(key), val}
	if ttl > 0 {
		args = append(args, "px", ttlMillis(ttl))
	}
	if err := r.client.Do(ctx, args...).Err(); err != nil {
		return r.wrap(ctx, "set", key, err)
	}
	return nil
}

// SetNX stores val under key if absent (SET with NX and PX).
func (r *Redis) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("redis", "setnx", key, ttl); err != nil {
		return false, err
	}
	args := []any{"set", r.k(key), val, "nx"}
	if ttl > 0 {
		args = append(args, "px", ttlMillis(ttl))
	}
	err := r.client.Do(ctx, args...).Err()
	switch {
	case errors.Is(err, redis.Nil): // NX and the key exists
		return false, nil
	case err != nil:
		return false, r.wrap(ctx, "setnx", key, err)
	}
	return true, nil
}

// CompareAndDelete deletes key if it holds val (one Lua script).
func (r *Redis) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	n, err := compareAndDeleteScript.Run(ctx, r.client, []string{r.k(key)}, val).Int64()
	if err != nil {
		return false, r.wrap(ctx, "compare-and-delete", key, err)
	}
	return n == 1, nil
}

// CompareAndExpire sets key's expiry to ttl if it holds val (one Lua script).
func (r *Redis) CompareAndExpire(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("redis", "compare-and-expire", key, ttl); err != nil {
		return false, err
	}
	n, err := compareAndExpireScript.Run(ctx, r.client, []string{r.k(key)}, val, ttlMillis(ttl)).Int64()
	if err != nil {
		return false, r.wrap(ctx, "compare-and-expire", key, err)
	}
	return n == 1, nil
}

// Delete removes keys (DEL).
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.k(k)
	}
	if err := r.client.Del(ctx, full...).Err(); err != nil {
		return r.wrap(ctx, "delete", keys[0], err)
	}
	return nil
}

// Incr adds by to key (INCRBY, plus PEXPIRE when it created the key; one Lua script).
func (r *Redis) Incr(ctx context.Context, key string, by int64, ttl time.Duration) (int64, error) {
	if err := checkTTL("redis", "incr", key, ttl); err != nil {
		return 0, err
	}
	n, err := incrScript.Run(ctx, r.client, []string{r.k(key)}, by, ttlMillis(ttl)).Int64()
	if err != nil {
		return 0, r.wrap(ctx, "incr", key, err)
	}
	return n, nil
}

// CommitFenced sets key to val if fenceKey holds token (one Lua script).
func (r *Redis) CommitFenced(ctx context.Context, fenceKey string, token int64, key string, val []byte) (bool, error) {
	n, err := commitFencedScript.Run(ctx, r.client, []string{r.k(fenceKey), r.k(key)}, strconv.FormatInt(token, 10), val).Int64()
	if err != nil {
		return false, r.wrap(ctx, "commit-fenced", key, err)
	}
	return n == 1, nil
}

// Scan walks the keys starting with prefix with SCAN … MATCH prefix* COUNT scanBatch.
func (r *Redis) Scan(ctx context.Context, prefix string, fn func(key string) error) error {
	match := escapeGlob(r.k(prefix)) + "*"
	var cursor uint64
	for {
		keys, next, err := r.client.Scan(ctx, cursor, match, scanBatch).Result()
		if err != nil {
			return r.wrap(ctx, "scan", prefix, err)
		}
		for _, k := range keys {
			if err := fn(strings.TrimPrefix(k, r.prefix)); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// RateLimit runs one GCRA step on key on the server's clock (one Lua script).
func (r *Redis) RateLimit(ctx context.Context, key string, limit int, window time.Duration) (RateLimitResult, error) {
	interval, horizon, err := gcraParams("redis", key, limit, window)
	if err != nil {
		return RateLimitResult{}, err
	}
	v, err := rateLimitScript.Run(ctx, r.client, []string{r.k(key)}, interval, horizon).Int64Slice()
	if err != nil {
		return RateLimitResult{}, r.wrap(ctx, "ratelimit", key, err)
	}
	if len(v) != 4 {
		return RateLimitResult{}, fmt.Errorf("store: redis ratelimit %q: script returned %d values, want 4", key, len(v))
	}
	return RateLimitResult{
		Allowed:    v[0] == 1,
		Remaining:  int(v[1]),
		RetryAfter: micros(v[2]),
		ResetAfter: micros(v[3]),
	}, nil
}

// escapeGlob escapes the characters SCAN MATCH treats specially, so s matches literally.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\^-`) {
		return s
	}
	var b strings.Builder
	for _, c := range []byte(s) {
		switch c {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Publish sends msg to every subscriber of channel (PUBLISH); nobody listening is not an error.
func (r *Redis) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := r.client.Publish(ctx, r.k(channel), msg).Err(); err != nil {
		return r.wrap(ctx, "publish", channel, err)
	}
	return nil
}

// Subscribe listens on channels until ctx ends (one connection, SUBSCRIBE), telling h
// what it hears in order. go-redis re-subscribes after a lost connection; h.Subscribed is
// called once every channel is subscribed again, since notices sent while disconnected
// are lost and the caller must catch up from the store.
func (r *Redis) Subscribe(ctx context.Context, channels []string, h Listener) error {
	full := make([]string, len(channels))
	for i, c := range channels {
		full[i] = r.k(c)
	}
	ps := r.client.Subscribe(ctx, full...)
	defer ps.Close()
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // a blocked Receive does not watch ctx
	defer stop()
	if h.PingEvery > 0 {
		go pingSubscription(ctx, ps, h.PingEvery)
	}
	for {
		m, err := ps.Receive(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, redis.ErrClosed):
			return r.wrap(ctx, "subscribe", channels[0], err)
		case err != nil:
			if h.Lost != nil {
				h.Lost(r.wrap(ctx, "subscribe", channels[0], err))
			}
			// The next Receive reconnects; wait a little so a Redis that is down is not spun on.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Count == len(channels) && h.Subscribed != nil {
				h.Subscribed()
			}
		case *redis.Message:
			if h.Message != nil {
				h.Message(strings.TrimPrefix(m.Channel, r.prefix), []byte(m.Payload))
			}
		case *redis.Pong:
			if sent, err := strconv.ParseInt(m.Payload, 10, 64); err == nil && h.Heard != nil {
				h.Heard(time.Unix(0, sent))
			}
		}
	}
}

// pingSubscription sends a PING carrying its send time on ps every interval until ctx
// ends; Subscribe's loop reads the answers. A failed ping is not reported: its missing
// answer is what the subscriber notices (Listener.Heard).
func pingSubscription(ctx context.Context, ps *redis.PubSub, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = ps.Ping(ctx, strconv.FormatInt(time.Now().UnixNano(), 10))
		}
	}
}
