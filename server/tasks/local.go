package tasks

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// localClaimWait is how long one LocalQueue.Claim blocks for a new entry, as
// the stream's claim does: short, so that a draining process stops claiming
// soon after it is told to.
const localClaimWait = time.Second

// LocalQueue is the Queue of a process that shares no queue with others (no
// REDIS_URL): entries in memory with the delivery rules of the Redis Stream
// (package queue). A claimed entry stays pending until Done or Requeue; one
// whose claimer has not renewed it for longer than the lease is claimed again.
// The entries end with the process, the task records do not: Manager.Start
// puts the runs a stopped process left active back on the queue. A job
// already held (waiting or pending) is not added twice. Its methods are safe
// for concurrent use.
type LocalQueue struct {
	lease time.Duration

	mu      sync.Mutex
	waiting []Delivery          // new entries, oldest first
	pending map[string]*claimed // by entry id
	held    map[Job]bool        // the jobs of waiting and pending entries
	changed chan struct{}       // closed and replaced when an entry is added
	seq     uint64              // the last entry id
}

// claimed is a pending entry and when its claimer last spoke (claim or renewal).
type claimed struct {
	d    Delivery
	seen time.Time
}

var _ Queue = (*LocalQueue)(nil)

// NewLocalQueue returns an empty queue whose pending entries may be claimed
// again once their claimer has been silent for lease.
func NewLocalQueue(lease time.Duration) *LocalQueue {
	return &LocalQueue{lease: lease, pending: map[string]*claimed{}, held: map[Job]bool{}, changed: make(chan struct{})}
}

// Enqueue adds job unless an entry of it is already waiting or pending.
func (q *LocalQueue) Enqueue(_ context.Context, job Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.held[job] {
		q.add(job)
	}
	return nil
}

// add appends a new entry of job; q.mu is held.
func (q *LocalQueue) add(job Job) {
	q.seq++
	q.waiting = append(q.waiting, Delivery{Job: job, ID: strconv.FormatUint(q.seq, 10)})
	q.held[job] = true
	close(q.changed)
	q.changed = make(chan struct{})
}

// Claim takes the oldest entry whose claimer has been silent past the lease,
// else the oldest new one, waiting up to a second for either.
func (q *LocalQueue) Claim(ctx context.Context) (Delivery, bool, error) {
	timer := time.NewTimer(localClaimWait)
	defer timer.Stop()
	for {
		d, ok, changed, stale := q.take()
		if ok {
			return d, true, nil
		}
		select {
		case <-changed:
		case <-stale:
		case <-timer.C:
			d, ok, _, _ := q.take()
			return d, ok, nil
		case <-ctx.Done():
			return Delivery{}, false, ctx.Err()
		}
	}
}

// take claims an entry if there is one. Otherwise it returns a channel closed
// when the next entry is added, and one that fires when the first pending
// entry goes silent past the lease (nil without pending entries).
func (q *LocalQueue) take() (d Delivery, ok bool, changed <-chan struct{}, stale <-chan time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	var oldest *claimed
	for _, c := range q.pending {
		if oldest == nil || c.seen.Before(oldest.seen) {
			oldest = c
		}
	}
	if oldest != nil && now.Sub(oldest.seen) > q.lease {
		oldest.seen = now
		return oldest.d, true, nil, nil
	}
	if len(q.waiting) == 0 {
		if oldest != nil {
			stale = time.After(oldest.seen.Add(q.lease).Sub(now) + time.Millisecond)
		}
		return Delivery{}, false, q.changed, stale
	}
	d = q.waiting[0]
	q.waiting = q.waiting[1:]
	q.pending[d.ID] = &claimed{d: d, seen: now}
	return d, true, nil, nil
}

// Renew marks d's entry as claimed just now, so it is not claimed again.
func (q *LocalQueue) Renew(_ context.Context, d Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	c, ok := q.pending[d.ID]
	if !ok {
		return fmt.Errorf("tasks: local queue entry %s of %s is not pending", d.ID, d.TaskID)
	}
	c.seen = time.Now()
	return nil
}

// Done removes d's entry.
func (q *LocalQueue) Done(_ context.Context, d Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.pending[d.ID]; ok {
		delete(q.pending, d.ID)
		delete(q.held, d.Job)
	}
	return nil
}

// Requeue removes d's entry and adds its job again as a new entry, at the end.
func (q *LocalQueue) Requeue(_ context.Context, d Delivery) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.pending, d.ID)
	q.add(d.Job)
	return nil
}

// Waiting returns how many entries wait for a claim.
func (q *LocalQueue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}
