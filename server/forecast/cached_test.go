package forecast_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stockagent/pybridge"
	"stockagent/server/cache"
	"stockagent/server/forecast"
	"stockagent/server/pyapi"
	"stockagent/server/store"
	"stockagent/server/store/storetest"
	"stockagent/server/tasks"
)

// python is one process's Python side: it forecasts with the version it
// serves, counts its forecasts, and holds each until gate allows.
type python struct {
	mu       sync.Mutex
	serving  string
	fail     bool // forecasts fail
	predicts atomic.Int32
	gate     func() bool // nil: answer at once
	wait     func(what string, cond func() bool)
}

func (p *python) set(version string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serving = version
}

func (p *python) Call(_ context.Context, _ pybridge.Lane, fn string, req, resp any, _ ...pybridge.CallOption) error {
	p.mu.Lock()
	version, fail := p.serving, p.fail
	p.mu.Unlock()
	switch fn {
	case pyapi.FuncPredict:
		p.predicts.Add(1)
		if p.gate != nil {
			p.wait("the identical requests gathered", p.gate)
		}
		if fail {
			return &pybridge.PyError{Type: "RuntimeError", Message: "forecast failed"}
		}
		*resp.(*json.RawMessage) = json.RawMessage(`{"ticker":"AAPL","model_version":"` + version + `"}`)
	case pyapi.FuncModelState:
		r := req.(pyapi.TickerRequest)
		*resp.(*pyapi.ModelState) = pyapi.ModelState{Ticker: r.Ticker, Exists: true, ServingVersion: version}
	case pyapi.FuncTrain:
		*resp.(*json.RawMessage) = json.RawMessage(`{"version":"v2","promotion":{"promoted":true}}`)
	case pyapi.FuncSetServing:
		r := req.(pyapi.SetServingRequest)
		p.set(r.Version)
		*resp.(*pyapi.SetServingResponse) = pyapi.SetServingResponse{Ticker: r.Ticker, Version: r.Version, Changed: true}
	case pyapi.FuncLoadServing:
		r := req.(pyapi.SetServingRequest)
		p.set(r.Version)
		*resp.(*pyapi.LoadServingResponse) = pyapi.LoadServingResponse{Ticker: r.Ticker, Version: r.Version, Serving: r.Version}
	default:
		return &pybridge.PyError{Type: "unexpected", Message: fn}
	}
	return nil
}

// counts is a cache.Observer that counts what it is told.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
}

func (c *counts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func (c *counts) LocalCache(result string)       { c.add("local " + result) }
func (c *counts) LocalInvalidated(reason string) { c.add("invalidated " + reason) }
func (c *counts) LocalLive(up bool)              { c.add(fmt.Sprint("live ", up)) }
func (c *counts) FlightJoined(scope string)      { c.add("joined " + scope) }

// process is one server process's forecast service on st.
type process struct {
	st  store.Store
	py  *python
	obs *counts
	svc *forecast.Service
	m   *tasks.Manager
}

func newProcess(ctx context.Context, t *testing.T, st store.Store, version string) *process {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &process{st: st, py: &python{serving: version}, obs: &counts{}}
	p.py.wait = func(what string, cond func() bool) {
		for !cond() {
			select {
			case <-ctx.Done():
				t.Errorf("%s: never", what)
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	p.m = tasks.New(st, tasks.Config{Logger: quiet})
	t.Cleanup(func() { _ = p.m.Shutdown(context.Background()) })
	pc := cache.NewPredictions(st, forecast.ServingVersions(st), 0, cache.WithObserver(p.obs), cache.WithLocal(16, 1<<20))
	p.svc = forecast.NewService(forecast.NewClient(p.py), p.m, pc, nil, quiet)
	if err := p.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

// predict answers the forecast, or what went wrong instead.
func (p *process) predict(ctx context.Context) string {
	pred, tr, err := p.svc.Predict(ctx, "AAPL")
	if err != nil || tr != nil {
		return fmt.Sprintf("predict: %v %+v", err, tr)
	}
	return string(pred)
}

func awaitCond(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: never", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// 64 identical requests that miss the cache at once make one Python forecast.
func TestConcurrentMissesForecastOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
		defer cancel()
		p := newProcess(ctx, t, b.Open(t), "v1")
		p.py.gate = func() bool { return p.obs.get("joined process") == 63 }
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				if got := p.predict(ctx); got != `{"ticker":"AAPL","model_version":"v1"}` {
					t.Errorf("answer %s", got)
				}
			})
		}
		wg.Wait()
		if n := p.py.predicts.Load(); n != 1 {
			t.Fatalf("%d Python forecasts for 64 identical misses, want 1", n)
		}
	})
}

// No-cache requests are never shared: each runs the model (make bench counts
// one forecast per no-cache request), even while identical ones run.
func TestNoCacheRequestsForecastEach(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	p := newProcess(ctx, t, store.NewMemory(), "v1")
	p.py.gate = func() bool { return p.py.predicts.Load() == 8 } // all eight run at once
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if pred, _, err := p.svc.PredictFresh(ctx, "AAPL"); err != nil || string(pred) != `{"ticker":"AAPL","model_version":"v1"}` {
				t.Errorf("answer %s %v", pred, err)
			}
		})
	}
	wg.Wait()
	if n := p.py.predicts.Load(); n != 8 {
		t.Fatalf("%d Python forecasts for 8 no-cache requests, want 8", n)
	}
}

// Two replicas on one Redis, 32 identical misses each at once: one Python
// forecast in all.
func TestReplicasForecastOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	b := storetest.Backend{Name: "redis", URL: storetest.StartRedis(t)}
	prefix := storetest.KeyPrefix(t)
	var ps [2]*process
	for i := range ps {
		ps[i] = newProcess(ctx, t, b.Open(t, store.WithPrefix(prefix)), "v1")
	}
	gathered := func() bool { return ps[0].obs.get("joined process") == 31 && ps[1].obs.get("joined process") == 31 }
	var wg sync.WaitGroup
	for _, p := range ps {
		p.py.gate = gathered
		for range 32 {
			wg.Go(func() {
				if got := p.predict(ctx); got != `{"ticker":"AAPL","model_version":"v1"}` {
					t.Errorf("answer %s", got)
				}
			})
		}
	}
	wg.Wait()
	if n := ps[0].py.predicts.Load() + ps[1].py.predicts.Load(); n != 1 {
		t.Fatalf("%d Python forecasts for 64 identical misses on two replicas, want 1", n)
	}
}

// A new version serves after a training on one replica: the other, which
// answers the old version's forecast from its first level, answers the new
// version's once the serving notice came.
func TestServingNoticeReachesTheOtherFirstLevel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	b := storetest.Backend{Name: "redis", URL: storetest.StartRedis(t)}
	prefix := storetest.KeyPrefix(t)
	trainer := newProcess(ctx, t, b.Open(t, store.WithPrefix(prefix)), "v1")
	other := newProcess(ctx, t, b.Open(t, store.WithPrefix(prefix)), "v1")
	ptr, _ := json.Marshal(forecast.ServingPointer{Version: "v1", Updated: time.Now()})
	if err := trainer.st.Set(ctx, "serving:AAPL", ptr, 0); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*process{trainer, other} {
		p.svc.Follow(ctx, p.st, p.st.(store.Notifier), time.Hour)
		awaitCond(ctx, t, "the first level answers", func() bool { return p.obs.get("live true") > 0 })
	}
	v1 := `{"ticker":"AAPL","model_version":"v1"}`
	for range 3 {
		if got := other.predict(ctx); got != v1 {
			t.Fatalf("before the training: %s", got)
		}
	}
	if n := other.obs.get("local hit"); n == 0 {
		t.Fatal("the other replica never answered from its first level")
	}

	// The trainer's own forecast after the training fails, so the serving
	// notice is the only one the other replica gets.
	trainer.py.mu.Lock()
	trainer.py.fail = true
	trainer.py.mu.Unlock()
	before := other.obs.get("invalidated notice")
	if _, err := trainer.svc.Train(ctx, "AAPL", forecast.TrainParams{Force: true}); err != nil {
		t.Fatal(err)
	}
	awaitCond(ctx, t, "the training completed", func() bool {
		rec, err := trainer.m.Get(ctx, "aapl")
		return err == nil && rec.Status == tasks.Completed
	})
	awaitCond(ctx, t, "the other replica loaded v2", func() bool {
		s := other.svc.Serving()
		return len(s) == 1 && s[0].Version == "v2"
	})
	awaitCond(ctx, t, "the serving notice reached the other's first level", func() bool {
		return other.obs.get("invalidated notice") > before
	})
	if got := other.predict(ctx); got != `{"ticker":"AAPL","model_version":"v2"}` {
		t.Fatalf("after the serving notice the other replica answered %s", got)
	}
}

// A pointer that moved without a notice reaching this replica is found by its
// periodic read of the pointers, which drops the first level's copy too.
func TestCatchUpDropsAnUnannouncedMove(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	st := storetest.Backend{Name: "redis", URL: storetest.StartRedis(t)}.Open(t)
	p := newProcess(ctx, t, st, "v1")
	set := func(v string) {
		t.Helper()
		ptr, _ := json.Marshal(forecast.ServingPointer{Version: v, Updated: time.Now()})
		if err := st.Set(ctx, "serving:AAPL", ptr, 0); err != nil {
			t.Fatal(err)
		}
	}
	set("v1")
	p.svc.Follow(ctx, st, st.(store.Notifier), 50*time.Millisecond)
	awaitCond(ctx, t, "the first level answers", func() bool { return p.obs.get("live true") > 0 })
	for range 3 {
		if got := p.predict(ctx); got != `{"ticker":"AAPL","model_version":"v1"}` {
			t.Fatalf("before the move: %s", got)
		}
	}
	if p.obs.get("local hit") == 0 {
		t.Fatal("never answered from the first level")
	}
	set("v2") // no notice
	awaitCond(ctx, t, "the catch-up loaded v2", func() bool {
		s := p.svc.Serving()
		return len(s) == 1 && s[0].Version == "v2"
	})
	if got := p.predict(ctx); got != `{"ticker":"AAPL","model_version":"v2"}` {
		t.Fatalf("after the catch-up: %s", got)
	}
}
