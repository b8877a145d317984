package store

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// scanBatch is how many keys Scan hands over per round: one SCAN COUNT for Redis, and for
// Memory how often it checks the context. Big enough that a scan of thousands of keys is
// a handful of round trips, small enough that one batch never stalls Redis.
const scanBatch = 500

// Memory is the in-process Store: a map guarded by one lock. Expired entries are ignored
// by every read (lazy expiry) and deleted by a sweep goroutine that Close stops.
// It is safe for concurrent use. Create it with NewMemory; the zero Memory is not usable.
type Memory struct {
	mu     sync.RWMutex
	items  map[string]entry // guarded by mu
	closed bool             // guarded by mu

	// epoch is the origin of the monotonic microsecond clock RateLimit uses, so wall
	// clock jumps do not disturb buckets.
	epoch time.Time

	stop      chan struct{} // closed by Close to end the sweeper
	swept     chan struct{} // closed by the sweeper when it returns
	closeOnce sync.Once
}

// entry is one value; exp is its expiry time, the zero Time for none.
type entry struct {
	val []byte
	exp time.Time
}

func (e entry) expired(now time.Time) bool { return !e.exp.IsZero() && !now.Before(e.exp) }

// NewMemory returns an empty in-process store and starts its sweep goroutine, which runs
// every WithSweepInterval (default DefaultSweepInterval) until Close.
func NewMemory(opts ...Option) *Memory {
	c := newConfig(opts)
	every := c.sweepInterval
	if every <= 0 {
		every = DefaultSweepInterval
	}
	m := &Memory{
		items: make(map[string]entry),
		epoch: time.Now(),
		stop:  make(chan struct{}),
		swept: make(chan struct{}),
	}
	go m.sweep(every)
	return m
}

// sweep deletes expired entries every interval until Close.
func (m *Memory) sweep(every time.Duration) {
	defer close(m.swept)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.mu.Lock()
			now := time.Now()
			for k, e := range m.items {
				if e.expired(now) {
					delete(m.items, k)
				}
			}
			m.mu.Unlock()
		}
	}
}

// Name returns "memory".
func (m *Memory) Name() string { return "memory" }

// Close stops the sweeper and drops every entry. It is idempotent.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		<-m.swept
		m.mu.Lock()
		m.closed = true
		m.items = nil
		m.mu.Unlock()
	})
	return nil
}

// Ping fails only after Close.
func (m *Memory) Ping(ctx context.Context) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return fmt.Errorf("store: memory ping: %w", ErrClosed)
	}
	return ctx.Err()
}

// errClosed is the error of op on key after Close.
func errClosed(op, key string) error {
	return fmt.Errorf("store: memory %s %q: %w", op, key, ErrClosed)
}

// expiry is the expiry time of a ttl set now; the zero Time for ttl 0.
func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl == 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

// getLocked returns key's live entry; m.mu must be held (read or write).
func (m *Memory) getLocked(key string, now time.Time) (entry, bool) {
	e, ok := m.items[key]
	if !ok || e.expired(now) {
		return entry{}, false
	}
	return e, true
}

// Get returns a copy of key's value, or an error wrapping ErrNotFound.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, errClosed("get", key)
	}
	e, ok := m.getLocked(key, time.Now())
	if !ok {
		return nil, fmt.Errorf("store: memory get %q: %w", key, ErrNotFound)
	}
	return bytes.Clone(e.val), nil
}

// Set stores a copy of val under key.
func (m *Memory) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := checkTTL("memory", "set", key, ttl); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("set", key)
	}
	m.items[key] = entry{val: cloneNonNil(val), exp: expiry(time.Now(), ttl)}
	return nil
}

// SetNX stores a copy of val under key if key is absent or expired.
func (m *Memory) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("memory", "setnx", key, ttl); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, errClosed("setnx", key)
	}
	now := time.Now()
	if _, ok := m.getLocked(key, now); ok {
		return false, nil
	}
	m.items[key] = entry{val: cloneNonNil(val), exp: expiry(now, ttl)}
	return true, nil
}

// CompareAndDelete deletes key if it holds val.
func (m *Memory) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, errClosed("compare-and-delete", key)
	}
	e, ok := m.getLocked(key, time.Now())
	if !ok || !bytes.Equal(e.val, val) {
		return false, nil
	}
	delete(m.items, key)
	return true, nil
}

// CompareAndExpire sets key's expiry to ttl from now if it holds val.
func (m *Memory) CompareAndExpire(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("memory", "compare-and-expire", key, ttl); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, errClosed("compare-and-expire", key)
	}
	now := time.Now()
	e, ok := m.getLocked(key, now)
	if !ok || !bytes.Equal(e.val, val) {
		return false, nil
	}
	e.exp = expiry(now, ttl)
	m.items[key] = e
	return true, nil
}

// Delete removes keys.
func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("store: memory delete %q: %w", keys, ErrClosed)
	}
	for _, k := range keys {
		delete(m.items, k)
	}
	return nil
}

// Incr adds by to key's integer value, creating it with expiry ttl when absent.
func (m *Memory) Incr(ctx context.Context, key string, by int64, ttl time.Duration) (int64, error) {
	if err := checkTTL("memory", "incr", key, ttl); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errClosed("incr", key)
	}
	now := time.Now()
	e, ok := m.getLocked(key, now)
	var n int64
	if ok {
		var err error
		if n, err = strconv.ParseInt(string(e.val), 10, 64); err != nil {
			return 0, fmt.Errorf("store: memory incr %q: value is not an integer", key)
		}
	} else {
		e.exp = expiry(now, ttl)
	}
	n, err := addInt64("memory", key, n, by)
	if err != nil {
		return 0, err
	}
	e.val = strconv.AppendInt(nil, n, 10)
	m.items[key] = e
	return n, nil
}

// CommitFenced sets key to a copy of val, without expiry, if fenceKey holds token.
func (m *Memory) CommitFenced(ctx context.Context, fenceKey string, token int64, key string, val []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, errClosed("commit-fenced", key)
	}
	now := time.Now()
	fence := []byte("0")
	if e, ok := m.getLocked(fenceKey, now); ok {
		fence = e.val
	}
	if string(fence) != strconv.FormatInt(token, 10) {
		return false, nil
	}
	m.items[key] = entry{val: cloneNonNil(val)}
	return true, nil
}

// Scan calls fn for each live key starting with prefix. It copies the matching keys under
// the read lock and calls fn without holding it, so fn may use the store.
func (m *Memory) Scan(ctx context.Context, prefix string, fn func(key string) error) error {
	m.mu.RLock()
	if m.closed {
		m.mu.RUnlock()
		return errClosed("scan", prefix)
	}
	now := time.Now()
	var keys []string
	for k, e := range m.items {
		if strings.HasPrefix(k, prefix) && !e.expired(now) {
			keys = append(keys, k)
		}
	}
	m.mu.RUnlock()
	for i, k := range keys {
		if i%scanBatch == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("store: memory scan %q: %w", prefix, err)
			}
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// RateLimit runs one GCRA step on key under the lock, on a monotonic clock.
func (m *Memory) RateLimit(ctx context.Context, key string, limit int, window time.Duration) (RateLimitResult, error) {
	interval, horizon, err := gcraParams("memory", key, limit, window)
	if err != nil {
		return RateLimitResult{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return RateLimitResult{}, errClosed("ratelimit", key)
	}
	wall := time.Now()
	now := wall.Sub(m.epoch).Microseconds()
	var tat int64
	if e, ok := m.getLocked(key, wall); ok {
		tat, _ = strconv.ParseInt(string(e.val), 10, 64) // not a TAT: treat the bucket as new
	}
	next, res := gcraStep(now, tat, interval, horizon)
	if res.Allowed {
		m.items[key] = entry{val: strconv.AppendInt(nil, next, 10), exp: wall.Add(micros(next - now))}
	}
	return res, nil
}

// cloneNonNil copies b, turning nil into an empty slice so Get never returns nil for a
// key that exists.
func cloneNonNil(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
