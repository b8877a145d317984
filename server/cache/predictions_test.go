package cache

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// pointers stands in for the store's serving pointers (forecast.ServingVersions).
type pointers struct {
	mu sync.Mutex
	m  map[string]string
}

func (p *pointers) set(model, version string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[model] = version
}

func (p *pointers) serving(_ context.Context, model string) (string, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[model]
	return v, ok, nil
}

func forecast(version string) json.RawMessage {
	return json.RawMessage(`{"ticker":"AAPL","model_version":"` + version + `","predictions":{}}`)
}

func TestPredictionCache(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx := context.Background()
		st := b.Open(t)
		ptrs := &pointers{m: map[string]string{}}
		p := NewPredictions(st, ptrs.serving, 0)
		clock := time.Date(2025, 1, 2, 12, 0, 0, 0, newYork)
		p.now = func() time.Time { return clock }

		get := func() (string, bool) {
			t.Helper()
			pred, ok, err := p.Get(ctx, "AAPL")
			if err != nil {
				t.Fatal(err)
			}
			return string(pred), ok
		}
		if _, ok := get(); ok {
			t.Fatal("hit on an empty cache")
		}
		// Without a serving pointer, the version that made the entry stands.
		if err := p.Put(ctx, "AAPL", forecast("v0")); err != nil {
			t.Fatal(err)
		}
		if pred, ok := get(); !ok || pred != string(forecast("v0")) {
			t.Fatalf("want a hit with the forecast, got %v %s", ok, pred)
		}
		ptrs.set("AAPL", "v1")
		if _, ok := get(); ok {
			t.Fatal("served a forecast of a version the pointer no longer names")
		}
		if err := p.Put(ctx, "AAPL", forecast("v1")); err != nil {
			t.Fatal(err)
		}
		if pred, ok := get(); !ok || pred != string(forecast("v1")) {
			t.Fatalf("want a hit with the forecast, got %v %s", ok, pred)
		}
		if got, _ := p.Tickers(ctx); !slices.Equal(got, []string{"AAPL"}) {
			t.Fatalf("Tickers = %v", got)
		}

		// A newer serving version makes the entry stale, and it is removed.
		ptrs.set("AAPL", "v2")
		if _, ok := get(); ok {
			t.Fatal("served a forecast of the replaced version")
		}
		if _, err := st.Get(ctx, Key("AAPL")); !isNotFound(err) {
			t.Fatalf("stale entry still stored: %v", err)
		}

		// A new market session makes the entry stale too.
		if err := p.Put(ctx, "AAPL", forecast("v2")); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(4 * time.Hour) // 16:00: still the same session
		if _, ok := get(); !ok {
			t.Fatal("miss within the session")
		}
		clock = clock.Add(time.Hour) // 17:00: after the close, new prices may exist
		if _, ok := get(); ok {
			t.Fatal("served a forecast from the previous session")
		}

		// Put refuses anything that is not a forecast, so a failure is never cached.
		if err := p.Put(ctx, "AAPL", json.RawMessage(`{"detail":"boom"}`)); err == nil {
			t.Fatal("cached a non-forecast")
		}
		// An unreadable entry is never answered.
		if err := st.Set(ctx, Key("AAPL"), []byte("garbage"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, ok := get(); ok {
			t.Fatal("answered from an unreadable entry")
		}

		// Forget drops one model's entry (a new backtest changes its summary), not another's.
		ptrs.set("parent", "p1")
		for _, m := range []string{"AAPL", "parent"} {
			if err := p.Put(ctx, m, forecast(ptrs.m[m])); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Forget(ctx, "AAPL"); err != nil {
			t.Fatal(err)
		}
		if _, ok := get(); ok {
			t.Fatal("answered a forgotten entry")
		}
		if _, ok, err := p.Get(ctx, "parent"); err != nil || !ok {
			t.Fatalf("Forget(AAPL) took the parent's entry too: %v %v", ok, err)
		}

		if err := p.Put(ctx, "parent", forecast("p1")); err != nil {
			t.Fatal(err)
		}
		if err := p.Put(ctx, "AAPL", forecast("v2")); err != nil {
			t.Fatal(err)
		}
		n, err := p.Clear(ctx)
		if err != nil || n != 2 {
			t.Fatalf("Clear = %d, %v", n, err)
		}
		if got, _ := p.Tickers(ctx); len(got) != 0 {
			t.Fatalf("after Clear: %v", got)
		}
	})
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func TestKeysAndSessions(t *testing.T) {
	if Key("AAPL") != "predict_child_aapl" || Key("parent") != "predict_parent" {
		t.Fatal(Key("AAPL"), Key("parent"))
	}
	ny := func(h, m int) time.Time { return time.Date(2025, 1, 3, h, m, 0, 0, newYork) }
	if Session(ny(9, 30)) != "2025-01-02" || Session(ny(16, 29)) != "2025-01-02" || Session(ny(16, 31)) != "2025-01-03" {
		t.Fatal(Session(ny(9, 30)), Session(ny(16, 29)), Session(ny(16, 31)))
	}
}
