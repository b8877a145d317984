// Package tasks runs background work (model training) with bounded
// concurrency, at most one task per id, optional ordering (a child's training
// waits for its parent's), a timeout, cancellation, and status records that
// clients poll.
//
// Records live in this process. Cancellation is cooperative: a task's
// context is cancelled and the work stops at its next safe point.
package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
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
	CreatedAt      time.Time       `json:"created_at"`
	StartedAt      *time.Time      `json:"started_at,omitempty"`
	CompletedAt    *time.Time      `json:"completed_at,omitempty"`
	FailedAt       *time.Time      `json:"failed_at,omitempty"`
	ElapsedSeconds *float64        `json:"elapsed_seconds,omitempty"`
}

// Active reports whether the task is queued or running.
func (r Record) Active() bool { return r.Status == Queued || r.Status == Running }

// Func is the work of a task. It reports progress through progress (each
// report replaces the previous one in the record) and stops when ctx ends.
type Func func(ctx context.Context, progress func(json.RawMessage)) (json.RawMessage, error)

// Config sizes a Manager. Zero values take the defaults.
type Config struct {
	// MaxRunning bounds the tasks running at once. Zero: DefaultMaxRunning.
	MaxRunning int
	// Timeout bounds one task's run. Zero: DefaultTimeout.
	Timeout time.Duration
	// Keep is how many finished records are kept. Zero: DefaultKeep.
	Keep int
	// Logger receives task starts and ends. Nil: slog.Default().
	Logger *slog.Logger
}

const (
	DefaultMaxRunning = 4
	DefaultTimeout    = 2 * time.Hour // a full parent training on a small CPU fits well inside
	DefaultKeep       = 200
)

// ErrNotFound is returned for an unknown task id.
var ErrNotFound = errors.New("tasks: no such task")

// ErrClosed is returned by Submit after Shutdown.
var ErrClosed = errors.New("tasks: manager shut down")

// Manager runs tasks. Its methods are safe for concurrent use.
type Manager struct {
	cfg  Config
	slot chan struct{} // one token per running task

	mu     sync.Mutex // guards tasks and closed
	tasks  map[string]*task
	closed bool
	wg     sync.WaitGroup
}

type task struct {
	rec    Record // guarded by Manager.mu
	cancel context.CancelFunc
	done   chan struct{} // closed when the task has finished
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.MaxRunning <= 0 {
		cfg.MaxRunning = DefaultMaxRunning
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{cfg: cfg, slot: make(chan struct{}, cfg.MaxRunning), tasks: map[string]*task{}}
}

// Submit starts fn as task id, after the task named by after (if that one is
// queued or running; its failure fails this one too). When a task with this id
// is already queued or running, nothing starts: Submit returns that task's
// record and false.
func (m *Manager) Submit(id, kind, after string, fn Func) (Record, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Record{}, false, ErrClosed
	}
	if t, ok := m.tasks[id]; ok && t.rec.Active() {
		return t.view(time.Now()), false, nil
	}
	var wait <-chan struct{}
	var dep *task
	if after != "" {
		if d, ok := m.tasks[after]; ok && d.rec.Active() {
			dep, wait = d, d.done
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &task{
		rec:    Record{TaskID: id, Kind: kind, Status: Queued, CreatedAt: time.Now().UTC()},
		cancel: cancel,
		done:   make(chan struct{}),
	}
	if dep != nil {
		t.rec.Detail = fmt.Sprintf("waiting for %s to complete", after)
	}
	m.tasks[id] = t
	m.prune()
	m.wg.Add(1)
	go m.run(ctx, t, after, wait, fn)
	return t.view(time.Now()), true, nil
}

func (m *Manager) run(ctx context.Context, t *task, after string, wait <-chan struct{}, fn Func) {
	defer m.wg.Done()
	defer close(t.done)
	defer t.cancel()
	if wait != nil {
		select {
		case <-wait:
			m.mu.Lock()
			dep := m.tasks[after].rec
			m.mu.Unlock()
			if dep.Status != Completed {
				m.finish(t, nil, fmt.Errorf("%s did not complete: %s", after, dep.Error))
				return
			}
		case <-ctx.Done():
			m.finish(t, nil, errors.New("cancelled while waiting"))
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
	m.mu.Lock()
	t.rec.Status, t.rec.StartedAt, t.rec.Detail = Running, &now, ""
	m.mu.Unlock()
	m.cfg.Logger.Info("task started", "task_id", t.rec.TaskID, "kind", t.rec.Kind)

	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	progress := func(p json.RawMessage) {
		p = append(json.RawMessage(nil), p...) // the caller's buffer is reused
		m.mu.Lock()
		t.rec.Progress = p
		m.mu.Unlock()
	}
	res, err := fn(ctx, progress)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", m.cfg.Timeout, err)
	}
	m.finish(t, res, err)
}

func (m *Manager) finish(t *task, res json.RawMessage, err error) {
	now := time.Now().UTC()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		t.rec.Status, t.rec.Error, t.rec.FailedAt = Failed, err.Error(), &now
		m.cfg.Logger.Warn("task failed", "task_id", t.rec.TaskID, "error", err)
	} else {
		t.rec.Status, t.rec.Result, t.rec.CompletedAt = Completed, res, &now
		m.cfg.Logger.Info("task completed", "task_id", t.rec.TaskID)
	}
	t.rec.Detail = ""
}

// view is the record with its elapsed time filled in; m.mu must be held.
func (t *task) view(now time.Time) Record {
	r := t.rec
	if r.StartedAt != nil {
		end := now
		if r.CompletedAt != nil {
			end = *r.CompletedAt
		} else if r.FailedAt != nil {
			end = *r.FailedAt
		}
		s := end.Sub(*r.StartedAt).Seconds()
		r.ElapsedSeconds = &s
	}
	return r
}

// prune drops the oldest finished records beyond cfg.Keep; m.mu must be held.
func (m *Manager) prune() {
	var done []*task
	for _, t := range m.tasks {
		if !t.rec.Active() {
			done = append(done, t)
		}
	}
	if len(done) <= m.cfg.Keep {
		return
	}
	sort.Slice(done, func(i, j int) bool { return done[i].rec.CreatedAt.Before(done[j].rec.CreatedAt) })
	for _, t := range done[:len(done)-m.cfg.Keep] {
		delete(m.tasks, t.rec.TaskID)
	}
}

// Get returns the record of task id.
func (m *Manager) Get(id string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tasks[id]
	if !ok {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return t.view(time.Now()), nil
}

// List returns every record, newest first.
func (m *Manager) List() []Record {
	m.mu.Lock()
	now := time.Now()
	out := make([]Record, 0, len(m.tasks))
	for _, t := range m.tasks {
		out = append(out, t.view(now))
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out
}

// Cancel cancels task id if it is queued or running and returns its record.
// A running task stops at its next safe point; its record says so then.
func (m *Manager) Cancel(id string) (Record, error) {
	m.mu.Lock()
	t, ok := m.tasks[id]
	m.mu.Unlock()
	if !ok {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	t.cancel()
	return m.Get(id)
}

// Wait blocks until task id has finished or ctx ends.
func (m *Manager) Wait(ctx context.Context, id string) (Record, error) {
	m.mu.Lock()
	t, ok := m.tasks[id]
	m.mu.Unlock()
	if !ok {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	select {
	case <-t.done:
		return m.Get(id)
	case <-ctx.Done():
		return Record{}, ctx.Err()
	}
}

// Shutdown stops intake, cancels every task and waits for them until ctx ends.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	for _, t := range m.tasks {
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
