package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stockagent/server/ratelimit"
	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// The service's default policies (docs/api.md: 5/hour on training, 40/hour on predictions).
var (
	training   = ratelimit.Policy{Name: "training", Limit: 5, Window: time.Hour}
	prediction = ratelimit.Policy{Name: "prediction", Limit: 40, Window: time.Hour}
)

// openStore opens b's store under prefix; t's cleanup empties and closes it.
func openStore(t *testing.T, b storetest.Backend, prefix string) store.Store {
	t.Helper()
	return b.Open(t, store.WithPrefix(prefix))
}

// newLimiter returns an enabled limiter with policies over a fresh store of b.
func newLimiter(t *testing.T, b storetest.Backend, policies ...ratelimit.Policy) *ratelimit.Limiter {
	t.Helper()
	l, err := ratelimit.New(openStore(t, b, storetest.KeyPrefix(t)), ratelimit.Config{Enabled: true, Policies: policies})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l
}

// allow calls l.Allow and fails t on an error.
func allow(t *testing.T, l *ratelimit.Limiter, policy, client string) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), policy, client)
	if err != nil {
		t.Fatalf("Allow(%q, %q): %v", policy, client, err)
	}
	return d
}

// TestLimiter runs every suite against both backends.
func TestLimiter(t *testing.T) {
	suites := map[string]func(t *testing.T, b storetest.Backend){
		"41st call refused, other clients served": testPerClient,
		"atomic under concurrency":                testConcurrent,
		"window resets":                           testReset,
		"processes share buckets":                 testShared,
		"policy off":                              testPolicyOff,
		"bad calls":                               testBadCalls,
	}
	storetest.RunSuites(t, suites)
}

func testPerClient(t *testing.T, b storetest.Backend) {
	l := newLimiter(t, b, training, prediction)
	start := time.Now()
	for i := range 40 {
		d := allow(t, l, "prediction", "key-a")
		if !d.Allowed || d.Limit != 40 || d.Remaining != 39-i || d.RetryAfter != 0 {
			t.Fatalf("call %d = %+v, want allowed, limit 40, %d remaining", i+1, d, 39-i)
		}
	}
	d := allow(t, l, "prediction", "key-a")
	if d.Allowed || d.Limit != 40 || d.Remaining != 0 || d.RetryAfter <= 0 {
		t.Fatalf("41st call = %+v, want refused with RetryAfter > 0", d)
	}
	// One call's worth of time is 90 s and the full bucket an hour, each less the time
	// since the first call: bounded by what the test measured, however slow the machine.
	// A millisecond of slack covers the store's clock (Redis's) and its rounding.
	elapsed := time.Since(start) + time.Millisecond
	if d.RetryAfter > 90*time.Second || d.RetryAfter < 90*time.Second-elapsed || d.RetryAfterSeconds() > 90 {
		t.Fatalf("41st call RetryAfter = %v (%d s), want 90s less at most the %v since the first call",
			d.RetryAfter, d.RetryAfterSeconds(), elapsed)
	}
	if d.ResetAfter > time.Hour || d.ResetAfter < time.Hour-elapsed {
		t.Fatalf("41st call ResetAfter = %v, want 1h less at most the %v since the first call", d.ResetAfter, elapsed)
	}

	if d := allow(t, l, "prediction", "key-b"); !d.Allowed || d.Remaining != 39 {
		t.Fatalf("another client = %+v, want allowed with 39 remaining", d)
	}
	if d := allow(t, l, "training", "key-a"); !d.Allowed || d.Limit != 5 || d.Remaining != 4 {
		t.Fatalf("same client, other policy = %+v, want allowed with 4 of 5 remaining", d)
	}
	if d := allow(t, l, "prediction", "key-a"); d.Allowed {
		t.Fatalf("42nd call = %+v, want still refused", d)
	}
}

func testConcurrent(t *testing.T, b storetest.Backend) {
	l := newLimiter(t, b, prediction)
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			d, err := l.Allow(context.Background(), "prediction", "hammer")
			switch {
			case err != nil:
				errs <- err
			case d.Allowed:
				allowed.Add(1)
			default:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Allow: %v", err)
	}
	if allowed.Load() != 40 || refused.Load() != 60 {
		t.Fatalf("100 concurrent calls: %d allowed, %d refused; want 40 and 60", allowed.Load(), refused.Load())
	}
}

// testReset exhausts a 3-per-second policy and checks that after ResetAfter the full
// limit is back. It tolerates a slow machine: a call or two may be refilled meanwhile.
func testReset(t *testing.T, b storetest.Backend) {
	fast := ratelimit.Policy{Name: "fast", Limit: 3, Window: time.Second}
	l := newLimiter(t, b, fast)
	for i := range 3 {
		if d := allow(t, l, "fast", "c"); !d.Allowed {
			t.Fatalf("call %d of a fresh bucket refused: %+v", i+1, d)
		}
	}
	var refused ratelimit.Decision
	for range 10 {
		if d := allow(t, l, "fast", "c"); !d.Allowed {
			refused = d
			break
		}
	}
	if refused.RetryAfter <= 0 || refused.RetryAfter > time.Second/3 {
		t.Fatalf("refusal = %+v, want RetryAfter in (0, 333ms]", refused)
	}
	time.Sleep(refused.ResetAfter + 100*time.Millisecond)
	for i := range 3 {
		if d := allow(t, l, "fast", "c"); !d.Allowed {
			t.Fatalf("call %d after the window refused: %+v", i+1, d)
		}
	}
}

// testShared checks that two limiters on one Redis (two server processes) enforce one
// limit together; for memory, two limiters on one store.
func testShared(t *testing.T, b storetest.Backend) {
	prefix := storetest.KeyPrefix(t)
	s1 := openStore(t, b, prefix)
	s2 := s1
	if b.URL != "" {
		s2 = openStore(t, b, prefix)
	}
	cfg := ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{training}}
	l1, err := ratelimit.New(s1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := ratelimit.New(s2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		l := l1
		if i%2 == 1 {
			l = l2
		}
		if d := allow(t, l, "training", "ip:10.0.0.1"); !d.Allowed || d.Remaining != 4-i {
			t.Fatalf("call %d = %+v, want allowed with %d remaining", i+1, d, 4-i)
		}
	}
	if d := allow(t, l2, "training", "ip:10.0.0.1"); d.Allowed {
		t.Fatalf("6th call through the other limiter = %+v, want refused", d)
	}
}

func testPolicyOff(t *testing.T, b storetest.Backend) {
	off, err := ratelimit.ParsePolicy("prediction", "0")
	if err != nil {
		t.Fatal(err)
	}
	l := newLimiter(t, b, off)
	for i := range 100 {
		if d := allow(t, l, "prediction", "c"); !d.Allowed || d.Limit != 0 {
			t.Fatalf("call %d under a 0 policy = %+v, want allowed with Limit 0", i+1, d)
		}
	}
}

func testBadCalls(t *testing.T, b storetest.Backend) {
	l := newLimiter(t, b, prediction)
	if _, err := l.Allow(context.Background(), "nope", "c"); !errors.Is(err, ratelimit.ErrUnknownPolicy) {
		t.Errorf("unknown policy: %v, want ErrUnknownPolicy", err)
	}
	if _, err := l.Allow(context.Background(), "prediction", ""); err == nil {
		t.Error("empty client accepted")
	}
}

// failingBackend fails the test if the limiter touches it.
type failingBackend struct{ t *testing.T }

func (f failingBackend) RateLimit(context.Context, string, int, time.Duration) (store.RateLimitResult, error) {
	f.t.Error("disabled limiter called its backend")
	return store.RateLimitResult{}, errors.New("unreachable")
}

func TestDisabled(t *testing.T) {
	cases := map[string]struct {
		backend ratelimit.Backend
		cfg     ratelimit.Config
	}{
		"zero config, nil backend":  {nil, ratelimit.Config{}},
		"Enabled false ignores all": {failingBackend{t}, ratelimit.Config{Policies: []ratelimit.Policy{{Name: "training", Limit: 1, Window: time.Hour}}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := ratelimit.New(c.backend, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for range 100 {
				d, err := l.Allow(context.Background(), "training", "c")
				if err != nil || !d.Allowed || d.Limit != 0 {
					t.Fatalf("Allow = %+v, %v; want allowed with Limit 0", d, err)
				}
			}
		})
	}
}

func TestBackendDown(t *testing.T) {
	s, err := store.NewRedis("redis://127.0.0.1:1/0") // nothing listens on port 1
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	l, err := ratelimit.New(s, ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{prediction}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Allow(context.Background(), "prediction", "c")
	if !errors.Is(err, store.ErrUnavailable) || d.Allowed {
		t.Fatalf("Allow with Redis down = %+v, %v; want ErrUnavailable", d, err)
	}
}

func TestNew(t *testing.T) {
	mem := store.NewMemory()
	t.Cleanup(func() { _ = mem.Close() })
	cases := map[string]struct {
		backend ratelimit.Backend
		cfg     ratelimit.Config
		ok      bool
	}{
		"defaults":            {mem, ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{training, prediction}}, true},
		"no policies":         {mem, ratelimit.Config{Enabled: true}, true},
		"enabled, nil store":  {nil, ratelimit.Config{Enabled: true}, false},
		"duplicate name":      {mem, ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{training, training}}, false},
		"empty name":          {mem, ratelimit.Config{Policies: []ratelimit.Policy{{Limit: 1, Window: time.Hour}}}, false},
		"name with colon":     {mem, ratelimit.Config{Policies: []ratelimit.Policy{{Name: "a:b", Limit: 1, Window: time.Hour}}}, false},
		"negative limit":      {mem, ratelimit.Config{Policies: []ratelimit.Policy{{Name: "a", Limit: -1, Window: time.Hour}}}, false},
		"zero window":         {mem, ratelimit.Config{Policies: []ratelimit.Policy{{Name: "a", Limit: 1}}}, false},
		"too fast":            {mem, ratelimit.Config{Policies: []ratelimit.Policy{{Name: "a", Limit: 2, Window: time.Microsecond}}}, false},
		"off needs no window": {mem, ratelimit.Config{Policies: []ratelimit.Policy{{Name: "a"}}}, true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ratelimit.New(c.backend, c.cfg)
			if (err == nil) != c.ok {
				t.Fatalf("New: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestDecisionSeconds(t *testing.T) {
	cases := map[string]struct {
		d    time.Duration
		want int
	}{
		"zero":          {0, 0},
		"a microsecond": {time.Microsecond, 1},
		"exactly 90s":   {90 * time.Second, 90},
		"just over 89s": {89*time.Second + time.Millisecond, 90},
		"an hour":       {time.Hour, 3600},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := ratelimit.Decision{RetryAfter: c.d, ResetAfter: c.d}
			if d.RetryAfterSeconds() != c.want || d.ResetSeconds() != c.want {
				t.Fatalf("seconds of %v = %d, %d; want %d", c.d, d.RetryAfterSeconds(), d.ResetSeconds(), c.want)
			}
		})
	}
}
