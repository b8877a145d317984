package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"stockagent/server/store"
)

// A miss's flight on a shared store holds a lock in the store while it
// computes: flightLockTTL long, renewed every third of it, so that a process
// that died lets the others go within flightLockTTL. A process that did not
// get the lock waits for the holder's entry at most flightWait, then computes
// itself.
const (
	flightPrefix  = "flight:"
	flightLockTTL = 2 * time.Second
	flightWait    = 10 * time.Second
	flightPollMax = 20 * time.Millisecond
)

// Func computes a forecast of model and caches it (Put) before it returns, so
// that the processes waiting for its flight find the entry.
type Func func(ctx context.Context) (json.RawMessage, error)

type flight struct {
	ctx     context.Context // the creator's, without its cancellation: the flight serves others too
	cancel  context.CancelFunc
	compute Func
	done    chan struct{}
	pred    json.RawMessage // set before done closes
	err     error
}

// flights are this process's running computations by key.
type flights struct {
	mu      sync.Mutex
	running map[string]*flight
}

// Compute returns a forecast of model from compute after a cache miss,
// shared by identical concurrent misses: a flight per model in this process,
// which every miss that comes while it runs joins.
//
// On a store several processes share, the flight first takes the model's
// lock in the store (SET NX PX with a token of its own, renewed while it
// computes, deleted after). A process that finds it taken polls the cache
// for the holder's entry until it is there, the lock is gone or flightWait
// passed, and then computes itself.
//
// The computation runs with the context of the request that started it, less
// its cancellation (its deadline stays): a client that leaves stops waiting,
// not the computation the others wait for.
//
// A request with Cache-Control: no-cache never comes here: it asks for a
// forecast computed for it, and each one runs the model (make bench counts
// on that: one forecast computed per no-cache request).
func (p *Predictions) Compute(ctx context.Context, model string, compute Func) (json.RawMessage, error) {
	key := Key(model)
	fl := &p.flights
	fl.mu.Lock()
	if fl.running == nil {
		fl.running = map[string]*flight{}
	}
	f, joined := fl.running[key], true
	if f == nil {
		f, joined = newFlight(ctx, compute), false
		fl.running[key] = f
		go p.fly(key, model, f)
	}
	fl.mu.Unlock()
	if joined {
		p.obs.FlightJoined("process")
	}
	select {
	case <-f.done:
		return f.pred, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func newFlight(ctx context.Context, compute Func) *flight {
	fctx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		fctx, cancel = context.WithDeadline(fctx, dl)
	}
	return &flight{ctx: fctx, cancel: cancel, compute: compute, done: make(chan struct{})}
}

// fly runs f and lets its waiters go.
func (p *Predictions) fly(key, model string, f *flight) {
	f.pred, f.err = p.lead(f.ctx, model, f.compute)
	f.cancel()
	fl := &p.flights
	fl.mu.Lock()
	close(f.done)
	delete(fl.running, key)
	fl.mu.Unlock()
}

// lead computes, first taking the store's lock on a shared store (or
// answering with the entry of the process that holds it).
func (p *Predictions) lead(ctx context.Context, model string, compute Func) (json.RawMessage, error) {
	if p.notify != nil {
		pred, ok, release := p.lockOrWait(ctx, model)
		if ok {
			p.obs.FlightJoined("replica")
			return pred, nil
		}
		defer release()
	}
	return compute(ctx)
}

// lockOrWait takes model's flight lock, or waits for the entry of the process
// holding it (ok). release gives back a lock taken; a store that cannot be
// reached takes none, and the flight computes without one.
func (p *Predictions) lockOrWait(ctx context.Context, model string) (pred json.RawMessage, ok bool, release func()) {
	key := flightPrefix + Key(model)
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	token := []byte(hex.EncodeToString(b[:]))
	got, err := p.st.SetNX(ctx, key, token, flightLockTTL)
	switch {
	case err != nil:
		return nil, false, func() {}
	case got:
		stop := p.renew(ctx, key, token)
		return nil, false, func() {
			stop()
			_, _ = p.st.CompareAndDelete(context.WithoutCancel(ctx), key, token)
		}
	}
	deadline := time.Now().Add(flightWait)
	for wait := time.Millisecond; time.Now().Before(deadline); wait = min(2*wait, flightPollMax) {
		select {
		case <-ctx.Done():
			return nil, false, func() {}
		case <-time.After(wait):
		}
		// The lock first: gone, the holder's entry (if it made one) is there to read.
		_, lerr := p.st.Get(ctx, key)
		if pred, ok, err := p.Get(ctx, model); err == nil && ok {
			return pred, true, func() {}
		}
		if errors.Is(lerr, store.ErrNotFound) {
			break // the holder finished without an entry, or died: compute here
		}
	}
	return nil, false, func() {}
}

// renew keeps the lock key (holding token) alive until the returned stop is
// called or it was lost.
func (p *Predictions) renew(ctx context.Context, key string, token []byte) (stop func()) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		tick := time.NewTicker(flightLockTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-tick.C:
				if held, err := p.st.CompareAndExpire(rctx, key, token, flightLockTTL); err == nil && !held {
					return
				}
			}
		}
	}()
	return cancel
}
