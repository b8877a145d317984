package cache

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// The first level answers only while the notices that invalidate it are known
// to arrive: its subscription pings Redis every localPing, and an entry is
// answered only while the newest answered ping was sent less than localLag
// ago. Every notice published before that ping has been applied by then (the
// replies come in order on the connection), so a replica cut off from Redis
// without an error (a partition) serves what may have become stale for at
// most localLag.
const (
	localPing = 200 * time.Millisecond
	localLag  = time.Second
)

// local is the first level in front of a shared store: forecasts as the store
// held them (the same bytes, answered without a copy), bounded in entries and
// bytes (least recently used out first), each until its TTL or its NYSE
// session ends. It never reads the serving pointer: a move of the pointer, or
// a write of an entry by any process, reaches it as a notice (Listen), and
// while notices may be missed (not subscribed, or no answered ping within
// localLag) it answers nothing, and it forgets everything on every
// (re)subscription.
type local struct {
	maxEntries int
	maxBytes   int64
	obs        Observer

	up    atomic.Bool  // subscribed, and no failure since
	heard atomic.Int64 // unix ns: when the newest answered ping was sent
	clock atomic.Uint64

	mu      sync.RWMutex
	gen     uint64 // counts invalidations; a fill read before one is refused
	entries map[string]*localEntry
	bytes   int64
}

type localEntry struct {
	pred  json.RawMessage
	until time.Time     // the entry's TTL or its session's end, whichever is first
	used  atomic.Uint64 // local.clock at the last hit: the eviction order
}

func newLocal(maxEntries int, maxBytes int64, obs Observer) *local {
	return &local{maxEntries: maxEntries, maxBytes: maxBytes, obs: obs, entries: map[string]*localEntry{}}
}

// live reports whether every invalidation published up to localLag ago has
// been applied.
func (l *local) live() bool {
	return l.up.Load() && time.Now().UnixNano()-l.heard.Load() < int64(localLag)
}

// get returns key's forecast if it may answer at now.
func (l *local) get(key string, now time.Time) (json.RawMessage, bool) {
	if !l.live() {
		l.obs.LocalCache("down")
		return nil, false
	}
	l.mu.RLock()
	e := l.entries[key]
	l.mu.RUnlock()
	if e == nil || !now.Before(e.until) {
		l.obs.LocalCache("miss")
		return nil, false
	}
	e.used.Store(l.clock.Add(1))
	l.obs.LocalCache("hit")
	return e.pred, true
}

// generation is taken before the shared store is read: fill refuses what was
// read before an invalidation that came after it.
func (l *local) generation() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

// fill keeps pred, read from the store and checked against the serving
// pointer after gen was taken, until until.
func (l *local) fill(key string, gen uint64, pred json.RawMessage, until time.Time) {
	size := int64(len(pred))
	if size > l.maxBytes {
		return
	}
	e := &localEntry{pred: pred, until: until}
	e.used.Store(l.clock.Add(1))
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.gen || !l.up.Load() {
		return
	}
	if old := l.entries[key]; old != nil {
		l.bytes -= int64(len(old.pred))
	}
	l.entries[key] = e
	l.bytes += size
	for len(l.entries) > l.maxEntries || l.bytes > l.maxBytes {
		l.evictOldest()
	}
}

// evictOldest drops the least recently used entry. A scan: fills are rare
// (one per model, version and session), hits are not, and a hit then only
// stores a number. l.mu is held.
func (l *local) evictOldest() {
	var oldest string
	var at uint64
	for k, e := range l.entries {
		if u := e.used.Load(); oldest == "" || u < at {
			oldest, at = k, u
		}
	}
	l.bytes -= int64(len(l.entries[oldest].pred))
	delete(l.entries, oldest)
}

// invalidate drops key's entry (a notice: its pointer moved, or some process
// wrote or deleted its entry).
func (l *local) invalidate(key string) {
	l.mu.Lock()
	l.gen++
	if e := l.entries[key]; e != nil {
		l.bytes -= int64(len(e.pred))
		delete(l.entries, key)
	}
	l.mu.Unlock()
	l.obs.LocalInvalidated("notice")
}

// reset drops every entry; reason is "all" (the cache was cleared) or "lost"
// (notices may have been missed).
func (l *local) reset(reason string) {
	l.mu.Lock()
	l.gen++
	clear(l.entries)
	l.bytes = 0
	l.mu.Unlock()
	l.obs.LocalInvalidated(reason)
}

// subscribed starts answering again once subscribed: whatever was kept may
// have missed a notice while disconnected, so it goes first.
func (l *local) subscribed() {
	l.reset("lost")
	l.heard.Store(time.Now().UnixNano())
	l.up.Store(true)
	l.obs.LocalLive(true)
}

// lost stops answering until the next subscription.
func (l *local) lost() {
	l.up.Store(false)
	l.reset("lost")
	l.obs.LocalLive(false)
}

// pong records an answered ping sent at sent.
func (l *local) pong(sent time.Time) {
	for {
		old := l.heard.Load()
		if sent.UnixNano() <= old || l.heard.CompareAndSwap(old, sent.UnixNano()) {
			return
		}
	}
}
