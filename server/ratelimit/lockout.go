package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"stockagent/server/store"
)

// LockStore is what a Lockout counts failures and keeps locks in; every store.Store is one.
type LockStore interface {
	Backend
	Get(ctx context.Context, key string) ([]byte, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// Lockout limits failures (wrong credentials) per client. Failures are counted under a
// Policy; the failure the policy refuses locks the client out of every call, right or
// wrong, until the policy would allow the next failure. Refusing only the failures would
// not do: a guesser would tell a right guess by the one answer that is not refused.
// Like the Limiter it keeps its state in the store, so replicas sharing a Redis share it.
type Lockout struct {
	store   LockStore
	limiter *Limiter
	policy  string
	prefix  string
}

// NewLockout returns a Lockout counting failures under p (Limit 0: no limit) in st.
func NewLockout(st LockStore, p Policy) (*Lockout, error) {
	l, err := New(st, Config{Enabled: p.Limit > 0, Policies: []Policy{p}})
	if err != nil {
		return nil, err
	}
	return &Lockout{store: st, limiter: l, policy: p.Name, prefix: DefaultKeyPrefix + "lock:" + p.Name + ":"}, nil
}

// Policy is the name of the policy failures are counted under (for metrics).
func (l *Lockout) Policy() string { return l.policy }

// Locked returns how long client is still locked out; zero when it is not.
func (l *Lockout) Locked(ctx context.Context, client string) (time.Duration, error) {
	if !l.limiter.enabled {
		return 0, nil
	}
	v, err := l.store.Get(ctx, l.prefix+digest(client))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ratelimit: lockout %q: %w", l.policy, err)
	}
	until, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: lockout %q: lock %q is no time", l.policy, v)
	}
	// The store expires the lock; this is only for Retry-After, so at least a moment.
	return max(time.Until(time.UnixMilli(until)), time.Millisecond), nil
}

// Fail counts one failure by client. When the policy refuses it, client is locked out
// for the Decision's RetryAfter (see Locked) and Allowed is false.
func (l *Lockout) Fail(ctx context.Context, client string) (Decision, error) {
	d, err := l.limiter.Allow(ctx, l.policy, client)
	if err != nil || d.Allowed {
		return d, err
	}
	until := strconv.FormatInt(time.Now().Add(d.RetryAfter).UnixMilli(), 10)
	if err := l.store.Set(ctx, l.prefix+digest(client), []byte(until), d.RetryAfter); err != nil {
		return d, fmt.Errorf("ratelimit: lockout %q: %w", l.policy, err)
	}
	return d, nil
}
