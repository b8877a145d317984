package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// recorder is an Observer that counts what it is told.
type recorder struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *recorder) add(k string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[k]++
}

func (r *recorder) count(k string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[k]
}

func (r *recorder) LocalCache(result string)       { r.add("local " + result) }
func (r *recorder) LocalInvalidated(reason string) { r.add("invalidated " + reason) }
func (r *recorder) LocalLive(up bool)              { r.add(fmt.Sprint("live ", up)) }
func (r *recorder) FlightJoined(scope string)      { r.add("joined " + scope) }

// await polls cond until it holds; ctx is the test's hang guard, not a timing.
func await(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: never", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// replica is one process's cache on a Redis that others share: its serving
// pointers are the store's "ptr:<model>" keys.
type replica struct {
	st  store.Store
	p   *Predictions
	obs *recorder
}

func pointerIn(st store.Store) Serving {
	return func(ctx context.Context, model string) (string, bool, error) {
		b, err := st.Get(ctx, "ptr:"+model)
		if errors.Is(err, store.ErrNotFound) {
			return "", false, nil
		}
		return string(b), err == nil, err
	}
}

// newReplica opens url under prefix with a first level listening to
// InvalidationChannel and "serving" until ctx ends, and waits until it answers.
func newReplica(ctx context.Context, t *testing.T, url, prefix string) *replica {
	t.Helper()
	st, err := store.Open(url, store.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := &replica{st: st, obs: &recorder{}}
	r.p = NewPredictions(st, pointerIn(st), 0, WithObserver(r.obs), WithLocal(16, 1<<20))
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.p.Listen(lctx, "serving") }()
	t.Cleanup(func() { stop(); <-done })
	await(ctx, t, "the first level answers", r.p.local.live)
	return r
}

func (r *replica) get(ctx context.Context, t *testing.T) (string, bool) {
	t.Helper()
	pred, ok, err := r.p.Get(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	return string(pred), ok
}

// The first level answers without reading the store, and drops its copy on
// the notices of another replica: a serving pointer's move, a new entry, a
// forgotten one, a cleared cache.
func TestLocalFollowsNotices(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	url, prefix := storetest.StartRedis(t), storetest.KeyPrefix(t)
	a, b := newReplica(ctx, t, url, prefix), newReplica(ctx, t, url, prefix)
	v1, v2 := string(forecast("v1")), string(forecast("v2"))
	setPointer := func(v string) {
		t.Helper()
		if err := a.st.Set(ctx, "ptr:AAPL", []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	// settled waits until b has applied n more notices than before.
	settled := func(before, n int, what string) {
		t.Helper()
		await(ctx, t, what, func() bool { return b.obs.count("invalidated notice") >= before+n })
	}

	setPointer("v1")
	before := b.obs.count("invalidated notice")
	if err := a.p.Put(ctx, "AAPL", forecast("v1")); err != nil {
		t.Fatal(err)
	}
	settled(before, 1, "the notice of a's entry")
	for range 2 {
		if got, ok := b.get(ctx, t); !ok || got != v1 {
			t.Fatalf("b: %v %s", ok, got)
		}
	}
	if n := b.obs.count("local hit"); n != 1 {
		t.Fatalf("b's second read: %d first-level hits, want 1", n)
	}

	// The pointer moves, its notice not sent yet: b answers from memory, not
	// from the store (which would find the entry stale).
	setPointer("v2")
	if got, ok := b.get(ctx, t); !ok || got != v1 {
		t.Fatalf("before the notice b should answer its copy: %v %s", ok, got)
	}
	// The notice: b drops its copy at once, and the store's entry is stale.
	before = b.obs.count("invalidated notice")
	if err := a.st.(store.Notifier).Publish(ctx, "serving", []byte(`{"model":"AAPL","version":"v2"}`)); err != nil {
		t.Fatal(err)
	}
	settled(before, 1, "the serving notice")
	if got, ok := b.get(ctx, t); ok {
		t.Fatalf("b answered %s after the serving notice", got)
	}
	before = b.obs.count("invalidated notice")
	if err := a.p.Put(ctx, "AAPL", forecast("v2")); err != nil {
		t.Fatal(err)
	}
	settled(before, 1, "the notice of a's new entry")
	for range 2 {
		if got, ok := b.get(ctx, t); !ok || got != v2 {
			t.Fatalf("after a's new entry b answered %v %s", ok, got)
		}
	}

	// A forgotten entry goes from every replica.
	before = b.obs.count("invalidated notice")
	if err := a.p.Forget(ctx, "AAPL"); err != nil {
		t.Fatal(err)
	}
	settled(before, 1, "the notice of Forget")
	if got, ok := b.get(ctx, t); ok {
		t.Fatalf("b answered %s after a forgot it", got)
	}

	// So does a cleared cache.
	before = b.obs.count("invalidated notice")
	if err := a.p.Put(ctx, "AAPL", forecast("v2")); err != nil {
		t.Fatal(err)
	}
	settled(before, 1, "the notice of a's entry")
	b.get(ctx, t)
	if _, ok := b.p.local.get(Key("AAPL"), time.Now()); !ok {
		t.Fatal("b's first level did not keep the entry it read")
	}
	if _, err := a.p.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	await(ctx, t, "the notice of Clear", func() bool { return b.obs.count("invalidated all") == 1 })
	if got, ok := b.get(ctx, t); ok {
		t.Fatalf("b answered %s after the cache was cleared", got)
	}
}

// While notices may be missed the first level answers nothing: Redis that
// answers nothing without an error (a partition, here CLIENT PAUSE), and a
// Redis restart, which also empties it until it has subscribed again.
func TestLocalStopsWhenNoticesMayBeMissed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	srv := storetest.NewServer(t)
	b := newReplica(ctx, t, srv.URL(), storetest.KeyPrefix(t))
	key := Key("AAPL")
	if err := b.p.Put(ctx, "AAPL", forecast("v1")); err != nil {
		t.Fatal(err)
	}
	// Put dropped its own copy, then its notice came back.
	await(ctx, t, "the notice of the entry", func() bool { return b.obs.count("invalidated notice") == 2 })
	b.get(ctx, t)
	if _, ok := b.p.local.get(key, time.Now()); !ok {
		t.Fatal("the first level did not keep the entry it read")
	}

	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer admin.Close()
	if err := admin.Do(ctx, "client", "pause", 3000, "all").Err(); err != nil {
		t.Fatal(err)
	}
	await(ctx, t, "the first level stops answering while Redis is silent", func() bool { return !b.p.local.live() })
	if _, ok := b.p.local.get(key, time.Now()); ok {
		t.Fatal("the first level answered while its pings went unanswered")
	}
	// Redis answers again on the same connection: every notice sent meanwhile
	// arrives before the next ping's answer, so what it kept stands.
	await(ctx, t, "the first level answers again", b.p.local.live)
	if _, ok := b.p.local.get(key, time.Now()); !ok {
		t.Fatal("the first level lost its entry over a pause")
	}

	srv.Stop()
	await(ctx, t, "the lost subscription is noticed", func() bool { return b.obs.count("live false") > 0 })
	if pred, ok, err := b.p.Get(ctx, "AAPL"); ok || err == nil {
		t.Fatalf("with Redis down Get answered %v %s (error %v)", ok, pred, err)
	}
	srv.Start()
	await(ctx, t, "subscribed again", b.p.local.live)
	if _, ok := b.p.local.get(key, time.Now()); ok {
		t.Fatal("the first level kept an entry across a lost subscription")
	}
}

// A fill read before an invalidation is refused: it may hold what the
// invalidation dropped.
func TestLocalRefusesFillsReadBeforeAnInvalidation(t *testing.T) {
	l := newLocal(2, 1<<20, noObserver{})
	l.subscribed()
	until := time.Now().Add(time.Hour)
	gen := l.generation()
	l.invalidate("k")
	l.fill("k", gen, []byte("old"), until)
	if _, ok := l.get("k", time.Now()); ok {
		t.Fatal("kept a fill read before an invalidation")
	}
	l.fill("k", l.generation(), []byte("new"), until)
	if got, ok := l.get("k", time.Now()); !ok || string(got) != "new" {
		t.Fatalf("got %v %s", ok, got)
	}
	if _, ok := l.get("k", until); ok {
		t.Fatal("answered at the entry's end")
	}
}

// The bounds: least recently used out first, by entries and by bytes.
func TestLocalBounds(t *testing.T) {
	l := newLocal(2, 10, noObserver{})
	l.subscribed()
	until := time.Now().Add(time.Hour)
	l.fill("a", l.generation(), []byte("aaaa"), until)
	l.fill("b", l.generation(), []byte("bbbb"), until)
	l.get("a", time.Now()) // b is now the least recently used
	l.fill("c", l.generation(), []byte("cc"), until)
	if _, ok := l.get("b", time.Now()); ok || len(l.entries) != 2 {
		t.Fatalf("entries bound: b kept, or %d entries", len(l.entries))
	}
	l.fill("d", l.generation(), []byte("dddddddd"), until) // 14 bytes with a: a goes (c was used later)
	if _, ok := l.get("a", time.Now()); ok || l.bytes > 10 {
		t.Fatalf("bytes bound: a kept, or %d bytes", l.bytes)
	}
	l.fill("e", l.generation(), []byte("too large to keep"), until)
	if _, ok := l.get("e", time.Now()); ok {
		t.Fatal("kept an entry larger than the bound")
	}
}

// An entry's end: its TTL or the end of its NYSE session, whichever is first.
func TestSessionEnd(t *testing.T) {
	for _, at := range []string{
		"2025-01-03T09:30:00-05:00", "2025-01-03T16:29:00-05:00", "2025-01-03T16:31:00-05:00",
		"2025-03-09T16:45:00-04:00", // the day clocks move forward
		"2025-11-02T16:15:00-05:00", // and back
	} {
		now, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		end := sessionEnd(now)
		if Session(end.Add(-time.Nanosecond)) != Session(now) || Session(end) == Session(now) {
			t.Errorf("%s: session %s ends at %s, where Session says %s then %s", at, Session(now), end,
				Session(end.Add(-time.Nanosecond)), Session(end))
		}
	}
}
