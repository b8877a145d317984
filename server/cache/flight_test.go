package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stockagent/server/store/storetest"
)

// computer counts its computations; each caches and answers a forecast that
// names its number, once release says so.
type computer struct {
	calls   atomic.Int32
	release func() bool // nil: at once
}

func (c *computer) fn(ctx context.Context, p *Predictions) Func {
	return func(context.Context) (json.RawMessage, error) {
		n := c.calls.Add(1)
		for c.release != nil && !c.release() {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("call %d: the requests never gathered: %w", n, ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
		pred := json.RawMessage(fmt.Sprintf(`{"model_version":"v1","call":%d}`, n))
		return pred, p.Put(ctx, "AAPL", pred)
	}
}

// askAll sends n identical requests to p at once and returns their answers.
func askAll(ctx context.Context, t *testing.T, p *Predictions, n int, compute Func) []string {
	t.Helper()
	out := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			pred, err := p.Compute(ctx, "AAPL", compute)
			if err != nil {
				t.Error(err)
			}
			out[i] = string(pred)
		})
	}
	wg.Wait()
	return out
}

// 64 identical misses at once: one computation, whose answer all get.
func TestComputeMissesShareOneCall(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
		defer cancel()
		obs := &recorder{}
		p := NewPredictions(b.Open(t), func(context.Context, string) (string, bool, error) { return "", false, nil }, 0, WithObserver(obs))
		c := &computer{release: func() bool { return obs.count("joined process") == 63 }}
		for i, got := range askAll(ctx, t, p, 64, c.fn(ctx, p)) {
			if got != `{"model_version":"v1","call":1}` {
				t.Fatalf("request %d: %s", i, got)
			}
		}
		if n := c.calls.Load(); n != 1 {
			t.Fatalf("%d computations for 64 identical misses, want 1", n)
		}
	})
}

// Two replicas, 32 identical misses each at once: one computation in all, the
// other replica answering from its entry through the store's lock.
func TestComputeAcrossReplicas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	url, prefix := storetest.StartRedis(t), storetest.KeyPrefix(t)
	var reps [2]*replica
	for i := range reps {
		reps[i] = newReplica(ctx, t, url, prefix)
	}
	c := &computer{}
	c.release = func() bool {
		// Both replicas' requests gathered, and the other's leader waits on the lock.
		return reps[0].obs.count("joined process") == 31 && reps[1].obs.count("joined process") == 31
	}
	answers := make([][]string, 2)
	var wg sync.WaitGroup
	for i, r := range reps {
		wg.Go(func() { answers[i] = askAll(ctx, t, r.p, 32, c.fn(ctx, r.p)) })
	}
	wg.Wait()
	for i := range reps {
		for j, got := range answers[i] {
			if got != `{"model_version":"v1","call":1}` {
				t.Fatalf("replica %d request %d: %s", i, j, got)
			}
		}
	}
	if n := c.calls.Load(); n != 1 {
		t.Fatalf("%d computations for 64 identical misses on two replicas, want 1", n)
	}
	if n := reps[0].obs.count("joined replica") + reps[1].obs.count("joined replica"); n != 1 {
		t.Fatalf("%d flights answered by the other replica's entry, want 1", n)
	}
}

// A lock whose holder died (it never renews it, never writes an entry) holds
// the others back only until it lapses; then one of them computes.
func TestComputeAfterTheLockHolderDied(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	r := newReplica(ctx, t, storetest.StartRedis(t), storetest.KeyPrefix(t))
	if ok, err := r.st.SetNX(ctx, flightPrefix+Key("AAPL"), []byte("dead"), 300*time.Millisecond); err != nil || !ok {
		t.Fatal(ok, err)
	}
	c := &computer{}
	pred, err := r.p.Compute(ctx, "AAPL", c.fn(ctx, r.p))
	if err != nil || string(pred) != `{"model_version":"v1","call":1}` || c.calls.Load() != 1 {
		t.Fatalf("%s %v after %d calls", pred, err, c.calls.Load())
	}
	if n := r.obs.count("joined replica"); n != 0 {
		t.Fatalf("answered from a dead holder's entry %d times", n)
	}
	if _, err := r.st.Get(ctx, flightPrefix+Key("AAPL")); err == nil {
		t.Fatal("the lock outlived the computation")
	}
}
