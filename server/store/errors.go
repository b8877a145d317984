package store

import (
	"errors"
	"fmt"
	"math"
	"time"
)

var (
	// ErrNotFound is wrapped by Get when the key is absent or expired.
	ErrNotFound = errors.New("store: not found")

	// ErrUnavailable is wrapped, beside the underlying error, when the backend cannot be
	// reached or cannot serve right now (connection refused or lost, timeout, Redis loading
	// its data set). The caller may retry later; the HTTP layer answers 503.
	ErrUnavailable = errors.New("store: unavailable")

	// ErrClosed is wrapped by every call made after Close.
	ErrClosed = errors.New("store: closed")
)

// checkTTL rejects negative expiries; 0 means none.
func checkTTL(backend, op, key string, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("store: %s %s %q: negative ttl %v", backend, op, key, ttl)
	}
	return nil
}

// ttlMillis is ttl in whole milliseconds, rounded up so that a positive ttl never becomes 0
// (which Redis would reject, or read as "no expiry").
func ttlMillis(ttl time.Duration) int64 {
	return int64((ttl + time.Millisecond - 1) / time.Millisecond)
}

// addInt64 is n + by for Incr on key, or an error when the sum overflows int64.
func addInt64(backend, key string, n, by int64) (int64, error) {
	if (by > 0 && n > math.MaxInt64-by) || (by < 0 && n < math.MinInt64-by) {
		return 0, fmt.Errorf("store: %s incr %q: %d + %d overflows int64", backend, key, n, by)
	}
	return n + by, nil
}
