// Package tasks runs background work (model training) with bounded
// concurrency, at most one task per id across every server process sharing
// the store, optional ordering (a child's training waits for its parent's), a
// timeout, cancellation, and status records that clients poll.
//
// Records and locks live in the shared store (store.Store): any process can
// answer a status query. The process running a task holds its lock as a
// lease and renews it; a task whose record says "running" but whose lease
// has lapsed belonged to a process that died, and is marked failed
// ("interrupted") by whoever reads it next. Cancellation is cooperative: the
// task's context is cancelled and the work stops at its next safe point; a
// cancel sent to another process reaches it through the store within a
// second.
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
	"sort"
	"strings"
	"sync"
	"time"

	"stockagent/server/store"
)

// Status is where a task is in its life.
type Status string

const (
	Queued    Status = "queued"
	Running   Status = "running"
	Completed Status = "completed"
	Failed    Status = "failed"
)

// Record is a task's status as clients see it (API.md, GET /status/{task_id}).
type Record struct {
	TaskID         string          `json:"task_id"`
	Kind           string          `json:"kind"`
	Status         Status          `json:"status"`
	Detail         string          `json:"detail,omitempty"`
	Progress       json.RawMessage `json:"progress,omitempty"`
	Result         json.RawMessage `json:"result,omitempty"`
	Error          string          `json:"error,omitempty"`
	Owner          string          `json:"owner,omitempty"` // the process that runs it
	CreatedAt      time.Time       `json:"created_at"`
	StartedAt      *time.Time      `json:"started_at,omitempty"`
	CompletedAt    *time.Time      `json:"completed_at,omitempty"`
	FailedAt       *time.Time      `json:"failed_at,omitempty"`
	ElapsedSeconds *float64        `json:"elapsed_seconds,omitempty"`
}

// Active reports whether the task is queued or running.
func (r Record) Active() bool { return r.Status == Queued || r.Status == Running }

// withElapsed fills ElapsedSeconds: start to end, or to now while it runs.
func (r Record) withElapsed(now time.Time) Record {
	if r.StartedAt == nil {
		return r
	}
	end := now
	if r.CompletedAt != nil {
		end = *r.CompletedAt
	} else if r.FailedAt != nil {
		end = *r.FailedAt
	}
	s := end.Sub(*r.StartedAt).Seconds()
	r.ElapsedSeconds = &s
	return r
}

// Func is the work of a task. It reports progress through progress (each
// report replaces the previous one in the record) and stops when ctx ends.
type Func func(ctx context.Context, progress func(json.RawMessage)) (json.RawMessage, error)

// Hooks observe task life cycles (metrics). Nil fields are skipped; they must not block.
type Hooks struct {
	Started  func(r Record)
	Finished func(r Record)
}

// Config sizes a Manager. Zero values take the defaults.
type Config struct {
	// MaxRunning bounds the tasks this process runs at once. Zero: DefaultMaxRunning.
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
}

const (
	DefaultMaxRunning = 4
	DefaultTimeout    = 2 * time.Hour // a full parent training on a small CPU fits well inside
	DefaultLease      = 30 * time.Second
	DefaultRetention  = 7 * 24 * time.Hour
)

// Store key prefixes.
const (
	recordPrefix = "task:"
	lockPrefix   = "task_lock:"
	cancelPrefix = "task_cancel:"
)

var (
	// ErrNotFound is returned for an unknown task id.
	ErrNotFound = errors.New("tasks: no such task")
	// ErrClosed is returned by Submit after Shutdown.
	ErrClosed = errors.New("tasks: manager shut down")
)

// Manager runs tasks. Its methods are safe for concurrent use.
type Manager struct {
	cfg   Config
	st    store.Store
	owner string        // this process: host, pid and a random suffix
	slot  chan struct{} // one token per running task

	mu     sync.Mutex // guards local and closed
	local  map[string]*task
	closed bool
	wg     sync.WaitGroup
}

// task is a task this process runs.
type task struct {
	mu     sync.Mutex // guards rec
	rec    Record
	cancel context.CancelFunc
	done   chan struct{} // closed when the task has finished
}

// New returns a Manager keeping its records in st.
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
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	return &Manager{cfg: cfg, st: st, owner: owner, slot: make(chan struct{}, cfg.MaxRunning), local: map[string]*task{}}
}

// Submit starts fn as task id, after the task named by after (if that one is
// active; its failure fails this one too). When a task with this id is
// active in any process, nothing starts: Submit returns its record and false.
func (m *Manager) Submit(ctx context.Context, id, kind, after string, fn Func) (Record, bool, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return Record{}, false, ErrClosed
	}
	got, err := m.st.SetNX(ctx, lockPrefix+id, []byte(m.owner), m.cfg.Lease)
	if err != nil {
		return Record{}, false, fmt.Errorf("tasks: lock %s: %w", id, err)
	}
	if !got {
		rec, err := m.Get(ctx, id)
		if errors.Is(err, ErrNotFound) { // locked a moment before its record was written
			rec = Record{TaskID: id, Kind: kind, Status: Queued}
			err = nil
		}
		return rec, false, err
	}
	rec := Record{TaskID: id, Kind: kind, Status: Queued, Owner: m.owner, CreatedAt: time.Now().UTC()}
	if after != "" {
		rec.Detail = fmt.Sprintf("waiting for %s to complete", after)
	}
	if err := m.write(ctx, rec); err != nil {
		m.st.CompareAndDelete(ctx, lockPrefix+id, []byte(m.owner))
		return Record{}, false, err
	}
	tctx, cancel := context.WithCancel(context.Background())
	t := &task{rec: rec, cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	m.local[id] = t
	m.mu.Unlock()
	m.wg.Add(1)
	go m.run(tctx, t, after, fn)
	return rec, true, nil
}

func (m *Manager) run(ctx context.Context, t *task, after string, fn Func) {
	defer m.wg.Done()
	defer close(t.done)
	defer t.cancel()
	stopLease := m.holdLease(ctx, t)
	defer stopLease()

	if after != "" {
		if err := m.waitFor(ctx, after); err != nil {
			m.finish(t, nil, err)
			return
		}
	}
	select {
	case m.slot <- struct{}{}:
		defer func() { <-m.slot }()
	case <-ctx.Done():
		m.finish(t, nil, errors.New("cancelled while queued"))
		return
	}

	now := time.Now().UTC()
	rec := t.update(func(r *Record) { r.Status, r.StartedAt, r.Detail = Running, &now, "" })
	m.writeLogged(rec)
	m.cfg.Logger.Info("task started", "task_id", rec.TaskID, "kind", rec.Kind)
	if h := m.cfg.Hooks.Started; h != nil {
		h(rec)
	}

	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	progress := func(p json.RawMessage) {
		p = append(json.RawMessage(nil), p...) // the caller's buffer is reused
		m.writeLogged(t.update(func(r *Record) { r.Progress = p }))
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

// holdLease renews the task's lock until the returned stop is called, and
// cancels the task when a cancel request for it appears in the store.
func (m *Manager) holdLease(ctx context.Context, t *task) (stop func()) {
	id := t.rec.TaskID
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(min(time.Second, m.cfg.Lease/3))
		defer tick.Stop()
		renewed := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			bg := context.Background()
			if _, err := m.st.Get(bg, cancelPrefix+id); err == nil {
				m.st.Delete(bg, cancelPrefix+id)
				t.cancel()
			}
			if time.Since(renewed) >= m.cfg.Lease/3 {
				if ok, err := m.st.CompareAndExpire(bg, lockPrefix+id, []byte(m.owner), m.cfg.Lease); err != nil {
					m.cfg.Logger.Warn("task lease not renewed", "task_id", id, "error", err)
				} else if ok {
					renewed = time.Now()
				}
			}
		}
	}()
	return func() { close(done) }
}

func (m *Manager) finish(t *task, res json.RawMessage, err error) {
	now := time.Now().UTC()
	rec := t.update(func(r *Record) {
		r.Detail = ""
		if err != nil {
			r.Status, r.Error, r.FailedAt = Failed, err.Error(), &now
		} else {
			r.Status, r.Result, r.CompletedAt = Completed, res, &now
		}
	})
	if err != nil {
		m.cfg.Logger.Warn("task failed", "task_id", rec.TaskID, "error", err)
	} else {
		m.cfg.Logger.Info("task completed", "task_id", rec.TaskID)
	}
	// The final record must reach the store before the lock goes, so a reader
	// that finds no lock never mistakes a finished task for an interrupted
	// one. If the store is down, keep trying while the process lives.
	for attempt := 0; ; attempt++ {
		if err := m.write(context.Background(), rec); err == nil {
			break
		} else if attempt%30 == 0 {
			m.cfg.Logger.Warn("task record not saved; retrying", "task_id", rec.TaskID, "error", err)
		}
		time.Sleep(time.Second)
	}
	m.st.CompareAndDelete(context.Background(), lockPrefix+rec.TaskID, []byte(m.owner))
	m.mu.Lock()
	delete(m.local, rec.TaskID)
	m.mu.Unlock()
	if h := m.cfg.Hooks.Finished; h != nil {
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

func (m *Manager) write(ctx context.Context, rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := m.st.Set(ctx, recordPrefix+rec.TaskID, b, m.cfg.Retention); err != nil {
		return fmt.Errorf("tasks: save %s: %w", rec.TaskID, err)
	}
	return nil
}

func (m *Manager) writeLogged(rec Record) {
	if err := m.write(context.Background(), rec); err != nil {
		m.cfg.Logger.Warn("task record not saved", "task_id", rec.TaskID, "error", err)
	}
}

// Get returns the record of task id. A record left active by a process whose
// lease lapsed is marked failed ("interrupted") on the way.
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
	if err != nil || !rec.Active() {
		return rec.withElapsed(time.Now()), err
	}
	if _, err := m.st.Get(ctx, lockPrefix+id); err == nil {
		return rec.withElapsed(time.Now()), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Record{}, fmt.Errorf("tasks: lock of %s: %w", id, err)
	}
	// No lease. Read again: an owner that finished wrote its final record
	// before it let the lock go.
	if rec, err = m.read(ctx, id); err != nil || !rec.Active() {
		return rec.withElapsed(time.Now()), err
	}
	now := time.Now().UTC()
	rec.Status, rec.FailedAt, rec.Detail = Failed, &now, ""
	rec.Error = fmt.Sprintf("interrupted: the process running it (%s) stopped before it finished", rec.Owner)
	if err := m.write(ctx, rec); err != nil {
		return Record{}, err
	}
	m.cfg.Logger.Warn("task interrupted", "task_id", id, "owner", rec.Owner)
	return rec.withElapsed(now), nil
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

// Cancel cancels task id if it is active and returns its record. A task of
// this process stops at its next safe point; one of another process hears of
// it through the store within a second.
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
	if err := m.st.Set(ctx, cancelPrefix+id, []byte("1"), time.Hour); err != nil {
		return Record{}, err
	}
	return rec, nil
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

// Counts returns how many of this process's tasks are queued and running.
func (m *Manager) Counts() (queued, running int) {
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

// Shutdown stops intake, cancels this process's tasks and waits for them
// until ctx ends.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for _, t := range m.local {
		t.cancel()
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("tasks: shutdown with tasks still running: %w", ctx.Err())
	}
}
