// Package tasks runs background work (model training) with bounded
// concurrency, at most one task per id across every server process sharing
// the store, optional ordering (a child's training waits for its parent's), a
// timeout, cancellation, and status records that clients poll.
//
// Every submission is a run with its own run id. Records and locks live in
// the shared store (store.Store): any process can answer a status query. The
// process running a task holds its lock as a lease and renews it; each
// acquisition of the lease takes a fencing token from a counter in the store,
// and every write the run makes (its record, the serving pointer of the model
// it trains: Commit) lands only while that token is current. A process paused
// past its lease therefore cannot overwrite the work of the process that took
// the task over, and it cancels its own run as soon as it sees the lease gone.
//
// A run is not started where it is submitted: it is written queued and handed
// to a Queue (queue.go), and the processes that take work claim it, no more
// than they can start. The Queue is the Redis Stream that processes share
// (package queue), or without one this process's LocalQueue (local.go), whose
// entries Start rebuilds from the durable records at the next start.
//
// A run whose process died (or was paused past its lease) is claimed again
// from the queue and resumes as its next attempt, once; the second
// interruption fails it ("interrupted: …"). Shutdown hands running runs back
// to the queue. Cancellation is cooperative: the run's context is cancelled
// and the work stops at its next safe point; a cancel sent to another process
// names the run and reaches it through the store within a second, and expires
// with the run's lease. A queued run that no process holds yet is failed at
// once.
package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"stockagent/server/store"
)

// Status is where a task is in its life.
type Status string

// The statuses, in the order a task moves through them; it ends Completed or Failed.
const (
	Queued    Status = "queued"
	Running   Status = "running"
	Completed Status = "completed"
	Failed    Status = "failed"
)

// Record is a task's status as clients see it (docs/api.md, "Training").
// It holds what is needed to run the task again (kind, after, params).
type Record struct {
	TaskID         string          `json:"task_id"`
	Kind           string          `json:"kind"`
	Status         Status          `json:"status"`
	RunID          string          `json:"run_id"`
	Attempt        int             `json:"attempt"`
	Detail         string          `json:"detail,omitempty"`
	Progress       json.RawMessage `json:"progress,omitempty"`
	Result         json.RawMessage `json:"result,omitempty"`
	Error          string          `json:"error,omitempty"`
	Owner          string          `json:"owner,omitempty"`  // the caller who started it
	Worker         string          `json:"worker,omitempty"` // the process that runs it (host/pid/instance)
	After          string          `json:"after,omitempty"`  // the task it waits for
	Params         json.RawMessage `json:"params,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	StartedAt      *time.Time      `json:"started_at,omitempty"`
	CompletedAt    *time.Time      `json:"completed_at,omitempty"`
	FailedAt       *time.Time      `json:"failed_at,omitempty"`
	ElapsedSeconds *int64          `json:"elapsed_seconds,omitempty"` // whole seconds, rounded down, as the old service's clients read it
}

// Active reports whether the task is queued or running.
func (r Record) Active() bool { return r.Status == Queued || r.Status == Running }

// Elapsed is the time from start to end, or to now while it runs; zero
// before it starts.
func (r Record) Elapsed(now time.Time) time.Duration {
	if r.StartedAt == nil {
		return 0
	}
	end := now
	if r.CompletedAt != nil {
		end = *r.CompletedAt
	} else if r.FailedAt != nil {
		end = *r.FailedAt
	}
	return end.Sub(*r.StartedAt)
}

// withElapsed fills ElapsedSeconds once the task has started.
func (r Record) withElapsed(now time.Time) Record {
	if r.StartedAt != nil {
		s := int64(r.Elapsed(now) / time.Second)
		r.ElapsedSeconds = &s
	}
	return r
}

// Func is the work of a task. It reports progress through progress (each
// report replaces the previous one in the record) and stops when ctx ends.
// RunOf(ctx) says which run it is.
type Func func(ctx context.Context, progress func(json.RawMessage)) (json.RawMessage, error)

// Handler builds the work of a task of one kind from the task's params, for
// its first run and for a re-queued one alike.
type Handler func(params json.RawMessage) Func

// Spec is what Submit starts.
type Spec struct {
	ID     string          // the task id: one active run per id
	Kind   string          // names the Handler (Manager.Handle)
	After  string          // a task to wait for ("": none); its failure fails this one
	Owner  string          // the caller who asked for it
	Params json.RawMessage // the Handler's input, kept in the record
}

// Run identifies one run of a task, for the work it does (RunOf).
type Run struct {
	TaskID  string
	RunID   string // the same for every attempt of a run
	Attempt int    // 1, or 2 once re-queued after an interruption
	Token   int64  // the fencing token this attempt's lease started with
}

type runKey struct{}

// RunOf returns the run a task's context belongs to (zero outside a task).
func RunOf(ctx context.Context) Run {
	r, _ := ctx.Value(runKey{}).(Run)
	return r
}

// Hooks observe task life cycles (metrics). Nil fields are skipped; they must not block.
type Hooks struct {
	Started  func(r Record)
	Finished func(r Record)
}

// Config sizes a Manager. Zero values take the defaults.
type Config struct {
	// MaxRunning bounds the tasks this process runs at once, and so the
	// entries it claims: one only while a run could start. A run waiting for
	// its parent (After) counts only once it can start. Zero: DefaultMaxRunning.
	MaxRunning int
	// Timeout bounds one task's run. Zero: DefaultTimeout.
	Timeout time.Duration
	// Lease is how long a task's lock outlives its last renewal: the time a
	// dead process's task takes to be seen as interrupted. Zero: DefaultLease.
	Lease time.Duration
	// Retention is how long finished records are kept. Zero: DefaultRetention.
	Retention time.Duration
	Logger    *slog.Logger // nil: slog.Default()
	Hooks     Hooks
	// Queue hands runs to the processes that take work (queue.go). Nil: a
	// LocalQueue of this process.
	Queue Queue
	// NoWork: this process submits runs to a shared Queue and never runs one
	// (ROLE=api).
	NoWork bool
}

// Defaults of Config's zero fields.
const (
	DefaultMaxRunning = 4
	DefaultTimeout    = 2 * time.Hour // a full parent training on a small CPU fits well inside
	DefaultLease      = 30 * time.Second
	DefaultRetention  = 7 * 24 * time.Hour
	// MaxAttempts is how many times a run starts: once, and once more after an interruption.
	MaxAttempts = 2
)

// Store key prefixes.
const (
	recordPrefix = "task:"
	lockPrefix   = "task_lock:"
	cancelPrefix = "task_cancel:" // + task id + ":" + run id
	fencePrefix  = "fence:"       // + task id: the fencing counter
)

var (
	// ErrNotFound is returned for an unknown task id.
	ErrNotFound = errors.New("tasks: no such task")
	// ErrFenced is the error of a run that lost its lease to another process:
	// its writes are refused. Its message starts the record's error.
	ErrFenced = errors.New("fenced")
)

// Manager runs tasks. Its methods are safe for concurrent use.
type Manager struct {
	cfg  Config
	st   store.Store
	proc string // this process: host, pid and a random suffix
	// slot holds one token per run that can start or runs: the claim loop
	// takes one before each claim and hands it to the run it claimed.
	slot chan struct{}
	stop chan struct{} // closed by Shutdown: ends the claim loop
	// worked is closed when the loop that claims from the Queue has ended
	// (at once when this process takes no work, NoWork, or never started).
	worked chan struct{}
	begin  sync.Once // Start's claim loop, or Shutdown's close of worked

	mu       sync.Mutex // guards local, handlers and closed
	local    map[string]*task
	handlers map[string]Handler
	closed   bool
	wg       sync.WaitGroup
}

// task is a run this process holds.
type task struct {
	id       string     // rec.TaskID, for readers that do not hold mu
	mu       sync.Mutex // guards rec and lost
	rec      Record
	lost     bool   // the lease went to another process
	holder   string // the lock's value: this process and this attempt
	token    int64
	cancel   context.CancelFunc
	delivery Delivery // the queue entry the run was claimed as
	handback bool     // set by Shutdown: a cancelled run goes back to the queue
}

// New returns a Manager keeping its records in st. It takes work from its
// Queue once started (Start).
func New(st store.Store, cfg Config) *Manager {
	if cfg.MaxRunning <= 0 {
		cfg.MaxRunning = DefaultMaxRunning
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Queue == nil {
		cfg.Queue = NewLocalQueue(cfg.Lease)
	}
	host, _ := os.Hostname()
	m := &Manager{cfg: cfg, st: st, proc: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomHex(4)),
		slot: make(chan struct{}, cfg.MaxRunning), stop: make(chan struct{}),
		worked: make(chan struct{}), local: map[string]*task{}, handlers: map[string]Handler{}}
	return m
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Handle registers how tasks of kind are run. Register every kind before
// Start: a claimed run of an unknown kind fails.
func (m *Manager) Handle(kind string, h Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handlers[kind] = h
}

func (m *Manager) handler(kind string) Handler {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.handlers[kind]
}

// Submit queues a new run of spec.ID, to start after the task spec.After (if
// that one is active). When a run of this id is active in any process, nothing
// is queued: Submit returns its record and false. A draining process still
// accepts: the record is durable, and another process (or, with a LocalQueue,
// the next start) runs it.
func (m *Manager) Submit(ctx context.Context, spec Spec) (Record, bool, error) {
	if m.handler(spec.Kind) == nil {
		return Record{}, false, fmt.Errorf("tasks: no handler for kind %q", spec.Kind)
	}
	rec := Record{TaskID: spec.ID, Kind: spec.Kind, Status: Queued, RunID: randomHex(8), Attempt: 1,
		Owner: spec.Owner, After: spec.After, Params: spec.Params, CreatedAt: time.Now().UTC()}
	if spec.After != "" {
		rec.Detail = fmt.Sprintf("waiting for %s to complete", spec.After)
	}
	return m.enqueue(ctx, rec)
}

// acquire takes the lock of rec's task and a fencing token for this attempt.
func (m *Manager) acquire(ctx context.Context, rec Record) (*task, bool, error) {
	id := rec.TaskID
	holder := fmt.Sprintf("%s/%s/%d", m.proc, rec.RunID, rec.Attempt)
	got, err := m.st.SetNX(ctx, lockPrefix+id, []byte(holder), m.cfg.Lease)
	if err != nil || !got {
		if err != nil {
			err = fmt.Errorf("tasks: lock %s: %w", id, err)
		}
		return nil, false, err
	}
	token, err := m.st.Incr(ctx, fencePrefix+id, 1, 0)
	if err != nil {
		m.unlock(id, holder)
		return nil, false, fmt.Errorf("tasks: fencing token of %s: %w", id, err)
	}
	rec.Worker = m.proc
	return &task{id: id, rec: rec, holder: holder, token: token}, true, nil
}

func (m *Manager) release(t *task) {
	m.unlock(t.id, t.holder)
}

// unlock deletes id's lock if holder still holds it. A lock the store failed to delete lapses
// when its lease ends, so the failure is logged, not returned.
func (m *Manager) unlock(id, holder string) {
	if _, err := m.st.CompareAndDelete(context.Background(), lockPrefix+id, []byte(holder)); err != nil {
		m.cfg.Logger.Warn("task lock not released; it lapses with its lease", "task_id", id, "error", err)
	}
}

// start runs t in the background as one of this process's tasks.
func (m *Manager) start(t *task, fn Func) {
	run := Run{TaskID: t.id, RunID: t.rec.RunID, Attempt: t.rec.Attempt, Token: t.token}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), runKey{}, run))
	t.cancel = cancel
	m.mu.Lock()
	m.local[run.TaskID] = t
	if m.closed { // taken from the queue as Shutdown began: it goes back at once
		t.handback = true
		cancel()
	}
	m.mu.Unlock()
	m.wg.Add(1)
	go m.run(ctx, t, fn)
}

// run does t's work. It is called holding a slot, which it gives back when
// it ends.
func (m *Manager) run(ctx context.Context, t *task, fn Func) {
	defer m.wg.Done()
	defer t.cancel()
	stopLease := m.holdLease(t)
	defer stopLease()

	if after := t.rec.After; after != "" {
		// Waiting, it cannot start: its slot goes to the claim loop meanwhile
		// (the parent may still be in the queue behind it).
		<-m.slot
		if err := m.waitFor(ctx, after); err != nil {
			m.finish(t, nil, err)
			return
		}
		select {
		case m.slot <- struct{}{}:
		case <-ctx.Done():
			m.finish(t, nil, errors.New("cancelled while queued"))
			return
		}
	}
	defer func() { <-m.slot }()

	now := time.Now().UTC()
	rec := t.update(func(r *Record) { r.Status, r.StartedAt, r.Detail = Running, &now, "" })
	m.writeLogged(t)
	m.cfg.Logger.Info("task started", "task_id", rec.TaskID, "kind", rec.Kind, "run_id", rec.RunID, "attempt", rec.Attempt)
	if h := m.cfg.Hooks.Started; h != nil {
		h(rec)
	}

	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	progress := func(p json.RawMessage) {
		p = append(json.RawMessage(nil), p...) // the caller's buffer is reused
		t.update(func(r *Record) { r.Progress = p })
		m.writeLogged(t)
	}
	res, err := fn(ctx, progress)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", m.cfg.Timeout, err)
	}
	m.finish(t, res, err)
}

// waitFor waits until task id is no longer active; an error if it did not complete.
func (m *Manager) waitFor(ctx context.Context, id string) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		rec, err := m.Get(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil // finished and gone long ago, or never ran: nothing to wait for
		case err == nil && rec.Status == Completed:
			return nil
		case err == nil && rec.Status == Failed:
			return fmt.Errorf("%s did not complete: %s", id, rec.Error)
		}
		select {
		case <-ctx.Done():
			return errors.New("cancelled while waiting for " + id)
		case <-tick.C:
		}
	}
}

// holdLease renews the task's lock until the returned stop is called, cancels
// the run when a cancel naming it appears in the store, and cancels it at once
// when the lease is found lost (fenced: its writes would be refused anyway).
//
// A run that cannot renew its lease for five sixths of it (the
// store is out of reach from here, perhaps not from the others) is stopped
// and handed back before the lease can pass to another process: the two must
// never train one run at once, since both would write its checkpoint and a
// version of the model to the shared folder, where no token guards a write.
// A healthy run renews within half its lease; the last sixth is the margin
// for the run to reach its next safe point. A store that comes back finds
// the run queued again, or finds it taken over and refuses the stopped run's
// record.
func (m *Manager) holdLease(t *task) (stop func()) {
	id, runID := t.id, t.rec.RunID
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(min(time.Second, m.cfg.Lease/6))
		defer tick.Stop()
		renewed := time.Now()
		keep := m.cfg.Lease * 5 / 6
		lapse := time.AfterFunc(keep, func() {
			m.cfg.Logger.Warn("task lease not renewed in time: the run stops and goes back to the queue",
				"task_id", id, "run_id", runID, "lease", m.cfg.Lease.String())
			t.mu.Lock()
			t.handback = true
			t.mu.Unlock()
			t.cancel()
		})
		defer lapse.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			bg := context.Background()
			if _, err := m.st.Get(bg, cancelKey(id, runID)); err == nil {
				m.cfg.Logger.Info("task cancel received", "task_id", id, "run_id", runID)
				t.cancel()
			}
			if time.Since(renewed) < m.cfg.Lease/3 {
				continue
			}
			sent := time.Now() // the renewed lease runs from here at the earliest
			switch ok, err := m.renew(bg, t); {
			case err != nil:
				m.cfg.Logger.Warn("task lease not renewed", "task_id", id, "error", err)
			case ok:
				renewed = sent
				if lapse.Stop() { // not yet fired: the run goes on
					lapse.Reset(time.Until(sent.Add(keep)))
				}
				m.queueLogged("renew", t.delivery, m.cfg.Queue.Renew)
			default:
				t.mu.Lock()
				t.lost = true
				token := t.token
				t.mu.Unlock()
				m.cfg.Logger.Warn("task run fenced: its lease passed to another process; stopping it",
					"task_id", id, "run_id", runID, "token", token)
				t.cancel()
				return
			}
		}
	}()
	return func() { close(done) }
}

// renew extends t's lease. A lease that lapsed while nobody took the task
// over (the fencing counter still holds t's token) is taken again; one that
// another process holds, or held since, is lost: false.
func (m *Manager) renew(ctx context.Context, t *task) (bool, error) {
	id := t.id
	if ok, err := m.st.CompareAndExpire(ctx, lockPrefix+id, []byte(t.holder), m.cfg.Lease); err != nil || ok {
		return ok, err
	}
	current, err := m.current(ctx, t)
	if err != nil || !current {
		return false, err
	}
	if ok, err := m.holds(ctx, t); err != nil || !ok {
		return ok, err
	}
	// Taken again; a process that took the task over between the two reads
	// would have moved the counter.
	if current, err = m.current(ctx, t); err != nil || !current {
		m.release(t)
		return false, err
	}
	return true, nil
}

// holds takes t's lock when it is free and reports whether t holds it now
// (current may have taken it again a moment before).
func (m *Manager) holds(ctx context.Context, t *task) (bool, error) {
	key := lockPrefix + t.id
	if ok, err := m.st.SetNX(ctx, key, []byte(t.holder), m.cfg.Lease); err != nil || ok {
		return ok, err
	}
	v, err := m.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && string(v) == t.holder, err
}

// current reports whether t's token is still the task's. A counter the store
// lost (a Redis restarted empty: nobody can have taken the task over, its
// record is gone too) is set up again with a fresh token for t.
func (m *Manager) current(ctx context.Context, t *task) (bool, error) {
	id := t.id
	t.mu.Lock()
	defer t.mu.Unlock()
	fence, err := m.st.Get(ctx, fencePrefix+id)
	if errors.Is(err, store.ErrNotFound) {
		if ok, err := m.holds(ctx, t); err != nil || !ok {
			return false, err
		}
		token, err := m.st.Incr(ctx, fencePrefix+id, 1, 0)
		if err != nil {
			return false, err
		}
		m.cfg.Logger.Warn("task fencing counter lost by the store; set up again", "task_id", id, "token", token)
		t.token = token
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return string(fence) == strconv.FormatInt(t.token, 10), nil
}

// commit sets key to val while t's token is current: ErrFenced otherwise.
func (m *Manager) commit(ctx context.Context, t *task, key string, val []byte) error {
	for try := 0; ; try++ {
		t.mu.Lock()
		token := t.token
		t.mu.Unlock()
		ok, err := m.st.CommitFenced(ctx, fencePrefix+t.id, token, key, val)
		if err != nil || ok {
			return err
		}
		// Refused: superseded, or the store lost the counter (then current
		// sets it up again, once).
		if current, err := m.current(ctx, t); err != nil {
			return err
		} else if !current || try > 0 {
			return fmt.Errorf("%w: another process took task %s over; token %d of run %s is stale", ErrFenced, t.id, token, t.rec.RunID)
		}
	}
}

func cancelKey(id, runID string) string { return cancelPrefix + id + ":" + runID }

func (m *Manager) finish(t *task, res json.RawMessage, err error) {
	now := time.Now().UTC()
	// The final record goes to the store first and into t (which Get reads
	// for a local task) last, so that whoever sees the task finished can
	// start it again: its lock is gone by then.
	t.mu.Lock()
	rec, lost, token, handback := t.rec, t.lost, t.token, t.handback
	t.mu.Unlock()
	if lost && !errors.Is(err, ErrFenced) {
		err = fmt.Errorf("%w: the lease passed to another process, which runs this task now", ErrFenced)
	}
	handback = handback && err != nil && !errors.Is(err, ErrFenced)
	rec.Detail = ""
	switch {
	case handback:
		// The next attempt resumes from this one's last epoch checkpoint.
		rec.Status, rec.StartedAt, rec.Attempt = Queued, nil, min(rec.Attempt+1, MaxAttempts)
		rec.Detail = fmt.Sprintf("handed back by %s, which shut down or could not renew its lease; the next process to take it resumes it from its last checkpoint", m.proc)
		m.cfg.Logger.Info("task handed back to the queue", "task_id", rec.TaskID, "run_id", rec.RunID, "attempt", rec.Attempt)
	case errors.Is(err, ErrFenced):
		rec.Status, rec.Error, rec.FailedAt = Failed, err.Error(), &now
		m.cfg.Logger.Warn("task run fenced", "task_id", rec.TaskID, "run_id", rec.RunID,
			"attempt", rec.Attempt, "token", token, "error", err)
	case err != nil:
		rec.Status, rec.Error, rec.FailedAt = Failed, err.Error(), &now
		m.cfg.Logger.Warn("task failed", "task_id", rec.TaskID, "error", err)
	default:
		rec.Status, rec.Result, rec.CompletedAt = Completed, res, &now
		m.cfg.Logger.Info("task completed", "task_id", rec.TaskID)
	}
	// The final record must reach the store before the lock goes, so a reader
	// that finds no lock never mistakes a finished task for an interrupted
	// one. If the store is down, keep trying while the process lives; a
	// fenced write (another process runs the task now) is dropped.
	var saved bool
	for attempt := 0; ; attempt++ {
		err := m.save(context.Background(), t, rec)
		if saved = err == nil; saved {
			break
		}
		if errors.Is(err, ErrFenced) {
			m.cfg.Logger.Warn("task record not saved: another process runs this task now", "task_id", rec.TaskID, "run_id", rec.RunID)
			break
		}
		if attempt%30 == 0 {
			m.cfg.Logger.Warn("task record not saved; retrying", "task_id", rec.TaskID, "error", err)
		}
		time.Sleep(time.Second)
	}
	// The queue entry goes only once the record holds the result; a fenced run
	// leaves it to the process that took the run over.
	if saved {
		if handback {
			m.queueLogged("requeue", t.delivery, m.cfg.Queue.Requeue)
		} else {
			m.queueLogged("done", t.delivery, m.cfg.Queue.Done)
			m.unmark(rec.TaskID, rec.RunID)
		}
	}
	m.release(t)
	t.update(func(r *Record) { *r = rec })
	m.mu.Lock()
	if m.local[rec.TaskID] == t {
		delete(m.local, rec.TaskID)
	}
	m.mu.Unlock()
	if h := m.cfg.Hooks.Finished; h != nil && !handback {
		h(rec.withElapsed(now))
	}
}

// update changes the task's record under its lock and returns a copy.
func (t *task) update(f func(*Record)) Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.rec)
	return t.rec
}

// write saves t's record while t's token is current (ErrFenced otherwise).
// The record keeps Retention from its last write.
func (m *Manager) write(ctx context.Context, t *task) error {
	t.mu.Lock()
	rec := t.rec
	t.mu.Unlock()
	return m.save(ctx, t, rec)
}

// save saves rec as t's record while t's token is current.
func (m *Manager) save(ctx context.Context, t *task, rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := m.commit(ctx, t, recordPrefix+rec.TaskID, b); err != nil {
		if errors.Is(err, ErrFenced) {
			return err
		}
		return fmt.Errorf("tasks: save %s: %w", rec.TaskID, err)
	}
	if _, err := m.st.CompareAndExpire(ctx, recordPrefix+rec.TaskID, b, m.cfg.Retention); err != nil {
		return fmt.Errorf("tasks: save %s: %w", rec.TaskID, err)
	}
	return nil
}

func (m *Manager) writeLogged(t *task) {
	if err := m.write(context.Background(), t); err != nil && !errors.Is(err, ErrFenced) {
		m.cfg.Logger.Warn("task record not saved", "task_id", t.id, "error", err)
	}
}

// Commit sets key to val for the run of ctx (RunOf), only while its fencing
// token is current: ErrFenced when another process has taken the task over.
func (m *Manager) Commit(ctx context.Context, key string, val []byte) error {
	run := RunOf(ctx)
	m.mu.Lock()
	t := m.local[run.TaskID]
	m.mu.Unlock()
	if run.TaskID == "" || t == nil || t.rec.RunID != run.RunID || t.rec.Attempt != run.Attempt {
		return fmt.Errorf("%w: run %s of task %q is not running here", ErrFenced, run.RunID, run.TaskID)
	}
	if err := m.commit(ctx, t, key, val); err != nil {
		if errors.Is(err, ErrFenced) {
			return err
		}
		return fmt.Errorf("tasks: commit %s: %w", key, err)
	}
	return nil
}

// Get returns the record of task id.
func (m *Manager) Get(ctx context.Context, id string) (Record, error) {
	m.mu.Lock()
	t, ok := m.local[id]
	m.mu.Unlock()
	if ok { // ours: the freshest copy is in memory
		t.mu.Lock()
		rec := t.rec
		t.mu.Unlock()
		return rec.withElapsed(time.Now()), nil
	}
	rec, err := m.read(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// Submitted or locked a moment before its first record is written (a
		// durable store's write takes milliseconds): it exists, queued, for
		// whoever asks meanwhile.
		for _, key := range []string{activePrefix + id, lockPrefix + id} {
			if _, lerr := m.st.Get(ctx, key); lerr == nil {
				return Record{TaskID: id, Status: Queued}, nil
			}
		}
	}
	return rec.withElapsed(time.Now()), err
}

func (m *Manager) read(ctx context.Context, id string) (Record, error) {
	b, err := m.st.Get(ctx, recordPrefix+id)
	if errors.Is(err, store.ErrNotFound) {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return Record{}, fmt.Errorf("tasks: read %s: %w", id, err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Record{}, fmt.Errorf("tasks: record of %s: %w", id, err)
	}
	return rec, nil
}

// List returns every record, newest first (SCAN of the store, never KEYS).
func (m *Manager) List(ctx context.Context) ([]Record, error) {
	var ids []string
	err := m.st.Scan(ctx, recordPrefix, func(key string) error {
		ids = append(ids, strings.TrimPrefix(key, recordPrefix))
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]Record, 0, len(ids))
	for _, id := range ids {
		if seen[id] { // SCAN may report a key twice
			continue
		}
		seen[id] = true
		rec, err := m.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // expired between the scan and the read
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// Start makes this process take work, once every kind is registered
// (Handle): with a LocalQueue it first puts back the runs a stopped process
// left queued or running (the LocalQueue's entries ended with that process;
// a shared Queue kept its own), each claimed as any entry is: a queued one
// starts, a running one resumes from its last checkpoint as its next attempt
// (or fails after its last). Then, unless NoWork, it claims runs until
// Shutdown. Calls after the first do nothing.
func (m *Manager) Start(ctx context.Context) error {
	var err error
	m.begin.Do(func() {
		if q, ok := m.cfg.Queue.(*LocalQueue); ok {
			var recs []Record
			recs, err = m.List(ctx)
			for _, rec := range slices.Backward(recs) { // oldest first, as they were submitted
				if rec.Active() && rec.RunID != "" {
					_ = q.Enqueue(ctx, Job{TaskID: rec.TaskID, RunID: rec.RunID}) // never fails
				}
			}
		}
		if m.cfg.NoWork {
			close(m.worked)
		} else {
			go m.work()
		}
	})
	return err
}

// Cancel cancels the active run of task id and returns its record. A run of
// this process stops at its next safe point; one of another process hears of
// it through the store within a second. The cancel names the run and expires
// with its lease, so it never reaches a later run of the same task. A queued
// run that no process has taken yet fails at once: its entry may wait longer
// than a lease for a claim.
func (m *Manager) Cancel(ctx context.Context, id string) (Record, error) {
	m.mu.Lock()
	t, ok := m.local[id]
	m.mu.Unlock()
	if ok {
		t.cancel()
		return m.Get(ctx, id)
	}
	rec, err := m.Get(ctx, id)
	if err != nil || !rec.Active() {
		return rec, err
	}
	if rec.Status == Queued && rec.RunID != "" {
		if failed, done, err := m.cancelUnclaimed(ctx, rec); err != nil || done {
			return failed, err
		}
	}
	if err := m.st.Set(ctx, cancelKey(id, rec.RunID), []byte("1"), m.cfg.Lease); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// cancelUnclaimed fails rec's queued run if no process holds its lock; done
// is false when one does (it hears of the cancel through the store). The
// run's queue entry stays until a claim finds the run over.
func (m *Manager) cancelUnclaimed(ctx context.Context, rec Record) (Record, bool, error) {
	t, got, err := m.acquire(ctx, rec)
	if err != nil || !got {
		return Record{}, false, err
	}
	defer m.release(t)
	cur, err := m.read(ctx, rec.TaskID)
	switch {
	case err != nil:
		return Record{}, false, err
	case cur.RunID != rec.RunID || !cur.Active(): // finished meanwhile
		return cur.withElapsed(time.Now()), true, nil
	case cur.Status != Queued: // interrupted: the claim that takes it over hears of the cancel
		return Record{}, false, nil
	}
	now := time.Now().UTC()
	cur.Status, cur.FailedAt, cur.Detail, cur.Error, cur.Worker = Failed, &now, "", "cancelled while queued", m.proc
	if err := m.save(ctx, t, cur); err != nil {
		return Record{}, false, err
	}
	m.unmark(cur.TaskID, cur.RunID)
	m.cfg.Logger.Info("queued task cancelled", "task_id", cur.TaskID, "run_id", cur.RunID)
	return cur, true, nil
}

// Wait blocks until task id has finished or ctx ends.
func (m *Manager) Wait(ctx context.Context, id string) (Record, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rec, err := m.Get(ctx, id)
		if err != nil || !rec.Active() {
			return rec, err
		}
		select {
		case <-ctx.Done():
			return Record{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// Counts returns how many of this process's tasks are queued and running;
// with a LocalQueue, its entries waiting for a claim are this process's too.
func (m *Manager) Counts() (queued, running int) {
	if q, ok := m.cfg.Queue.(*LocalQueue); ok {
		queued = q.Waiting()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.local {
		t.mu.Lock()
		if t.rec.Status == Running {
			running++
		} else {
			queued++
		}
		t.mu.Unlock()
	}
	return queued, running
}

// Clear deletes the records of finished tasks and returns how many it deleted.
func (m *Manager) Clear(ctx context.Context) (int, error) {
	recs, err := m.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		if !r.Active() {
			if err := m.st.Delete(ctx, recordPrefix+r.TaskID); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Shutdown stops the claiming of queued runs, cancels this process's tasks
// and waits for them until ctx ends. A cancelled run goes back to the queue
// (queued, its next attempt resuming from its last checkpoint): to another
// process of a shared Queue, or, with a LocalQueue, to the next start
// (Start).
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	if !m.closed {
		close(m.stop)
	}
	m.closed = true
	for _, t := range m.local {
		t.mu.Lock()
		t.handback = true
		t.mu.Unlock()
		t.cancel()
	}
	m.mu.Unlock()
	done := make(chan struct{})
	m.begin.Do(func() { close(m.worked) }) // never started
	go func() { <-m.worked; m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tasks: shutdown with tasks still running: %w", ctx.Err())
	}
}
