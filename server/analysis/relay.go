package analysis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"stockagent/pybridge"
	"stockagent/server/forecast"
	"stockagent/server/queue"
	"stockagent/server/tasks"
)

// Relay runs analyses on the processes that take work, across replicas, on
// one Redis (docs/decisions/0005-redis-streams-work-queue.md):
//
//   - A submitter maps the analysis's flight key to a run id (SET NX, TTL
//     ANALYZE_TIMEOUT), stores the request under analysis:{run}:request and
//     enqueues the run on the analysis stream (a queue.Stream of its own, so
//     an analysis never waits behind trainings). A second identical request,
//     on any replica, finds the run id and joins it.
//   - Every waiter heartbeats in analysis:{run}:waiters (member: its id,
//     score: when it expires) and reads the reply stream analysis:{run} from
//     its start (XREAD BLOCK from 0), so a late joiner sees the reply too.
//   - A runner (Serve) claims runs, at most workers at once, and runs each on
//     a context that ends at ANALYZE_TIMEOUT or once no live waiter remains
//     (the rule of flight.go, across processes); it renews the entry while it
//     runs, adds the analyst's progress events ({"progress": …}: stages,
//     tokens, fields) to the reply stream as they come, writes one reply
//     ({"answer": …} or {"error": kind, "detail": …}), gives the reply stream
//     a short life and acknowledges the entry. Waiters that stream pass the
//     progress events on; a late joiner reads them from the start too.
//
// A runner that dies leaves its entry pending: another runner reclaims it
// after the lease, and the waiters, who still heartbeat, get its reply.
type Relay struct {
	c       *redis.Client
	q       *queue.Stream
	prefix  string        // before every key; tests take their own
	timeout time.Duration // ANALYZE_TIMEOUT
	log     *slog.Logger
}

// RelayStream is the analysis stream's key (with Relay's prefix).
const RelayStream = "stockagent:analyses"

// Relay timings: a waiter refreshes its heartbeat every beat and counts as
// gone after waiterTTL without one; a runner checks its waiters every beat.
// A reply stream lives replyTTL after its reply, for waiters that join late.
const (
	beat      = time.Second
	waiterTTL = 3 * beat
	replyTTL  = 5 * time.Minute
)

// OpenRelay connects to the Redis at rawURL. prefix starts every key
// ("" in the server); consumer names this process in the stream's group;
// lease is the idle time after which a dead runner's run is reclaimed.
func OpenRelay(ctx context.Context, rawURL, prefix, consumer string, lease, timeout time.Duration, log *slog.Logger) (*Relay, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("analysis: relay: %w", err)
	}
	q, err := queue.Open(ctx, rawURL, prefix+RelayStream, consumer, lease)
	if err != nil {
		return nil, err
	}
	return &Relay{c: redis.NewClient(opts), q: q, prefix: prefix, timeout: timeout, log: log}, nil
}

// Close closes the connections.
func (r *Relay) Close() error { return errors.Join(r.q.Close(), r.c.Close()) }

func (r *Relay) flightKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return r.prefix + "analysis:flight:" + hex.EncodeToString(sum[:16])
}
func (r *Relay) replies(run string) string  { return r.prefix + "analysis:" + run }
func (r *Relay) request(run string) string  { return r.prefix + "analysis:" + run + ":request" }
func (r *Relay) waiters(run string) string  { return r.prefix + "analysis:" + run + ":waiters" }
func (r *Relay) flightOf(run string) string { return r.prefix + "analysis:" + run + ":flight" }

// Do returns the reply of the run for key, submitting body as a new run
// unless one of key is in progress; the run's progress events go to listen
// (nil: none) as they arrive. When ctx ends it returns ctx's error and
// stops heartbeating; the run is cancelled once no other waiter remains.
// Without a reply within ANALYZE_TIMEOUT (every runner gone) it is ErrTimeout.
// fresh says whether this call submitted the run (and so keeps its answer).
func (r *Relay) Do(ctx context.Context, key string, body json.RawMessage, listen Raw) (answer json.RawMessage, fresh bool, err error) {
	run, fresh, err := r.join(ctx, key)
	if err != nil {
		return nil, false, err
	}
	answer, err = r.wait(ctx, run, key, fresh, body, listen)
	return answer, fresh, err
}

func (r *Relay) wait(ctx context.Context, run, key string, fresh bool, body json.RawMessage, listen Raw) (json.RawMessage, error) {
	// The waiter counts before the run is enqueued, so no runner sees it without one.
	waiter := uuid.NewString()
	if err := r.heartbeat(ctx, run, waiter); err != nil {
		return nil, err
	}
	defer r.c.ZRem(context.WithoutCancel(ctx), r.waiters(run), waiter)
	if fresh {
		if err := r.submit(ctx, run, key, body); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(r.timeout + waiterTTL)
	last, next := "0", time.Now().Add(beat)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: no reply within ANALYZE_TIMEOUT (%s): no process that takes work ran the analysis", ErrTimeout, r.timeout)
		}
		if time.Now().After(next) {
			if err := r.heartbeat(ctx, run, waiter); err != nil {
				return nil, err
			}
			next = time.Now().Add(beat)
		}
		streams, err := r.c.XRead(ctx, &redis.XReadArgs{Streams: []string{r.replies(run), last}, Count: 100, Block: beat}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("analysis: relay: read the reply of %s: %w", run, err)
		}
		for _, st := range streams {
			for _, m := range st.Messages {
				last = m.ID
				if p, ok := m.Values["progress"].(string); ok && listen != nil {
					listen([]byte(p))
				}
				if out, ok, err := decodeReply(m.Values); ok {
					return out, err
				}
			}
		}
	}
}

// join returns the run id of key, and whether this call made it (SET NX).
func (r *Relay) join(ctx context.Context, key string) (run string, fresh bool, err error) {
	fk := r.flightKey(key)
	for range 3 {
		run = uuid.NewString()
		ok, err := r.c.SetNX(ctx, fk, run, r.timeout).Result()
		if err != nil {
			return "", false, fmt.Errorf("analysis: relay: %w", err)
		}
		if ok {
			return run, true, nil
		}
		run, err = r.c.Get(ctx, fk).Result()
		if err == nil {
			return run, false, nil
		}
		if !errors.Is(err, redis.Nil) {
			return "", false, fmt.Errorf("analysis: relay: %w", err)
		}
		// The run ended between SET NX and GET: try again.
	}
	return "", false, errors.New("analysis: relay: the run of this analysis keeps ending; retry")
}

func (r *Relay) heartbeat(ctx context.Context, run, waiter string) error {
	exp := float64(time.Now().Add(waiterTTL).UnixMilli())
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, r.waiters(run), redis.Z{Score: exp, Member: waiter})
		p.Expire(ctx, r.waiters(run), r.timeout+replyTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("analysis: relay: heartbeat: %w", err)
	}
	return nil
}

func (r *Relay) submit(ctx context.Context, run, key string, body json.RawMessage) error {
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.request(run), []byte(body), r.timeout+replyTTL)
		p.Set(ctx, r.flightOf(run), r.flightKey(key), r.timeout+replyTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("analysis: relay: store the request: %w", err)
	}
	// The run id is both the entry's task and run: a queue.Stream entry carries those two.
	return r.q.Enqueue(ctx, tasks.Job{TaskID: run, RunID: run})
}

// relayedRequest is what a submitter hands a runner: the request and what Analyze
// gathered for it, so the runner builds the answer with Service.run.
type relayedRequest struct {
	Request    Request         `json:"request"`
	Prediction json.RawMessage `json:"prediction"`
	News       news            `json:"news"`
	Drift      json.RawMessage `json:"drift,omitempty"`
}

// UseRelay makes Analyze hand its runs to r instead of the agent lane of
// this process (with Redis).
func (s *Service) UseRelay(r *Relay) { s.relay = r }

// relayed runs in through the relay. The submitting replica keeps the
// answer (keep): its semantic cache answered the miss, and its data folder
// holds the reports that its monitoring reads.
func (s *Service) relayed(ctx context.Context, key string, in relayedRequest, slot *cacheSlot, listen Raw) (json.RawMessage, *forecast.Training, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, nil, err
	}
	answer, fresh, err := s.relay.Do(ctx, key, body, listen)
	s.obs.Relayed(err == nil)
	if err != nil {
		return nil, nil, err
	}
	if fresh {
		s.keep(context.WithoutCancel(ctx), in.Request, slot, answer)
	}
	return answer, nil, nil
}

// RunRelayed runs one analysis that a replica submitted (Relay.Serve's
// RunFunc): the agent on this process's agent lane.
func (s *Service) RunRelayed(ctx context.Context, body json.RawMessage, emit Raw) (json.RawMessage, error) {
	var in relayedRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("analysis: relayed request: %w", err)
	}
	pred, err := parsePrediction(in.Prediction)
	if err != nil {
		return nil, err
	}
	return s.run(ctx, in.Request, in.Prediction, pred, in.News, in.Drift, emit)
}

// Reply error kinds: the errors the HTTP layer maps to a status travel by name.
const (
	kindTimeout  = "timeout"
	kindLaneFull = "lane_full"
	kindThread   = "thread_not_found"
	kindFailed   = "failed"
)

func encodeReply(answer json.RawMessage, err error) []any {
	if err == nil {
		return []any{"answer", string(answer)}
	}
	kind := kindFailed
	switch {
	case errors.Is(err, ErrTimeout):
		kind = kindTimeout
	case errors.Is(err, pybridge.ErrLaneFull):
		kind = kindLaneFull
	case errors.Is(err, ErrThreadNotFound):
		kind = kindThread
	}
	return []any{"error", kind, "detail", err.Error()}
}

// errRemote is an analysis that failed on the process that ran it, for a
// reason the HTTP layer has no status of its own for (a 500).
var errRemote = errors.New("analysis: the run failed")

// decodeReply reads a reply entry; ok is false for an entry that is none.
func decodeReply(v map[string]any) (answer json.RawMessage, ok bool, err error) {
	if a, ok := v["answer"].(string); ok {
		return json.RawMessage(a), true, nil
	}
	kind, ok := v["error"].(string)
	if !ok {
		return nil, false, nil
	}
	detail, _ := v["detail"].(string)
	switch kind {
	case kindTimeout:
		return nil, true, fmt.Errorf("%w: %s", ErrTimeout, detail)
	case kindLaneFull:
		return nil, true, fmt.Errorf("%w: %s", pybridge.ErrLaneFull, detail)
	case kindThread:
		return nil, true, ErrThreadNotFound
	}
	return nil, true, fmt.Errorf("%w: %s", errRemote, detail)
}

// RunFunc runs one analysis from the body a submitter gave Do, sending its
// progress events to emit; its context ends at ANALYZE_TIMEOUT or once
// nobody waits.
type RunFunc func(ctx context.Context, body json.RawMessage, emit Raw) (json.RawMessage, error)

// Serve claims runs and runs them with fn, at most workers at once, until ctx
// ends; it then waits for the runs in progress. A run that fails after ctx
// ended (the process is draining and its lanes stop) goes back to the stream
// for another process instead of answering an error.
func (r *Relay) Serve(ctx context.Context, workers int, fn RunFunc) {
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				d, ok, err := r.q.Claim(ctx)
				if err != nil {
					if ctx.Err() == nil {
						r.log.Warn("analysis relay: claim failed", "error", err)
						sleep(ctx, beat)
					}
					continue
				}
				if ok {
					r.runOne(ctx, d, fn)
				}
			}
		}()
	}
	wg.Wait()
}

// ErrNoWaiter is the cause of a run's context that ended because every
// waiter had gone.
var ErrNoWaiter = errors.New("analysis: every client waiting for the run has gone")

func (r *Relay) runOne(serving context.Context, d tasks.Delivery, fn RunFunc) {
	run := d.RunID
	ctx := context.WithoutCancel(serving)
	runCtx, cancel := context.WithTimeoutCause(ctx, r.timeout, ErrTimeout)
	defer cancel()
	watchCtx, stop := context.WithCancelCause(runCtx)
	defer stop(nil)
	go r.watch(watchCtx, stop, d)

	r.log.Info("analysis claimed", "run", run)
	var answer json.RawMessage
	body, err := r.c.Get(ctx, r.request(run)).Bytes()
	if errors.Is(err, redis.Nil) {
		err = errors.New("analysis: the run's request has expired")
	}
	if err == nil {
		answer, err = fn(watchCtx, body, r.progress(ctx, run))
	}
	if cause := context.Cause(watchCtx); errors.Is(cause, ErrNoWaiter) {
		r.log.Info("analysis cancelled: no client waits for it", "run", run)
	}
	if err != nil && serving.Err() != nil && watchCtx.Err() == nil {
		if rerr := r.q.Requeue(ctx, d); rerr != nil {
			r.log.Warn("analysis not handed back; it is reclaimed after the lease", "run", run, "error", rerr)
		} else {
			r.log.Info("analysis handed back to the stream while draining", "run", run)
		}
		return
	}
	if err != nil && errors.Is(context.Cause(watchCtx), ErrTimeout) && !errors.Is(err, ErrTimeout) {
		err = fmt.Errorf("%w: the analysis did not finish within ANALYZE_TIMEOUT (%s)", ErrTimeout, r.timeout)
	}
	// The reply and the end of the run's claim on its flight key are one
	// MULTI: a request that comes after the reply starts a new run.
	fk, ferr := r.c.Get(ctx, r.flightOf(run)).Result()
	if ferr != nil && !errors.Is(ferr, redis.Nil) {
		r.log.Warn("analysis flight key unreadable; it expires", "run", run, "error", ferr)
	}
	_, perr := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: r.replies(run), Values: encodeReply(answer, err)})
		p.Expire(ctx, r.replies(run), replyTTL)
		p.Del(ctx, r.request(run), r.flightOf(run))
		if fk != "" {
			forgetScript.Eval(ctx, p, []string{fk}, run)
		}
		return nil
	})
	if perr != nil {
		// The entry stays pending: it is reclaimed and run again after the lease.
		r.log.Warn("analysis reply not written", "run", run, "error", perr)
		return
	}
	if err := r.q.Done(ctx, d); err != nil {
		r.log.Warn("analysis entry not acknowledged", "run", run, "error", err)
	}
}

// progressWait bounds the hand-over of one progress event to Redis: the
// analyst's worker waits for it, and a late event is worth less than the run.
const progressWait = 2 * time.Second

// progress returns the func that adds a run's progress events to its reply
// stream, for the waiters that stream them. An event that cannot be added
// is dropped (and logged once): the reply still comes.
func (r *Relay) progress(ctx context.Context, run string) Raw {
	var warned bool
	return func(data []byte) {
		ctx, cancel := context.WithTimeout(ctx, progressWait)
		defer cancel()
		_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, &redis.XAddArgs{Stream: r.replies(run), Values: []any{"progress", string(data)}})
			p.Expire(ctx, r.replies(run), r.timeout+replyTTL)
			return nil
		})
		if err != nil && !warned {
			warned = true
			r.log.Warn("analysis progress not relayed; the reply still is", "run", run, "error", err)
		}
	}
}

// forgetScript deletes the flight key KEYS[1] only while it names ARGV[1]'s
// run: the next identical request starts afresh instead of joining a
// finished run.
var forgetScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// watch renews the run's entry and cancels the run once no live waiter
// remains, every beat, until ctx ends.
func (r *Relay) watch(ctx context.Context, cancel context.CancelCauseFunc, d tasks.Delivery) {
	t := time.NewTicker(beat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.q.Renew(ctx, d); err != nil && ctx.Err() == nil {
			r.log.Warn("analysis entry not renewed", "run", d.RunID, "error", err)
		}
		key := r.waiters(d.RunID)
		now := strconv.FormatInt(time.Now().UnixMilli(), 10)
		n, err := r.c.ZCount(ctx, key, "("+now, "+inf").Result()
		if err == nil && n == 0 {
			cancel(ErrNoWaiter)
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
