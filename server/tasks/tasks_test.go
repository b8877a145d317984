package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// Every suite runs against the in-process store and a real Redis.
func eachStore(t *testing.T, f func(t *testing.T, st store.Store)) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		st, err := store.Open(b.URL, store.WithPrefix(storetest.KeyPrefix(t)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st)
	})
}

func newManager(t *testing.T, st store.Store, cfg Config) *Manager {
	t.Helper()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	m := New(st, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Shutdown(ctx)
	})
	return m
}

func wait(t *testing.T, m *Manager, id string) Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := m.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return r
}

func returns(v string) Func {
	return func(ctx context.Context, progress func(json.RawMessage)) (json.RawMessage, error) {
		progress(json.RawMessage(`{"epoch":1}`))
		return json.RawMessage(v), nil
	}
}

// blocker blocks until released or cancelled.
func blocker(release <-chan struct{}) Func {
	return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
		select {
		case <-release:
			return json.RawMessage(`{}`), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

var bg = context.Background()

func TestOneTaskPerID(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{})
		release := make(chan struct{})
		if _, started, err := m.Submit(bg, "aapl", "train_child", "", blocker(release)); !started || err != nil {
			t.Fatal("first submit did not start", err)
		}
		rec, started, _ := m.Submit(bg, "aapl", "train_child", "", returns(`{}`))
		if started || !rec.Active() {
			t.Fatalf("second submit started=%v status=%s", started, rec.Status)
		}
		close(release)
		if r := wait(t, m, "aapl"); r.Status != Completed || r.ElapsedSeconds == nil {
			t.Fatalf("got %+v", r)
		}
		if _, started, _ := m.Submit(bg, "aapl", "train_child", "", returns(`{"v":2}`)); !started {
			t.Fatal("resubmit after completion did not start")
		}
		if r := wait(t, m, "aapl"); string(r.Result) != `{"v":2}` || string(r.Progress) != `{"epoch":1}` {
			t.Fatalf("result %s progress %s", r.Result, r.Progress)
		}
	})
}

func TestChildWaitsForParent(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{})
		release := make(chan struct{})
		m.Submit(bg, "parent_training", "train_parent", "", blocker(release))
		var childRan atomic.Bool
		rec, _, _ := m.Submit(bg, "aapl", "train_child", "parent_training", func(context.Context, func(json.RawMessage)) (json.RawMessage, error) {
			childRan.Store(true)
			return json.RawMessage(`{}`), nil
		})
		if rec.Status != Queued || rec.Detail == "" {
			t.Fatalf("child record %+v, want queued with a detail", rec)
		}
		time.Sleep(300 * time.Millisecond)
		if childRan.Load() {
			t.Fatal("child ran before the parent completed")
		}
		close(release)
		if r := wait(t, m, "aapl"); r.Status != Completed || !childRan.Load() {
			t.Fatalf("child %+v", r)
		}
	})
}

func TestParentFailureFailsChild(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{})
		release := make(chan struct{})
		m.Submit(bg, "parent_training", "train_parent", "", func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
			<-release
			return nil, errors.New("boom")
		})
		m.Submit(bg, "aapl", "train_child", "parent_training", returns(`{}`))
		close(release)
		if r := wait(t, m, "aapl"); r.Status != Failed || r.FailedAt == nil || !strings.Contains(r.Error, "boom") {
			t.Fatalf("child %+v", r)
		}
	})
}

func TestCancelAndTimeout(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{Timeout: 100 * time.Millisecond})
		m.Submit(bg, "slow", "train_child", "", blocker(make(chan struct{})))
		if r := wait(t, m, "slow"); r.Status != Failed || !strings.Contains(r.Error, "timed out") {
			t.Fatalf("timeout: %+v", r)
		}
		m2 := newManager(t, st, Config{})
		m2.Submit(bg, "c", "train_child", "", blocker(make(chan struct{})))
		if _, err := m2.Cancel(bg, "c"); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, m2, "c"); r.Status != Failed {
			t.Fatalf("cancel: %+v", r)
		}
		if _, err := m2.Cancel(bg, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cancel unknown: %v", err)
		}
	})
}

func TestBoundedConcurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{MaxRunning: 2})
		var running, peak atomic.Int32
		release := make(chan struct{})
		ids := []string{"a", "b", "c", "d", "e"}
		for _, id := range ids {
			m.Submit(bg, id, "train_child", "", func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				<-release
				running.Add(-1)
				return json.RawMessage(`{}`), nil
			})
		}
		time.Sleep(200 * time.Millisecond)
		if q, r := m.Counts(); q != 3 || r != 2 {
			t.Errorf("counts queued %d running %d, want 3 and 2", q, r)
		}
		close(release)
		for _, id := range ids {
			wait(t, m, id)
		}
		if peak.Load() != 2 {
			t.Fatalf("peak running %d, want 2", peak.Load())
		}
		if recs, err := m.List(bg); err != nil || len(recs) != 5 {
			t.Fatalf("List: %d records, %v", len(recs), err)
		}
		if n, err := m.Clear(bg); err != nil || n != 5 {
			t.Fatalf("Clear = %d, %v", n, err)
		}
	})
}

// Two managers (two server processes) on one store: one training per id,
// status visible from both, and a cancel sent through either reaches the owner.
func TestTwoProcessesShareTasks(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		a, b := newManager(t, st, Config{}), newManager(t, st, Config{})
		release := make(chan struct{})
		if _, started, _ := a.Submit(bg, "aapl", "train_child", "", blocker(release)); !started {
			t.Fatal("a did not start")
		}
		rec, started, err := b.Submit(bg, "aapl", "train_child", "", returns(`{}`))
		if err != nil || started || !rec.Active() {
			t.Fatalf("b started a duplicate: %v %+v %v", started, rec, err)
		}
		close(release)
		if r := wait(t, b, "aapl"); r.Status != Completed {
			t.Fatalf("b sees %+v", r)
		}
		a.Submit(bg, "msft", "train_child", "", blocker(make(chan struct{})))
		if _, err := b.Cancel(bg, "msft"); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, b, "msft"); r.Status != Failed {
			t.Fatalf("cancel through b: %+v", r)
		}
	})
}

// A task left running by a process that died is marked failed once its lease lapses.
func TestDeadOwnerIsInterrupted(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		lease := 500 * time.Millisecond
		dead := newManager(t, st, Config{Lease: lease})
		// What a killed process leaves behind: a running record and a lease nobody renews.
		rec := Record{TaskID: "nvda", Kind: "train_child", Status: Running, Owner: "dead/1/x", CreatedAt: time.Now().UTC()}
		if err := dead.write(bg, rec); err != nil {
			t.Fatal(err)
		}
		st.SetNX(bg, lockPrefix+"nvda", []byte("dead/1/x"), lease)

		m := newManager(t, st, Config{Lease: lease})
		if r, _ := m.Get(bg, "nvda"); r.Status != Running {
			t.Fatalf("within the lease: %+v", r)
		}
		time.Sleep(lease + 300*time.Millisecond)
		r, err := m.Get(bg, "nvda")
		if err != nil || r.Status != Failed || !strings.HasPrefix(r.Error, "interrupted") {
			t.Fatalf("after the lease: %+v %v", r, err)
		}
		// A live task keeps its lease well past one lease period.
		m.Submit(bg, "live", "train_child", "", blocker(make(chan struct{})))
		time.Sleep(3 * lease)
		other := newManager(t, st, Config{Lease: lease})
		if r, _ := other.Get(bg, "live"); r.Status != Running {
			t.Fatalf("a renewed lease lapsed: %+v", r)
		}
	})
}
