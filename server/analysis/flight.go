package analysis

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// flights runs identical concurrent analyses once. Unlike a plain
// singleflight, the run does not live on any one caller's context: it has
// its own deadline (ANALYZE_TIMEOUT), and it is cancelled when every caller
// waiting for it has gone, so an abandoned analysis stops at its next LLM
// call while one that somebody still waits for keeps running.
type flights struct {
	mu sync.Mutex // guards m and each flight's waiters
	m  map[string]*flight
}

type flight struct {
	done    chan struct{} // closed when val and err are set
	waiters int
	cancel  context.CancelFunc
	val     json.RawMessage
	err     error

	evMu      sync.Mutex // guards events and listeners; held while they are called, so each sees every event once, in order
	events    [][]byte   // the run's progress events so far, for callers that join late
	listeners map[int]Raw
	nextID    int
}

// emit hands a progress event of the run to every caller that listens.
func (f *flight) emit(data []byte) {
	b := append([]byte(nil), data...) // the bridge's buffer is not ours to keep
	f.evMu.Lock()
	defer f.evMu.Unlock()
	f.events = append(f.events, b)
	for _, l := range f.listeners {
		l(b)
	}
}

// listen replays the run's events to l and adds it to the listeners; the
// returned func removes it.
func (f *flight) listen(l Raw) func() {
	if l == nil {
		return func() {}
	}
	f.evMu.Lock()
	defer f.evMu.Unlock()
	for _, e := range f.events {
		l(e)
	}
	id := f.nextID
	f.nextID++
	if f.listeners == nil {
		f.listeners = map[int]Raw{}
	}
	f.listeners[id] = l
	return func() {
		f.evMu.Lock()
		delete(f.listeners, id)
		f.evMu.Unlock()
	}
}

// do returns fn's answer for key, starting fn unless a run of key is in
// progress. fn receives a context that ends after timeout or once every
// caller of do for this run has returned early because its own ctx ended,
// and the func through which it sends its progress events: listen (nil:
// none) receives them, the earlier ones first when it joins late.
func (g *flights) do(ctx context.Context, key string, timeout time.Duration, listen Raw, fn func(context.Context, Raw) (json.RawMessage, error)) (json.RawMessage, error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	f, ok := g.m[key]
	if !ok {
		// The run keeps ctx's values (request id) but not its cancellation.
		runCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		f = &flight{done: make(chan struct{}), cancel: cancel}
		g.m[key] = f
		go func() {
			val, err := fn(runCtx, f.emit)
			cancel()
			g.mu.Lock()
			f.val, f.err = val, err
			g.forgetLocked(key, f)
			g.mu.Unlock()
			close(f.done)
		}()
	}
	f.waiters++
	g.mu.Unlock()
	defer f.listen(listen)()

	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		g.mu.Lock()
		if f.waiters--; f.waiters == 0 {
			// Nobody waits: stop the run, and let a new caller start afresh
			// rather than join a run that is being cancelled.
			f.cancel()
			g.forgetLocked(key, f)
		}
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (g *flights) forgetLocked(key string, f *flight) {
	if g.m[key] == f {
		delete(g.m, key)
	}
}
