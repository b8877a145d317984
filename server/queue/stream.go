// Package queue holds the work queue that server processes share through
// Redis: a Redis Stream with one consumer group, which tasks.Manager uses as
// its tasks.Queue (docs/decisions/0005-redis-streams-work-queue.md).
//
// XADD enqueues a job; each process that takes work reads new entries with
// XREADGROUP … > and acknowledges an entry (XACK, then XDEL) only once the
// task record holds its result. An entry stays pending on its consumer until
// then; a consumer silent for longer than the lease (its process died) loses
// its entries to XAUTOCLAIM by another. A live consumer re-claims its own
// entries (XCLAIM … JUSTID) with each lease renewal, which resets their idle
// time, so a long training is never reclaimed. Delivery is at least once; the
// task's lease and fencing token keep a duplicate from committing anything.
package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"stockagent/server/redact"
	"stockagent/server/tasks"
)

// StreamKey is the server's stream; Group its consumer group.
const (
	StreamKey = "stockagent:work"
	Group     = "workers"
)

// claimWait is how long one Claim blocks for a new entry: short, so that a
// draining process stops claiming soon after it is told to.
const claimWait = time.Second

// Stream is a tasks.Queue on a Redis Stream. Its methods are safe for
// concurrent use.
type Stream struct {
	c        *redis.Client
	key      string // the stream
	consumer string
	minIdle  time.Duration
}

var _ tasks.Queue = (*Stream)(nil)

// Open connects to the Redis at rawURL (as store.Open reads it) and makes sure
// the consumer group of the stream key (StreamKey; tests take their own)
// exists. consumer names this process in the group (host, pid); lease is the
// idle time after which its entries may be reclaimed.
func Open(ctx context.Context, rawURL, key, consumer string, lease time.Duration) (*Stream, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("queue: parse URL: %w", err)
	}
	s := &Stream{c: redis.NewClient(opts), key: key, consumer: consumer, minIdle: lease}
	// From the stream's first entry: jobs added before the group existed are work too.
	err = s.c.XGroupCreateMkStream(ctx, key, Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		_ = s.c.Close()
		return nil, fmt.Errorf("queue: consumer group on %q at %s: %w", key, redact.URL(rawURL), err)
	}
	return s, nil
}

// Close closes the connection pool.
func (s *Stream) Close() error { return s.c.Close() }

// Enqueue adds job (XADD).
func (s *Stream) Enqueue(ctx context.Context, job tasks.Job) error {
	err := s.c.XAdd(ctx, &redis.XAddArgs{Stream: s.key, Values: fields(job)}).Err()
	if err != nil {
		return fmt.Errorf("queue: add %s: %w", job.TaskID, err)
	}
	return nil
}

func fields(job tasks.Job) []any { return []any{"task_id", job.TaskID, "run_id", job.RunID} }

// Claim takes an entry whose consumer has been idle past the lease
// (XAUTOCLAIM), else waits up to claimWait for a new one (XREADGROUP … >).
func (s *Stream) Claim(ctx context.Context) (tasks.Delivery, bool, error) {
	msgs, _, err := s.c.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: s.key, Group: Group, Consumer: s.consumer, MinIdle: s.minIdle, Start: "0-0", Count: 1,
	}).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		// A Redis that restarted empty lost the group with the stream (and the
		// task records with them): set it up again.
		err = s.c.XGroupCreateMkStream(ctx, s.key, Group, "0").Err()
		if err == nil || strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return tasks.Delivery{}, false, nil
		}
	}
	if err != nil {
		return tasks.Delivery{}, false, fmt.Errorf("queue: reclaim: %w", err)
	}
	if len(msgs) == 0 {
		streams, err := s.c.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: Group, Consumer: s.consumer, Streams: []string{s.key, ">"}, Count: 1, Block: claimWait,
		}).Result()
		if errors.Is(err, redis.Nil) {
			return tasks.Delivery{}, false, nil
		}
		if err != nil {
			return tasks.Delivery{}, false, fmt.Errorf("queue: read: %w", err)
		}
		for _, st := range streams {
			msgs = append(msgs, st.Messages...)
		}
	}
	if len(msgs) == 0 {
		return tasks.Delivery{}, false, nil
	}
	m := msgs[0]
	task, _ := m.Values["task_id"].(string)
	run, _ := m.Values["run_id"].(string)
	return tasks.Delivery{Job: tasks.Job{TaskID: task, RunID: run}, ID: m.ID}, true, nil
}

// Renew resets the idle time of d's entry by claiming it again for this
// consumer (XCLAIM … JUSTID, min idle 0).
func (s *Stream) Renew(ctx context.Context, d tasks.Delivery) error {
	err := s.c.XClaimJustID(ctx, &redis.XClaimArgs{
		Stream: s.key, Group: Group, Consumer: s.consumer, Messages: []string{d.ID},
	}).Err()
	if err != nil {
		return fmt.Errorf("queue: renew %s: %w", d.TaskID, err)
	}
	return nil
}

// Done acknowledges d's entry and deletes it (XACK, XDEL in one MULTI).
func (s *Stream) Done(ctx context.Context, d tasks.Delivery) error {
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, s.key, Group, d.ID)
		p.XDel(ctx, s.key, d.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: done %s: %w", d.TaskID, err)
	}
	return nil
}

// Requeue adds d's job as a new entry and removes the old one, in one MULTI,
// so another consumer reads it at once.
func (s *Stream) Requeue(ctx context.Context, d tasks.Delivery) error {
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: s.key, Values: fields(d.Job)})
		p.XAck(ctx, s.key, Group, d.ID)
		p.XDel(ctx, s.key, d.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("queue: requeue %s: %w", d.TaskID, err)
	}
	return nil
}
