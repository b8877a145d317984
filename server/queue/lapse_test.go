package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stockagent/pybridge/pybridgetest"
	"stockagent/server/store"
	"stockagent/server/store/storetest"
	"stockagent/server/tasks"
)

// cutStore is a double of a network partition in front of a real store: while
// cut is set, every call fails as one to an unreachable Redis does.
type cutStore struct {
	store.Store
	cut atomic.Bool
}

func (c *cutStore) down() error {
	if c.cut.Load() {
		return fmt.Errorf("partitioned: %w", store.ErrUnavailable)
	}
	return nil
}

func (c *cutStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := c.down(); err != nil {
		return nil, err
	}
	return c.Store.Get(ctx, key)
}

func (c *cutStore) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := c.down(); err != nil {
		return err
	}
	return c.Store.Set(ctx, key, val, ttl)
}

func (c *cutStore) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := c.down(); err != nil {
		return false, err
	}
	return c.Store.SetNX(ctx, key, val, ttl)
}

func (c *cutStore) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	if err := c.down(); err != nil {
		return false, err
	}
	return c.Store.CompareAndDelete(ctx, key, val)
}

func (c *cutStore) CompareAndExpire(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := c.down(); err != nil {
		return false, err
	}
	return c.Store.CompareAndExpire(ctx, key, val, ttl)
}

func (c *cutStore) Incr(ctx context.Context, key string, by int64, ttl time.Duration) (int64, error) {
	if err := c.down(); err != nil {
		return 0, err
	}
	return c.Store.Incr(ctx, key, by, ttl)
}

func (c *cutStore) CommitFenced(ctx context.Context, fenceKey string, token int64, key string, val []byte) (bool, error) {
	if err := c.down(); err != nil {
		return false, err
	}
	return c.Store.CommitFenced(ctx, fenceKey, token, key, val)
}

// cutQueue is the same double in front of a worker's queue.
type cutQueue struct {
	tasks.Queue
	c *cutStore
}

func (q cutQueue) Claim(ctx context.Context) (tasks.Delivery, bool, error) {
	if err := q.c.down(); err != nil {
		return tasks.Delivery{}, false, err
	}
	return q.Queue.Claim(ctx)
}

func (q cutQueue) Renew(ctx context.Context, d tasks.Delivery) error {
	if err := q.c.down(); err != nil {
		return err
	}
	return q.Queue.Renew(ctx, d)
}

func (q cutQueue) Done(ctx context.Context, d tasks.Delivery) error {
	if err := q.c.down(); err != nil {
		return err
	}
	return q.Queue.Done(ctx, d)
}

func (q cutQueue) Requeue(ctx context.Context, d tasks.Delivery) error {
	if err := q.c.down(); err != nil {
		return err
	}
	return q.Queue.Requeue(ctx, d)
}

// A worker cut off from Redis (a partition double in front of its real store
// and stream) stops its run before its lease can pass to another worker, which then
// takes the run over as attempt 2 and completes it. Once the cut heals, the
// stopped run's record is refused: the other's stays.
func TestCutStoreDoubleRunStopsBeforeTakeOver(t *testing.T) {
	events := make(chan string, 8)
	h := func(json.RawMessage) tasks.Func {
		return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
			attempt := tasks.RunOf(ctx).Attempt
			events <- fmt.Sprintf("attempt %d started", attempt)
			if attempt > 1 {
				return json.RawMessage(`{"ok":true}`), nil
			}
			<-ctx.Done() // a long training, stopped at its next safe point
			events <- "attempt 1 stopped"
			return nil, errors.New("cancelled")
		}
	}
	url, prefix := storetest.StartRedis(t), storetest.KeyPrefix(t)
	api := member(t, url, prefix, "api", true, h, nil)
	cut := &cutStore{}
	var logs pybridgetest.Buffer
	member(t, url, prefix, "w1", false, h, func(st store.Store) store.Store { cut.Store = st; return cut },
		func(c *tasks.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			c.Queue = cutQueue{Queue: c.Queue, c: cut}
		})
	t.Cleanup(func() { cut.cut.Store(false) }) // before w1's shutdown, which waits for its run's record

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // hang guard
	defer cancel()
	next := func() string {
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			t.Fatalf("no next event within the hang guard; w1's log:\n%s", logs.String())
			return ""
		}
	}
	if _, ok, err := api.Submit(ctx, tasks.Spec{ID: "msft", Kind: "train"}); err != nil || !ok {
		t.Fatalf("submit: %v %v", ok, err)
	}
	if e := next(); e != "attempt 1 started" {
		t.Fatalf("first event %q", e)
	}
	member(t, url, prefix, "w2", false, h, nil)
	cut.cut.Store(true)
	cutAt := time.Now()
	if e := next(); e != "attempt 1 stopped" {
		t.Fatalf("after the cut: %q, want attempt 1 to stop before another attempt starts", e)
	}
	if e := next(); e != "attempt 2 started" {
		t.Fatalf("after attempt 1 stopped: %q", e)
	}
	t.Logf("attempt 2 started %s after the cut (lease 1s)", time.Since(cutAt))
	rec, err := api.Wait(ctx, "msft")
	if err != nil || rec.Status != tasks.Completed || rec.Attempt != 2 {
		t.Fatalf("the run taken over: %+v %v", rec, err)
	}
	if !strings.Contains(logs.String(), `msg="task lease not renewed in time: the run stops and goes back to the queue"`) {
		t.Fatalf("w1 did not say why it stopped:\n%s", logs.String())
	}

	cut.cut.Store(false)
	for !strings.Contains(logs.String(), `msg="task record not saved: another process runs this task now"`) {
		select {
		case <-ctx.Done():
			t.Fatalf("w1's stopped run never tried its record after the cut healed:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if rec, err := api.Get(ctx, "msft"); err != nil || rec.Status != tasks.Completed || rec.Attempt != 2 {
		t.Fatalf("the record after the cut healed: %+v %v", rec, err)
	}
}
