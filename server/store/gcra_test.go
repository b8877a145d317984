package store

import (
	"testing"
	"time"
)

// TestGCRAStep walks one bucket (3 calls per 3 s: interval 1 s) through a timeline.
func TestGCRAStep(t *testing.T) {
	const s = int64(time.Second / time.Microsecond)
	interval, horizon, err := gcraParams("test", "k", 3, 3*time.Second)
	if err != nil || interval != s || horizon != 3*s {
		t.Fatalf("gcraParams = %d, %d, %v", interval, horizon, err)
	}
	steps := []struct {
		name    string
		now     int64
		allowed bool
		remain  int
		retry   time.Duration
		reset   time.Duration
	}{
		{"first call of a new bucket", 100 * s, true, 2, 0, time.Second},
		{"burst 2", 100 * s, true, 1, 0, 2 * time.Second},
		{"burst 3 empties it", 100 * s, true, 0, 0, 3 * time.Second},
		{"4th at once is refused", 100 * s, false, 0, time.Second, 3 * time.Second},
		{"refusal did not count", 100*s + s/2, false, 0, time.Second / 2, 5 * time.Second / 2},
		{"one interval later one call", 101 * s, true, 0, 0, 3 * time.Second},
		{"after a full window, full burst", 110 * s, true, 2, 0, time.Second},
	}
	var tat int64
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			next, r := gcraStep(st.now, tat, interval, horizon)
			if r.Allowed != st.allowed || r.Remaining != st.remain || r.RetryAfter != st.retry || r.ResetAfter != st.reset {
				t.Fatalf("gcraStep = %+v, want allowed=%v remaining=%d retry=%v reset=%v",
					r, st.allowed, st.remain, st.retry, st.reset)
			}
			if !r.Allowed && next != max(tat, st.now) {
				t.Fatalf("refused call moved the TAT from %d to %d", tat, next)
			}
			tat = next
		})
	}
}

func TestGCRAParams(t *testing.T) {
	cases := map[string]struct {
		limit    int
		window   time.Duration
		interval int64 // 0: want an error
	}{
		"40 per hour":        {40, time.Hour, 90_000_000},
		"rounds down":        {3, time.Second, 333_333},
		"one per µs":         {1_000_000, time.Second, 1},
		"faster than one µs": {1_000_001, time.Second, 0},
		"zero limit":         {0, time.Hour, 0},
		"negative window":    {1, -time.Hour, 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			interval, horizon, err := gcraParams("test", "k", c.limit, c.window)
			if c.interval == 0 {
				if err == nil {
					t.Fatalf("no error for %d per %v", c.limit, c.window)
				}
				return
			}
			if err != nil || interval != c.interval || horizon != c.interval*int64(c.limit) {
				t.Fatalf("gcraParams = %d, %d, %v; want interval %d", interval, horizon, err, c.interval)
			}
		})
	}
}

func TestEscapeGlob(t *testing.T) {
	cases := map[string]string{
		"predict_child_": "predict_child_",
		`a*b?`:           `a\*b\?`,
		`[x]`:            `\[x\]`,
		`back\`:          `back\\`,
		`^-`:             `\^\-`,
		"":               "",
		"ünïcödé:":       "ünïcödé:",
	}
	for in, want := range cases {
		if got := escapeGlob(in); got != want {
			t.Errorf("escapeGlob(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMemorySweep checks that the sweeper deletes expired entries nobody reads, and
// that Close stops it.
func TestMemorySweep(t *testing.T) {
	m := NewMemory(WithSweepInterval(20 * time.Millisecond))
	ctx := t.Context()
	if err := m.Set(ctx, "gone", []byte("v"), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(ctx, "kept", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.RLock()
		n := len(m.items)
		m.mu.RUnlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries 5s after expiry, want 1", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.swept:
	default:
		t.Fatal("sweeper still running after Close")
	}
}
