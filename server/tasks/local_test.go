package tasks

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// claimWithin claims from q, failing the test when nothing comes within 10 s.
func claimWithin(t *testing.T, q *LocalQueue) Delivery {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		d, ok, err := q.Claim(bg)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return d
		}
	}
	t.Fatal("nothing claimed within 10s")
	return Delivery{}
}

func TestLocalQueueClaimDoneRequeue(t *testing.T) {
	q := NewLocalQueue(time.Hour)
	a, b := Job{TaskID: "aapl", RunID: "r1"}, Job{TaskID: "msft", RunID: "r2"}
	for _, j := range []Job{a, b, a} {
		if err := q.Enqueue(bg, j); err != nil {
			t.Fatal(err)
		}
	}
	if n := q.Waiting(); n != 2 {
		t.Fatalf("%d waiting after adding a job twice, want 2", n)
	}
	first := claimWithin(t, q)
	if first.Job != a || first.ID == "" {
		t.Fatalf("first claim %+v, want aapl's entry", first)
	}
	if err := q.Enqueue(bg, a); err != nil || q.Waiting() != 1 {
		t.Fatalf("a pending job added again: %d waiting, %v", q.Waiting(), err)
	}
	second := claimWithin(t, q)
	if second.Job != b {
		t.Fatalf("second claim %+v, want msft's entry", second)
	}

	// Empty: a claim waits its moment and returns nothing.
	start := time.Now()
	if d, ok, err := q.Claim(bg); ok || err != nil {
		t.Fatalf("claim of an empty queue: %+v %v %v", d, ok, err)
	}
	t.Logf("an empty claim returned after %s", time.Since(start))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, ok, err := q.Claim(ctx); ok || err == nil {
		t.Fatalf("claim with an ended context: %v %v", ok, err)
	}

	// Requeue: the job goes to the end as a new entry; the old one is gone.
	if err := q.Requeue(bg, first); err != nil {
		t.Fatal(err)
	}
	again := claimWithin(t, q)
	if again.Job != a || again.ID == first.ID {
		t.Fatalf("after the requeue: %+v, was %+v", again, first)
	}
	if err := q.Renew(bg, first); err == nil {
		t.Fatal("renewal of a requeued entry succeeded")
	}

	// Done: the entry is gone and the job may be added again.
	for _, d := range []Delivery{again, second} {
		if err := q.Done(bg, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Renew(bg, again); err == nil {
		t.Fatal("renewal of a finished entry succeeded")
	}
	if err := q.Enqueue(bg, a); err != nil || q.Waiting() != 1 {
		t.Fatalf("a finished job added again: %d waiting, %v", q.Waiting(), err)
	}
}

// A pending entry is claimed again once its claimer has been silent past the
// lease, never while it renews it.
func TestLocalQueueReclaimsSilentEntries(t *testing.T) {
	lease := 200 * time.Millisecond
	q := NewLocalQueue(lease)
	if err := q.Enqueue(bg, Job{TaskID: "aapl", RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	d := claimWithin(t, q)
	for range 8 { // two leases, renewed every quarter
		time.Sleep(lease / 4)
		if err := q.Renew(bg, d); err != nil {
			t.Fatal(err)
		}
		if got, ok, _, _ := q.take(); ok {
			t.Fatalf("a renewed entry was claimed again: %+v", got)
		}
	}
	start := time.Now()
	again := claimWithin(t, q)
	if again != d {
		t.Fatalf("reclaimed %+v, want %+v", again, d)
	}
	t.Logf("reclaimed %s after the last renewal (lease %s)", time.Since(start), lease)
	if got, ok, _, _ := q.take(); ok {
		t.Fatalf("a just reclaimed entry was claimed once more: %+v", got)
	}
}

// Many producers and claimers at once: every job is claimed exactly once.
func TestLocalQueueConcurrent(t *testing.T) {
	q := NewLocalQueue(time.Hour)
	const producers, claimers, each = 4, 4, 50
	var mu sync.Mutex
	seen := map[Job]int{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if err := q.Enqueue(bg, Job{TaskID: fmt.Sprintf("t%d-%d", p, i), RunID: "r"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	var claimed sync.WaitGroup
	for range claimers {
		claimed.Go(func() {
			for {
				d, ok, err := q.Claim(ctx)
				if err != nil {
					return // the test has seen every job
				}
				if !ok {
					continue
				}
				mu.Lock()
				seen[d.Job]++
				n := len(seen)
				mu.Unlock()
				if err := q.Done(bg, d); err != nil {
					t.Error(err)
				}
				if n == producers*each {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { claimed.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cancel()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("not every job was claimed within 30s: %d of %d", len(seen), producers*each)
	}
	for j, n := range seen {
		if n != 1 {
			t.Errorf("%+v claimed %d times", j, n)
		}
	}
	if len(seen) != producers*each || q.Waiting() != 0 {
		t.Fatalf("%d jobs claimed, %d waiting; want %d and 0", len(seen), q.Waiting(), producers*each)
	}
}
