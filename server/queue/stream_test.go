package queue

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stockagent/server/store"
	"stockagent/server/store/storetest"
	"stockagent/server/tasks"
)

// open returns a Stream on key for consumer, closed with t.
func open(t *testing.T, url, key, consumer string, lease time.Duration) *Stream {
	t.Helper()
	s, err := Open(context.Background(), url, key, consumer, lease)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// claim waits (hang guard: ctx) until s claims an entry.
func claim(ctx context.Context, t *testing.T, s *Stream) tasks.Delivery {
	t.Helper()
	for {
		d, ok, err := s.Claim(ctx)
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		if ok {
			return d
		}
	}
}

func TestStream(t *testing.T) {
	url, key := storetest.StartRedis(t), storetest.KeyPrefix(t)+"work"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := open(t, url, key, "a", time.Hour)
	b := open(t, url, key, "b", time.Hour)
	job := tasks.Job{TaskID: "aapl", RunID: "r1"}

	t.Run("a claimed entry is nobody else's", func(t *testing.T) {
		if err := a.Enqueue(ctx, job); err != nil {
			t.Fatal(err)
		}
		d := claim(ctx, t, a)
		if d.Job != job {
			t.Fatalf("claimed %+v, want %+v", d.Job, job)
		}
		if err := a.Renew(ctx, d); err != nil {
			t.Fatal(err)
		}
		if d2, ok, err := b.Claim(ctx); err != nil || ok {
			t.Fatalf("b claimed %+v (%v) while a holds it within its lease", d2, err)
		}
		if err := a.Done(ctx, d); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a silent consumer's entry is reclaimed", func(t *testing.T) {
		if err := a.Enqueue(ctx, job); err != nil {
			t.Fatal(err)
		}
		dead := claim(ctx, t, a)
		c := open(t, url, key, "c", time.Millisecond) // a lease that lapses at once
		start := time.Now()
		got := claim(ctx, t, c)
		t.Logf("reclaimed after %s", time.Since(start))
		if got.ID != dead.ID || got.Job != job {
			t.Fatalf("c reclaimed %+v, want entry %s of %+v", got, dead.ID, job)
		}
		if err := c.Done(ctx, got); err != nil {
			t.Fatal(err)
		}
		if d, ok, err := c.Claim(ctx); err != nil || ok {
			t.Fatalf("an acknowledged entry came back: %+v %v", d, err)
		}
	})

	t.Run("a stream lost with its group is set up again", func(t *testing.T) {
		if err := a.c.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}
		if d, ok, err := a.Claim(ctx); err != nil || ok {
			t.Fatalf("claim after the loss: %+v %v %v", d, ok, err)
		}
		if err := b.Enqueue(ctx, job); err != nil {
			t.Fatal(err)
		}
		if err := a.Done(ctx, claim(ctx, t, a)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a requeued entry goes to the next reader at once", func(t *testing.T) {
		if err := a.Enqueue(ctx, job); err != nil {
			t.Fatal(err)
		}
		d := claim(ctx, t, a)
		if err := a.Requeue(ctx, d); err != nil {
			t.Fatal(err)
		}
		got := claim(ctx, t, b)
		if got.Job != job || got.ID == d.ID {
			t.Fatalf("b got %+v, want %+v as a new entry", got, job)
		}
		if err := b.Done(ctx, got); err != nil {
			t.Fatal(err)
		}
	})
}

// cluster builds an api-role Manager (it submits only) and returns it with a
// function that starts a worker Manager; all share one Redis (store and stream).
func cluster(t *testing.T, h tasks.Handler) (api *tasks.Manager, worker func(name string) *tasks.Manager) {
	t.Helper()
	url, prefix := storetest.StartRedis(t), storetest.KeyPrefix(t)
	return member(t, url, prefix, "api", true, h, nil), func(name string) *tasks.Manager {
		return member(t, url, prefix, name, false, h, nil)
	}
}

// member is one Manager of a cluster: a store and a stream of its own on the
// Redis at url under prefix, a one-second lease, h for every run. wrap, when
// set, stands between the Manager and its store.
func member(t *testing.T, url, prefix, name string, noWork bool, h tasks.Handler, wrap func(store.Store) store.Store, opts ...func(*tasks.Config)) *tasks.Manager {
	t.Helper()
	st, err := store.Open(url, store.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	use := st
	if wrap != nil {
		use = wrap(st)
	}
	cfg := tasks.Config{Lease: time.Second, Queue: open(t, url, prefix+"work", name, time.Second), NoWork: noWork}
	for _, o := range opts {
		o(&cfg)
	}
	m := tasks.New(use, cfg)
	m.Handle("train", h)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	return m
}

// Many concurrent submissions of one task through the queue: one run, by one worker.
func TestQueuedSubmissionsRunOnce(t *testing.T) {
	var runs atomic.Int32
	api, worker := cluster(t, func(json.RawMessage) tasks.Func {
		return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
			runs.Add(1)
			return json.RawMessage(`{"ok":true}`), nil
		}
	})
	worker("w1")
	worker("w2")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var started atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok, err := api.Submit(ctx, tasks.Spec{ID: "aapl", Kind: "train"}); err != nil {
				t.Error(err)
			} else if ok {
				started.Add(1)
			}
		}()
	}
	wg.Wait()
	rec, err := api.Wait(ctx, "aapl")
	if err != nil || rec.Status != tasks.Completed || rec.Worker == "" {
		t.Fatalf("record %+v, %v: want completed by a named worker", rec, err)
	}
	if started.Load() != 1 || runs.Load() != 1 {
		t.Fatalf("%d submissions started, %d runs: want 1 and 1", started.Load(), runs.Load())
	}
	// A finished task starts again on the next submission.
	if _, ok, err := api.Submit(ctx, tasks.Spec{ID: "aapl", Kind: "train"}); err != nil || !ok {
		t.Fatalf("resubmission after completion: %v %v", ok, err)
	}
	if rec, err := api.Wait(ctx, "aapl"); err != nil || rec.Status != tasks.Completed || runs.Load() != 2 {
		t.Fatalf("second run: %+v %v, runs %d", rec, err, runs.Load())
	}
}

// A worker that shuts down hands its run back; another resumes it as the next attempt.
func TestShutdownHandsRunBack(t *testing.T) {
	attempts := make(chan int, 4)
	api, worker := cluster(t, func(json.RawMessage) tasks.Func {
		return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
			attempts <- tasks.RunOf(ctx).Attempt
			if tasks.RunOf(ctx).Attempt == 1 {
				<-ctx.Done() // a long training, stopped at its next safe point
				return nil, errors.New("cancelled")
			}
			return json.RawMessage(`{"ok":true}`), nil
		}
	})
	first := worker("w1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, ok, err := api.Submit(ctx, tasks.Spec{ID: "msft", Kind: "train"}); err != nil || !ok {
		t.Fatalf("submit: %v %v", ok, err)
	}
	if got := <-attempts; got != 1 {
		t.Fatalf("first attempt %d", got)
	}
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := api.Get(ctx, "msft")
	if err != nil || rec.Status != tasks.Queued || rec.Attempt != 2 || rec.Detail == "" {
		t.Fatalf("after the hand-back: %+v %v, want queued, attempt 2, with a detail", rec, err)
	}
	start := time.Now()
	worker("w2")
	if rec, err = api.Wait(ctx, "msft"); err != nil || rec.Status != tasks.Completed || rec.Attempt != 2 {
		t.Fatalf("resumed run: %+v %v", rec, err)
	}
	t.Logf("handed-back run finished by the second worker %s after it started", time.Since(start))
	if got := <-attempts; got != 2 {
		t.Fatalf("second attempt %d, want 2", got)
	}
}
