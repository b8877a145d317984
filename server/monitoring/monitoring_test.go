package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stockagent/pybridge"
	"stockagent/server/cache"
	"stockagent/server/forecast"
	"stockagent/server/metrics"
	"stockagent/server/policy"
	"stockagent/server/pyapi"
	"stockagent/server/ratelimit"
	"stockagent/server/store"
	"stockagent/server/store/storetest"
	"stockagent/server/tasks"
)

// market stands in for the Python side: every model exists, its drift is
// always far off (so the policy below always says retrain), measured on
// prices that end on day; train counts trainings.
type market struct {
	mu     sync.Mutex
	day    string
	trains int
	hold   chan struct{} // when set, a training waits for it to close
}

func (m *market) Call(ctx context.Context, _ pybridge.Lane, fn string, req, resp any, _ ...pybridge.CallOption) error {
	m.mu.Lock()
	var out any
	hold := (chan struct{})(nil)
	switch fn {
	case pyapi.FuncDrift:
		out = map[string]any{"drift_score": 9.0, "volatility_index": 1.0, "health": "Critical (Drift Detected)", "data_as_of": m.day}
	case pyapi.FuncModelState:
		out = map[string]any{"exists": true, "serving_version": "v1", "data_as_of": m.day}
	case pyapi.FuncTrain:
		m.trains++
		hold = m.hold
		out = map[string]any{"best_val_loss": 0.1, "version": fmt.Sprintf("v%d", m.trains), "promotion": map[string]any{"promoted": true}}
	case pyapi.FuncSetServing:
		out = map[string]any{}
	case pyapi.FuncPredict:
		out = map[string]any{"ticker": "x"}
	default:
		m.mu.Unlock()
		return fmt.Errorf("market: unexpected call %s", fn)
	}
	m.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b, _ := json.Marshal(out)
	return json.Unmarshal(b, resp)
}

func (m *market) set(f func(*market)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *market) trainings() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.trains
}

// checks receives the model of every finished drift check (after its retrain decision).
type checks chan string

func (c checks) Drift(_, model string, _ float64, _ string) { c <- model }

type rig struct {
	py      *market
	st      store.Store
	tm      *tasks.Manager
	limiter *ratelimit.Limiter
	checks  checks
	svcs    []*Service
}

// newRig wires replicas monitoring services over one store, one task
// manager and the real policy engine with a drift rule that always retrains.
func newRig(t *testing.T, b storetest.Backend, replicas int, auto bool, trainingRate string) *rig {
	t.Helper()
	st := b.Open(t)
	src := strings.Replace(policy.DefaultSource(),
		`drift_action = "retrain" if drift_health == "Critical (Drift Detected)" else None`, `drift_action = "retrain"`, 1)
	if src == policy.DefaultSource() {
		t.Fatal("the default policy's drift_action rule changed; update this test")
	}
	pol, err := policy.Parse("always_retrain.py", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	training, err := ratelimit.ParsePolicy("training", trainingRate)
	if err != nil {
		t.Fatal(err)
	}
	limiter, err := ratelimit.New(st, ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{training}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &rig{py: &market{day: "2024-12-31"}, st: st, limiter: limiter, checks: make(checks, 100)}
	r.tm = tasks.New(st, tasks.Config{Logger: log, Hooks: tasks.Hooks{Finished: func(rec tasks.Record) {
		for _, s := range r.svcs[:1] { // one process runs the task and is told
			s.AfterTraining(rec)
		}
	}}})
	t.Cleanup(func() {
		if err := r.tm.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	m := metrics.New(prometheus.NewRegistry())
	fs := forecast.NewService(forecast.NewClient(r.py), r.tm, cache.NewPredictions(st, forecast.ServingVersions(st), time.Hour), m, log)
	if err := r.tm.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range replicas {
		r.svcs = append(r.svcs, New(Config{AutoRetrain: auto}, Deps{
			Python: r.py, Policy: pol, Forecast: fs, Store: st, Limiter: limiter, Observer: r.checks, Logger: log}))
	}
	return r
}

// drift runs a drift check of model on replica i and returns its policy block.
func (r *rig) drift(t *testing.T, i int, model string) map[string]any {
	t.Helper()
	rep, err := r.svcs[i].Drift(context.Background(), model)
	if err != nil {
		t.Fatal(err)
	}
	<-r.checks
	pol, _ := rep["policy"].(map[string]any)
	if pol["action"] != policy.ActionRetrain {
		t.Fatalf("policy block %v: the always-retrain policy did not say retrain", pol)
	}
	return pol
}

// settle waits for the drift check that follows a training, then returns
// the trainings counted.
func (r *rig) settle(t *testing.T, taskID string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if rec, err := r.tm.Wait(ctx, taskID); err != nil || rec.Status != tasks.Completed {
		t.Fatalf("training %s: %+v, %v", taskID, rec, err)
	}
	select {
	case <-r.checks:
	case <-ctx.Done():
		t.Fatal("no drift check followed the training")
	}
	return r.py.trainings()
}

func started(t *testing.T, pol map[string]any, want bool, why string) {
	t.Helper()
	msg, _ := pol["retrain"].(string)
	if pol["retrain_started"] != want || !strings.Contains(msg, why) {
		t.Fatalf("policy block %v: want retrain_started=%v and a reason containing %q", pol, want, why)
	}
}

// TestAutoRetrainOncePerMarketDay: the first Critical check of a day starts
// one retrain; the check after it and every later check that day start none;
// a new market day starts one more.
func TestAutoRetrainOncePerMarketDay(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, 1, true, "100/h")
		pol := r.drift(t, 0, "AAPL")
		started(t, pol, true, "for market day 2024-12-31")
		if pol["market_day"] != "2024-12-31" {
			t.Fatalf("market_day %v", pol["market_day"])
		}
		if n := r.settle(t, "aapl"); n != 1 {
			t.Fatalf("%d trainings after one automatic retrain", n)
		}
		started(t, r.drift(t, 0, "AAPL"), false, "already")
		started(t, r.drift(t, 0, "MSFT"), true, "task msft") // the budget is per model
		r.settle(t, "msft")
		r.py.set(func(m *market) { m.day = "2025-01-02" })
		started(t, r.drift(t, 0, "AAPL"), true, "2025-01-02")
		if n := r.settle(t, "aapl"); n != 3 {
			t.Fatalf("%d trainings, want 3", n)
		}
	})
}

// TestNoRetrainAfterAutomaticRetrain: the check that follows an automatic
// retrain starts none even when the market day moved on during the
// training (a fresh budget); a manual training's check may.
func TestNoRetrainAfterAutomaticRetrain(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, 1, true, "100/h")
		hold := make(chan struct{})
		r.py.set(func(m *market) { m.hold = hold })
		started(t, r.drift(t, 0, "AAPL"), true, "task aapl")
		r.py.set(func(m *market) { m.day, m.hold = "2025-01-02", nil })
		close(hold)
		if n := r.settle(t, "aapl"); n != 1 {
			t.Fatalf("%d trainings: the check after an automatic retrain retrained", n)
		}
		// A manual training's completion is judged like any check: the new day's budget is unspent.
		if _, err := r.svcs[0].forecast.Train(context.Background(), "AAPL", forecast.TrainParams{Force: true}); err != nil {
			t.Fatal(err)
		}
		r.settle(t, "aapl")
		if n := r.settle(t, "aapl"); n != 3 { // its check retrained once, for 2025-01-02 ...
			t.Fatalf("%d trainings after the manual one; want it and one automatic retrain", n)
		}
		select { // ... and that retrain's own check did not
		case m := <-r.checks:
			t.Fatalf("another drift check of %s ran", m)
		case <-time.After(300 * time.Millisecond):
		}
		if n := r.py.trainings(); n != 3 {
			t.Fatalf("%d trainings, want 3", n)
		}
	})
}

// TestAutoRetrainReplicasAgree: two replicas on one store, one market day:
// one retrain between them.
func TestAutoRetrainReplicasAgree(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, 2, true, "100/h")
		hold := make(chan struct{})
		r.py.set(func(m *market) { m.hold = hold })
		a, c := r.drift(t, 0, "AAPL"), r.drift(t, 1, "AAPL")
		close(hold)
		if a["retrain_started"] == c["retrain_started"] {
			t.Fatalf("replicas: %v and %v; want exactly one retrain", a, c)
		}
		if n := r.settle(t, "aapl"); n != 1 {
			t.Fatalf("%d trainings", n)
		}
	})
}

// TestAutoRetrainCountsAgainstTrainingLimit: automatic retrains spend the
// training rate limit as Identity; refused, the day's retrain stays owed.
func TestAutoRetrainCountsAgainstTrainingLimit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		r := newRig(t, b, 1, true, "1/h")
		started(t, r.drift(t, 0, "AAPL"), true, "task aapl")
		r.settle(t, "aapl")
		d, err := r.limiter.Allow(context.Background(), "training", Identity)
		if err != nil || d.Allowed {
			t.Fatalf("the retrain was not counted under %s: %+v, %v", Identity, d, err)
		}
		started(t, r.drift(t, 0, "MSFT"), false, "rate limit")
		if _, err := r.st.Get(context.Background(), budgetPrefix+"MSFT:2024-12-31"); err == nil {
			t.Fatal("a retrain refused by the rate limit spent the day's budget")
		}
		if n := r.py.trainings(); n != 1 {
			t.Fatalf("%d trainings", n)
		}
	})
}

func TestAutoRetrainOff(t *testing.T) {
	r := newRig(t, storetest.Backend{Name: "memory"}, 1, false, "100/h")
	started(t, r.drift(t, 0, "AAPL"), false, "MONITOR_AUTO_RETRAIN=on")
	if n := r.py.trainings(); n != 0 {
		t.Fatalf("%d trainings with automatic retraining off", n)
	}
}
