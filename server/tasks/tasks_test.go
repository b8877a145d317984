package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

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

// blocks until released or cancelled.
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

func TestOneTaskPerID(t *testing.T) {
	m := New(Config{})
	release := make(chan struct{})
	if _, started, _ := m.Submit("aapl", "train_child", "", blocker(release)); !started {
		t.Fatal("first submit did not start")
	}
	rec, started, _ := m.Submit("aapl", "train_child", "", returns(`{}`))
	if started || !rec.Active() {
		t.Fatalf("second submit started=%v status=%s", started, rec.Status)
	}
	close(release)
	if r := wait(t, m, "aapl"); r.Status != Completed || r.ElapsedSeconds == nil {
		t.Fatalf("got %+v", r)
	}
	// Once finished, the id can run again.
	if _, started, _ := m.Submit("aapl", "train_child", "", returns(`{"v":2}`)); !started {
		t.Fatal("resubmit after completion did not start")
	}
	if r := wait(t, m, "aapl"); string(r.Result) != `{"v":2}` || string(r.Progress) != `{"epoch":1}` {
		t.Fatalf("result %s progress %s", r.Result, r.Progress)
	}
}

func TestChildWaitsForParent(t *testing.T) {
	m := New(Config{})
	release := make(chan struct{})
	m.Submit("parent_training", "train_parent", "", blocker(release))
	var childRan atomic.Bool
	rec, _, _ := m.Submit("aapl", "train_child", "parent_training", func(context.Context, func(json.RawMessage)) (json.RawMessage, error) {
		childRan.Store(true)
		return json.RawMessage(`{}`), nil
	})
	if rec.Status != Queued || rec.Detail == "" {
		t.Fatalf("child record %+v, want queued with a detail", rec)
	}
	time.Sleep(50 * time.Millisecond)
	if childRan.Load() {
		t.Fatal("child ran before the parent completed")
	}
	close(release)
	if r := wait(t, m, "aapl"); r.Status != Completed || !childRan.Load() {
		t.Fatalf("child %+v", r)
	}
}

func TestParentFailureFailsChild(t *testing.T) {
	m := New(Config{})
	release := make(chan struct{})
	m.Submit("parent_training", "train_parent", "", func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
		<-release
		return nil, errors.New("boom")
	})
	m.Submit("aapl", "train_child", "parent_training", returns(`{}`))
	close(release)
	r := wait(t, m, "aapl")
	if r.Status != Failed || r.FailedAt == nil || r.Error == "" {
		t.Fatalf("child %+v", r)
	}
}

func TestCancelAndTimeout(t *testing.T) {
	m := New(Config{Timeout: 100 * time.Millisecond})
	m.Submit("slow", "train_child", "", blocker(make(chan struct{})))
	if r := wait(t, m, "slow"); r.Status != Failed || r.Error == "" {
		t.Fatalf("timeout: %+v", r)
	}
	m = New(Config{})
	m.Submit("c", "train_child", "", blocker(make(chan struct{})))
	if _, err := m.Cancel("c"); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, m, "c"); r.Status != Failed {
		t.Fatalf("cancel: %+v", r)
	}
	if _, err := m.Cancel("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel unknown: %v", err)
	}
}

func TestBoundedConcurrency(t *testing.T) {
	m := New(Config{MaxRunning: 2})
	var running, peak atomic.Int32
	release := make(chan struct{})
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		m.Submit(id, "train_child", "", func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			running.Add(-1)
			return json.RawMessage(`{}`), nil
		})
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		wait(t, m, id)
	}
	if peak.Load() != 2 {
		t.Fatalf("peak running %d, want 2", peak.Load())
	}
	if got := len(m.List()); got != 5 {
		t.Fatalf("List has %d records", got)
	}
}
