package pybridge

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"stockagent/native"
)

// Lane names a pool of workers. Lanes are separate pools, so long work never
// makes an inference call wait behind it.
type Lane int

const (
	// Inference is for short calls: forecasts, embeddings, look-ups.
	Inference Lane = iota
	// Long is for training and monitoring.
	Long
	// Agent is for LLM agent runs (analyses). They have a lane of their own so
	// that a training never waits behind them: an analysis holds its worker
	// for tens of seconds, and clients can ask for many.
	Agent
)

// lanes lists every lane, for loops over pools and metrics, and laneNames their names.
var (
	lanes     = [...]Lane{Inference, Long, Agent}
	laneNames = [len(lanes)]string{"inference", "long", "agent"}
)

// Lanes returns every lane, in order.
func Lanes() []Lane { return lanes[:] }

func (l Lane) String() string {
	if l < 0 || int(l) >= len(lanes) {
		return fmt.Sprintf("lane(%d)", int(l))
	}
	return laneNames[l]
}

// pool is the workers of one lane. A worker is a call slot (its cancel flag
// and event token, native.Slot) that a caller holds for the length of one
// call; the call runs on the caller's own OS thread, with that thread's
// persistent Python thread state. Handing each call to a goroutine locked to a
// thread instead costs two OS thread wake-ups per call (measured here: about
// 20–40 µs against 0.35 µs), for no gain: a call is one cgo crossing, so the
// goroutine cannot change threads in the middle of it.
//
// A lane with a nice value is the exception: its workers run calls on OS
// threads of their own, each at a lower scheduling priority, because a
// priority belongs to a thread and a caller's thread goes back to Go's
// scheduler after the call (an unprivileged process cannot raise it again).
// Its calls take seconds to hours, so the hand-over's wake-ups cost nothing.
type pool struct {
	lane       Lane
	workers    chan *worker // idle workers; a call takes one and gives it back
	maxWaiting int64        // bound on the calls waiting for a worker; 0: none
	waiting    atomic.Int64 // calls waiting for a worker now
	budget     native.Budget
	quit       chan struct{} // closed when shutdown begins
	funcs      *funcTable
	metrics    Metrics
}

// worker is a call slot and, in a lane with a nice value, the thread its
// calls run on.
type worker struct {
	slot *native.Slot
	run  chan func() // nil: calls run on the caller's thread
}

func newPool(lane Lane, workers, maxWaiting, nice int, budget native.Budget, funcs *funcTable, m Metrics) (*pool, error) {
	p := &pool{lane: lane, workers: make(chan *worker, workers), maxWaiting: int64(maxWaiting),
		budget: budget, quit: make(chan struct{}), funcs: funcs, metrics: m}
	for range workers {
		s, err := native.NewSlot()
		if err != nil {
			return nil, err
		}
		w := &worker{slot: s}
		if nice > 0 {
			if w.run, err = startNiceThread(nice); err != nil {
				return nil, err
			}
		}
		p.workers <- w
	}
	return p, nil
}

// startNiceThread starts a goroutine locked to an OS thread whose nice value
// it raises by nice, and returns the channel it takes functions to run from.
// The thread lives as long as the process: its Python thread state is made
// on its first call and kept, as every worker thread's is.
func startNiceThread(nice int) (chan func(), error) {
	run := make(chan func())
	ready := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread keeps its priority
		if err := lowerThreadPriority(nice); err != nil {
			ready <- err
			return // exiting while locked ends the thread
		}
		close(ready)
		for f := range run {
			f()
		}
	}()
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("pybridge: lowering a worker thread's priority: %w", err)
	}
	return run, nil
}

// call runs one call on w: on its own thread, or on the caller's.
func (w *worker) call(j *job, fn *native.Func, budget native.Budget) ([]byte, error) {
	if w.run == nil {
		return w.slot.Call(j.ctx, fn, j.in, j.sink, budget)
	}
	var (
		out  []byte
		err  error
		done = make(chan struct{})
	)
	w.run <- func() {
		defer close(done)
		out, err = w.slot.Call(j.ctx, fn, j.in, j.sink, budget)
	}
	<-done
	return out, err
}

// call runs one call on a worker of this lane, waiting for a free worker
// first; the wait ends early when ctx ends or shutdown begins. When
// maxWaiting calls already wait, it fails at once with ErrLaneFull.
func (p *pool) call(j *job) ([]byte, error) {
	if p.closed() {
		return nil, ErrPoolClosed
	}
	w, err := p.take(j)
	if err != nil {
		return nil, err
	}
	defer func() { p.workers <- w }()
	p.metrics.QueueWait(p.lane, time.Since(j.enqueued))
	if p.closed() { // shutdown began while this call waited: start nothing new
		return nil, ErrPoolClosed
	}
	fn, err := p.funcs.get(j.fn)
	if err != nil {
		return nil, err
	}
	p.metrics.Busy(p.lane, 1)
	start := time.Now()
	out, err := w.call(j, fn, p.budget)
	err = fromNative(j.fn, err)
	p.metrics.CallDone(p.lane, j.fn, time.Since(start), err)
	p.metrics.Busy(p.lane, -1)
	return out, err
}

func (p *pool) closed() bool {
	select {
	case <-p.quit:
		return true
	default:
		return false
	}
}

// take returns a free worker, waiting for one within the lane's bound.
func (p *pool) take(j *job) (*worker, error) {
	select {
	case w := <-p.workers:
		return w, nil
	default:
	}
	if n := p.waiting.Add(1); p.maxWaiting > 0 && n > p.maxWaiting {
		p.waiting.Add(-1)
		return nil, fmt.Errorf("%w: %s lane, %d calls already waiting for %d workers", ErrLaneFull, p.lane, p.maxWaiting, cap(p.workers))
	}
	defer p.waiting.Add(-1)
	select {
	case w := <-p.workers:
		return w, nil
	case <-p.quit:
		return nil, ErrPoolClosed
	case <-j.ctx.Done():
		return nil, fmt.Errorf("pybridge: %s not started: %w", j.fn, j.ctx.Err())
	}
}

// close stops intake and waits, until ctx ends, for the running calls to give
// their workers back.
func (p *pool) close(ctx context.Context) error {
	close(p.quit)
	for range cap(p.workers) {
		select {
		case <-p.workers:
		case <-ctx.Done():
			return fmt.Errorf("pybridge: %s lane: shutdown with calls still running: %w", p.lane, ctx.Err())
		}
	}
	return nil
}

// job is one call.
type job struct {
	ctx      context.Context
	fn       string
	in       []byte
	sink     native.EventSink
	enqueued time.Time
}

// funcTable caches looked-up callables; a Python function object is shared
// by every thread of the interpreter.
type funcTable struct {
	mu sync.RWMutex // guards m
	m  map[string]*native.Func
}

func (f *funcTable) get(name string) (*native.Func, error) {
	f.mu.RLock()
	fn, ok := f.m[name]
	f.mu.RUnlock()
	if ok {
		return fn, nil
	}
	module, attr, ok := strings.Cut(name, ":")
	if !ok || module == "" || attr == "" || strings.ContainsAny(attr, ":.") {
		return nil, fmt.Errorf("%w, got %q", ErrBadFunc, name)
	}
	// Looked up under the lock: a first call imports the module, and two
	// threads importing one module at once gain nothing.
	f.mu.Lock()
	defer f.mu.Unlock()
	if fn, ok = f.m[name]; ok {
		return fn, nil
	}
	fn, err := native.Lookup(module, attr)
	if err != nil {
		return nil, fromNative(name, err)
	}
	f.m[name] = fn
	return fn, nil
}
