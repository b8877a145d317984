package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stockagent/pybridge/pybridgetest"
	"stockagent/server/store"
	"stockagent/server/store/storetest"
)

// Every suite runs against the in-process store and a real Redis.
func eachStore(t *testing.T, f func(t *testing.T, st store.Store)) {
	storetest.Run(t, func(t *testing.T, b storetest.Backend) {
		f(t, b.Open(t))
	})
}

// newManager returns a started Manager: kinds a test registers later are
// registered before anything it submits is claimed.
func newManager(t *testing.T, st store.Store, cfg Config) *Manager {
	t.Helper()
	m := newIdle(t, st, cfg)
	if err := m.Start(bg); err != nil {
		t.Fatal(err)
	}
	return m
}

// newIdle returns a Manager not started yet: a test registers its kinds, then
// starts it.
func newIdle(t *testing.T, st store.Store, cfg Config) *Manager {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m := New(st, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.Shutdown(ctx); err != nil { // tasks a test never released are still running
			t.Logf("shutdown: %v", err)
		}
	})
	return m
}

func wait(t *testing.T, m *Manager, id string) Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := m.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return r
}

func returns(v string) Func {
	return func(ctx context.Context, progress func(json.RawMessage)) (json.RawMessage, error) {
		progress(json.RawMessage(`{"epoch":1}`))
		return json.RawMessage(v), nil
	}
}

// blocker blocks until released or cancelled.
func blocker(release <-chan struct{}) Func {
	return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
		select {
		case <-release:
			return json.RawMessage(`{}`), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

var bg = context.Background()

var kinds atomic.Int64

// submit starts fn as task id under a kind of its own.
func submit(m *Manager, id, after string, fn Func) (Record, bool, error) {
	kind := fmt.Sprintf("kind%d", kinds.Add(1))
	m.Handle(kind, func(json.RawMessage) Func { return fn })
	return m.Submit(bg, Spec{ID: id, Kind: kind, After: after})
}

// mustSubmit is submit for a task the test needs accepted: an error fails the test.
func mustSubmit(t *testing.T, m *Manager, id, after string, fn Func) {
	t.Helper()
	if _, _, err := submit(m, id, after, fn); err != nil {
		t.Fatalf("submit %s: %v", id, err)
	}
}

func TestOneTaskPerID(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{})
		release := make(chan struct{})
		if _, started, err := submit(m, "aapl", "", blocker(release)); !started || err != nil {
			t.Fatal("first submit did not start", err)
		}
		rec, started, _ := submit(m, "aapl", "", returns(`{}`))
		if started || !rec.Active() {
			t.Fatalf("second submit started=%v status=%s", started, rec.Status)
		}
		close(release)
		if r := wait(t, m, "aapl"); r.Status != Completed || r.ElapsedSeconds == nil {
			t.Fatalf("got %+v", r)
		}
		if _, started, _ := submit(m, "aapl", "", returns(`{"v":2}`)); !started {
			t.Fatal("resubmit after completion did not start")
		}
		if r := wait(t, m, "aapl"); string(r.Result) != `{"v":2}` || string(r.Progress) != `{"epoch":1}` {
			t.Fatalf("result %s progress %s", r.Result, r.Progress)
		}
	})
}

func TestChildWaitsForParent(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{})
		release := make(chan struct{})
		mustSubmit(t, m, "parent_training", "", blocker(release))
		var childRan atomic.Bool
		rec, _, _ := submit(m, "aapl", "parent_training", func(context.Context, func(json.RawMessage)) (json.RawMessage, error) {
			childRan.Store(true)
			return json.RawMessage(`{}`), nil
		})
		if rec.Status != Queued || rec.Detail == "" {
			t.Fatalf("child record %+v, want queued with a detail", rec)
		}
		time.Sleep(300 * time.Millisecond)
		if childRan.Load() {
			t.Fatal("child ran before the parent completed")
		}
		close(release)
		if r := wait(t, m, "aapl"); r.Status != Completed || !childRan.Load() {
			t.Fatalf("child %+v", r)
		}
	})
}

func TestParentFailureFailsChild(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{})
		release := make(chan struct{})
		mustSubmit(t, m, "parent_training", "", func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
			<-release
			return nil, errors.New("boom")
		})
		mustSubmit(t, m, "aapl", "parent_training", returns(`{}`))
		close(release)
		if r := wait(t, m, "aapl"); r.Status != Failed || r.FailedAt == nil || !strings.Contains(r.Error, "boom") {
			t.Fatalf("child %+v", r)
		}
	})
}

func TestCancelAndTimeout(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{Timeout: 100 * time.Millisecond})
		mustSubmit(t, m, "slow", "", blocker(make(chan struct{})))
		if r := wait(t, m, "slow"); r.Status != Failed || !strings.Contains(r.Error, "timed out") {
			t.Fatalf("timeout: %+v", r)
		}
		m2 := newManager(t, st, Config{})
		mustSubmit(t, m2, "c", "", blocker(make(chan struct{})))
		if _, err := m2.Cancel(bg, "c"); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, m2, "c"); r.Status != Failed {
			t.Fatalf("cancel: %+v", r)
		}
		if _, err := m2.Cancel(bg, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("cancel unknown: %v", err)
		}
	})
}

func TestBoundedConcurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{MaxRunning: 2})
		var running, peak atomic.Int32
		release := make(chan struct{})
		ids := []string{"a", "b", "c", "d", "e"}
		for _, id := range ids {
			mustSubmit(t, m, id, "", func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
				n := running.Add(1)
				for p := peak.Load(); n > p; p = peak.Load() {
					if peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				return json.RawMessage(`{}`), nil
			})
		}
		for deadline := time.Now().Add(10 * time.Second); running.Load() < 2; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d tasks running after 10s, want 2", running.Load())
			}
		}
		if q, r := m.Counts(); q != 3 || r != 2 {
			t.Errorf("counts queued %d running %d, want 3 and 2", q, r)
		}
		close(release)
		for _, id := range ids {
			wait(t, m, id)
		}
		if peak.Load() != 2 {
			t.Fatalf("peak running %d, want 2", peak.Load())
		}
		if recs, err := m.List(bg); err != nil || len(recs) != 5 {
			t.Fatalf("List: %d records, %v", len(recs), err)
		}
		if n, err := m.Clear(bg); err != nil || n != 5 {
			t.Fatalf("Clear = %d, %v", n, err)
		}
	})
}

// Two managers (two server processes) on one store: one training per id,
// status visible from both, and a cancel sent through either reaches the owner.
func TestTwoProcessesShareTasks(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		a, b := newManager(t, st, Config{}), newManager(t, st, Config{})
		release := make(chan struct{})
		if _, started, _ := submit(a, "aapl", "", blocker(release)); !started {
			t.Fatal("a did not start")
		}
		rec, started, err := submit(b, "aapl", "", returns(`{}`))
		if err != nil || started || !rec.Active() {
			t.Fatalf("b started a duplicate: %v %+v %v", started, rec, err)
		}
		close(release)
		if r := wait(t, b, "aapl"); r.Status != Completed {
			t.Fatalf("b sees %+v", r)
		}
		mustSubmit(t, a, "msft", "", blocker(make(chan struct{})))
		if _, err := b.Cancel(bg, "msft"); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, b, "msft"); r.Status != Failed {
			t.Fatalf("cancel through b: %+v", r)
		}
	})
}

// leaveBehind writes what a process that died (or was paused) while running
// rec leaves in the store: its record, written under its fencing token, the
// task's active key, and a lease that nobody renews.
func leaveBehind(t *testing.T, st store.Store, rec Record, lease time.Duration) {
	t.Helper()
	if ok, err := st.SetNX(bg, lockPrefix+rec.TaskID, []byte("dead/1/x"), lease); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if err := st.Set(bg, activePrefix+rec.TaskID, []byte(rec.RunID), time.Hour); err != nil {
		t.Fatal(err)
	}
	token, err := st.Incr(bg, fencePrefix+rec.TaskID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rec)
	if ok, err := st.CommitFenced(bg, fencePrefix+rec.TaskID, token, recordPrefix+rec.TaskID, b); !ok || err != nil {
		t.Fatalf("record: %v %v", ok, err)
	}
}

// A process that starts on the store of a stopped one (without a shared
// queue, the entries ended with it) puts that process's runs back on its
// LocalQueue: an interrupted run resumes once, as attempt 2 of the same run
// under a newer token once the dead lease lapsed; interrupted again, it fails;
// a queued one starts as it was.
func TestRecoverResumesInterruptedRuns(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		lease := 500 * time.Millisecond
		m := newIdle(t, st, Config{Lease: lease})
		runs := make(chan Run, 3)
		m.Handle("train_child", func(p json.RawMessage) Func {
			if string(p) != `{"epochs":3}` {
				t.Errorf("params of the recovered run: %s", p)
			}
			return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
				runs <- RunOf(ctx)
				return json.RawMessage(`{}`), nil
			}
		})
		rec := Record{TaskID: "nvda", Kind: "train_child", Status: Running, RunID: "r1", Attempt: 1,
			Owner: "ip:1.2.3.4", Worker: "dead/1/x", Params: json.RawMessage(`{"epochs":3}`), CreatedAt: time.Now().UTC()}
		leaveBehind(t, st, rec, lease)
		second := rec
		second.TaskID, second.Attempt = "msft", 2
		leaveBehind(t, st, second, lease)
		queued := rec
		queued.TaskID, queued.Status, queued.Worker = "amzn", Queued, ""
		b, _ := json.Marshal(queued)
		if err := st.Set(bg, recordPrefix+"amzn", b, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(bg); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(bg); err != nil { // a second call adds nothing
			t.Fatal(err)
		}

		if r := wait(t, m, "nvda"); r.Status != Completed || r.Attempt != 2 || r.RunID != "r1" || r.Owner != "ip:1.2.3.4" || r.Worker != m.proc {
			t.Fatalf("the interrupted run: %+v (want attempt 2 of run r1 completed here)", r)
		}
		if r := wait(t, m, "msft"); r.Status != Failed || !strings.HasPrefix(r.Error, "interrupted: ") || r.Attempt != 2 {
			t.Fatalf("after a second interruption: %+v", r)
		}
		if r := wait(t, m, "amzn"); r.Status != Completed || r.Attempt != 1 {
			t.Fatalf("the queued run: %+v", r)
		}
		got := map[string]Run{}
		for len(runs) > 0 {
			run := <-runs
			got[run.TaskID] = run
		}
		if len(got) != 2 || got["nvda"].Attempt != 2 || got["nvda"].Token != 2 || got["amzn"].Attempt != 1 {
			t.Fatalf("the runs that started: %+v (want nvda's attempt 2 under token 2 and amzn's attempt 1)", got)
		}
		if _, err := st.Get(bg, activePrefix+"nvda"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("nvda's active key after its run: %v", err)
		}

		// A live task keeps its lease well past one lease period.
		mustSubmit(t, m, "live", "", blocker(make(chan struct{})))
		for r, _ := m.Get(bg, "live"); r.Status != Running; r, _ = m.Get(bg, "live") {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(3 * lease)
		if v, err := st.Get(bg, lockPrefix+"live"); err != nil || !strings.HasPrefix(string(v), m.proc+"/") {
			t.Fatalf("the lock of a live run after 3 leases: %q %v", v, err)
		}
	})
}

// A draining process hands its running run back: the record says queued, its
// next attempt, and the next process on the store resumes it (Start).
func TestShutdownHandsBackToTheNextStart(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{Lease: 500 * time.Millisecond})
		started := make(chan struct{})
		m.Handle("train_child", func(json.RawMessage) Func {
			return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
				close(started)
				<-ctx.Done()
				return nil, ctx.Err()
			}
		})
		first, _, err := m.Submit(bg, Spec{ID: "aapl", Kind: "train_child"})
		if err != nil {
			t.Fatal(err)
		}
		<-started
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		if err := m.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := m.Get(bg, "aapl")
		if err != nil || r.Status != Queued || r.Attempt != 2 || r.RunID != first.RunID || !strings.Contains(r.Detail, "handed back") {
			t.Fatalf("after the shutdown: %+v %v, want queued, attempt 2 of the same run, handed back", r, err)
		}

		next := newIdle(t, st, Config{Lease: 500 * time.Millisecond})
		resumed := make(chan Run, 1)
		next.Handle("train_child", func(json.RawMessage) Func {
			return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
				resumed <- RunOf(ctx)
				return json.RawMessage(`{}`), nil
			}
		})
		if err := next.Start(bg); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, next, "aapl"); r.Status != Completed || r.Attempt != 2 {
			t.Fatalf("after the restart: %+v", r)
		}
		if run := <-resumed; run.RunID != first.RunID || run.Attempt != 2 {
			t.Fatalf("the resumed run: %+v", run)
		}
	})
}

// Finding 10: a cancel names one run. Run 1 is cancelled through another
// process and finishes before that process's cancel reaches it; the next runs
// of the same task, on either process, are not cancelled by it.
func TestFinding10StaleCancel(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		a, b := newManager(t, st, Config{}), newManager(t, st, Config{})
		release := make(chan struct{})
		first, _, _ := submit(a, "aapl", "", blocker(release))
		rec, err := b.Cancel(bg, "aapl")
		if err != nil || rec.RunID != first.RunID {
			t.Fatalf("cancel through b: %+v %v", rec, err)
		}
		close(release) // run 1 ends before a's next look at the store
		wait(t, a, "aapl")
		for _, m := range []*Manager{a, b} {
			release := make(chan struct{})
			next, started, err := submit(m, "aapl", "", blocker(release))
			if !started || err != nil || next.RunID == first.RunID {
				t.Fatalf("next run: %+v %v %v", next, started, err)
			}
			time.Sleep(2500 * time.Millisecond) // a manager looks for cancels every second
			if r, _ := a.Get(bg, "aapl"); r.Status != Running {
				t.Fatalf("a later run was cancelled by run 1's cancel: %+v", r)
			}
			close(release)
			if r := wait(t, a, "aapl"); r.Status != Completed {
				t.Fatalf("later run: %+v", r)
			}
		}
	})
}

// pausable is one process's view of a shared store: while paused (the process
// is stopped, SIGSTOP) its calls wait.
type pausable struct {
	store.Store
	mu sync.RWMutex // held for writing while paused
}

// gate waits out a pause.
func (p *pausable) gate() {
	p.mu.RLock()
	defer p.mu.RUnlock()
}

func (p *pausable) pause()  { p.mu.Lock() }
func (p *pausable) resume() { p.mu.Unlock() }

func (p *pausable) Get(ctx context.Context, key string) ([]byte, error) {
	p.gate()
	return p.Store.Get(ctx, key)
}

func (p *pausable) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	p.gate()
	return p.Store.Set(ctx, key, val, ttl)
}

func (p *pausable) SetNX(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	p.gate()
	return p.Store.SetNX(ctx, key, val, ttl)
}

func (p *pausable) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	p.gate()
	return p.Store.CompareAndDelete(ctx, key, val)
}

func (p *pausable) CompareAndExpire(ctx context.Context, key string, val []byte, ttl time.Duration) (bool, error) {
	p.gate()
	return p.Store.CompareAndExpire(ctx, key, val, ttl)
}

func (p *pausable) Incr(ctx context.Context, key string, by int64, ttl time.Duration) (int64, error) {
	p.gate()
	return p.Store.Incr(ctx, key, by, ttl)
}

func (p *pausable) CommitFenced(ctx context.Context, fenceKey string, token int64, key string, val []byte) (bool, error) {
	p.gate()
	return p.Store.CommitFenced(ctx, fenceKey, token, key, val)
}

// A process paused past its lease loses its run to another process sharing
// its queue, which claims the silent entry and resumes the run as attempt 2
// under a newer token. Resumed, the paused process cancels its run at once,
// and nothing it writes lands: not its record, not a commit.
func TestLostLeaseFencesTheRun(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		var logs pybridgetest.Buffer
		lease := 600 * time.Millisecond
		q := NewLocalQueue(lease)
		paused := &pausable{Store: st}
		a := newManager(t, paused, Config{Lease: lease, Queue: q, MaxRunning: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		fenced, running := make(chan error, 1), make(chan struct{})
		a.Handle("train_child", func(json.RawMessage) Func {
			return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
				close(running)
				<-ctx.Done() // stopped because the lease was lost
				err := a.Commit(context.WithoutCancel(ctx), "serving:aapl", []byte("a"))
				fenced <- err
				return nil, err
			}
		})
		first, started, err := a.Submit(bg, Spec{ID: "aapl", Kind: "train_child"})
		if !started || err != nil {
			t.Fatal(started, err)
		}
		<-running
		b := newManager(t, st, Config{Lease: lease, Queue: q})
		b.Handle("train_child", func(json.RawMessage) Func {
			return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
				return json.RawMessage(`{"by":"b"}`), b.Commit(ctx, "serving:aapl", []byte("b"))
			}
		})
		paused.pause()
		r := wait(t, b, "aapl")
		paused.resume()
		if r.Status != Completed || string(r.Result) != `{"by":"b"}` || r.Attempt != 2 || r.RunID != first.RunID {
			t.Fatalf("b's run: %+v", r)
		}
		select {
		case err := <-fenced:
			if !errors.Is(err, ErrFenced) || !strings.HasPrefix(err.Error(), "fenced: ") {
				t.Fatalf("a's commit: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a's run did not stop")
		}
		deadline := time.Now().Add(5 * time.Second)
		for q, r := a.Counts(); !strings.Contains(logs.String(), `msg="task run fenced"`) || q+r > 0; q, r = a.Counts() {
			if time.Now().After(deadline) {
				t.Fatalf("a's log: %s", logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if v, _ := st.Get(bg, "serving:aapl"); string(v) != "b" {
			t.Fatalf("serving pointer = %q, want b's", v)
		}
		if r, _ := b.Get(bg, "aapl"); r.Status != Completed || r.Worker != b.proc {
			t.Fatalf("a's final record overwrote b's: %+v", r)
		}
	})
}

// A store that comes back empty (a Redis restarted without persistence) lost the lock and the
// fencing counter, and nobody took the task over: the run that holds it sets both up again
// and goes on, never mistaking its own fresh lock for another process's.
func TestStoreLostLockAndFence(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		lease := 300 * time.Millisecond
		m := newManager(t, st, Config{Lease: lease})
		release, running := make(chan struct{}), make(chan struct{})
		var runs atomic.Int64
		m.Handle("train_child", func(json.RawMessage) Func {
			return func(ctx context.Context, _ func(json.RawMessage)) (json.RawMessage, error) {
				if runs.Add(1) == 1 {
					close(running)
				}
				select {
				case <-release:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return json.RawMessage(`{}`), m.Commit(ctx, "serving:msft", []byte("v"))
			}
		})
		if _, started, err := m.Submit(bg, Spec{ID: "msft", Kind: "train_child"}); !started || err != nil {
			t.Fatal(started, err)
		}
		<-running
		if err := st.Delete(bg, lockPrefix+"msft", fencePrefix+"msft"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * lease) // several renewals meet the empty store
		close(release)
		if r := wait(t, m, "msft"); r.Status != Completed || r.Attempt != 1 || runs.Load() != 1 {
			t.Fatalf("after the store lost the lock and the counter: %d runs, %+v", runs.Load(), r)
		}
		if v, _ := st.Get(bg, "serving:msft"); string(v) != "v" {
			t.Fatalf("serving pointer = %q, want the run's commit", v)
		}
	})
}

// Cancelling a run that no process has claimed (it waits in the queue for a
// slot) and one that waits for its parent: the first fails at once, the second
// hears of the cancel through the store.
func TestCancelQueued(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{MaxRunning: 2})
		runningOn := func(id string) {
			for r, _ := m.Get(bg, id); r.Status != Running; r, _ = m.Get(bg, id) {
				time.Sleep(10 * time.Millisecond)
			}
		}
		mustSubmit(t, m, "busy", "", blocker(make(chan struct{})))
		runningOn("busy")
		// Waiting for busy, the child gives its slot back; busy2 takes it.
		mustSubmit(t, m, "child", "busy", returns(`{}`))
		for r, _ := m.Get(bg, "child"); r.Worker == ""; r, _ = m.Get(bg, "child") {
			time.Sleep(10 * time.Millisecond) // until it is claimed
		}
		mustSubmit(t, m, "busy2", "", blocker(make(chan struct{})))
		runningOn("busy2")
		mustSubmit(t, m, "queued", "", returns(`{}`))
		if q, r := m.Counts(); q != 2 || r != 2 {
			t.Fatalf("counts queued %d running %d, want 2 (the child and the unclaimed entry) and 2", q, r)
		}
		other := newIdle(t, st, Config{}) // cancels only: started, it would queue m's runs again
		for id, want := range map[string]string{"queued": "cancelled while queued", "child": "cancelled while waiting for busy"} {
			if r, _ := m.Get(bg, id); r.Status != Queued {
				t.Fatalf("%s before the cancel: %+v", id, r)
			}
			if _, err := other.Cancel(bg, id); err != nil {
				t.Fatal(err)
			}
			if r := wait(t, other, id); r.Status != Failed || r.Error != want {
				t.Fatalf("%s after the cancel: %+v, want error %q", id, r, want)
			}
		}
	})
}

// gated is a queue whose claims wait until open is closed (the test has
// registered the handlers).
type gated struct {
	*LocalQueue
	open chan struct{}
}

func (g gated) Claim(ctx context.Context) (Delivery, bool, error) {
	select {
	case <-g.open:
		return g.LocalQueue.Claim(ctx)
	case <-ctx.Done():
		return Delivery{}, false, ctx.Err()
	}
}

// One slot, and a child ahead of its parent in the queue (the parent was
// handed back behind it): the child, claimed first, gives the slot to its
// parent while it waits, and both complete, the parent first.
func TestChildBeforeItsParentOnOneSlot(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		q := NewLocalQueue(DefaultLease)
		var parentDone atomic.Bool
		handle := func(m *Manager) {
			m.Handle("train_parent", func(json.RawMessage) Func {
				return func(context.Context, func(json.RawMessage)) (json.RawMessage, error) {
					parentDone.Store(true)
					return json.RawMessage(`{}`), nil
				}
			})
			m.Handle("train_child", func(json.RawMessage) Func {
				return func(context.Context, func(json.RawMessage)) (json.RawMessage, error) {
					if !parentDone.Load() {
						return nil, errors.New("ran before its parent")
					}
					return json.RawMessage(`{}`), nil
				}
			})
		}
		api := newManager(t, st, Config{Queue: q, NoWork: true})
		handle(api)
		for _, s := range []Spec{{ID: "parent_training", Kind: "train_parent"}, {ID: "aapl", Kind: "train_child", After: "parent_training"}} {
			if _, ok, err := api.Submit(bg, s); !ok || err != nil {
				t.Fatal(s.ID, ok, err)
			}
		}
		parent, _, _ := q.Claim(bg)
		child, _, _ := q.Claim(bg)
		if parent.TaskID != "parent_training" || child.TaskID != "aapl" {
			t.Fatalf("claimed %+v then %+v", parent, child)
		}
		_ = q.Requeue(bg, child)
		_ = q.Requeue(bg, parent)

		open := make(chan struct{})
		trainer := newManager(t, st, Config{Queue: gated{q, open}, MaxRunning: 1})
		handle(trainer)
		close(open)
		for _, id := range []string{"parent_training", "aapl"} {
			if r := wait(t, trainer, id); r.Status != Completed {
				t.Fatalf("%s: %+v", id, r)
			}
		}
	})
}

// Two trainers share a queue, one slot each: each claims only what it can
// start, so two trainings run at once, one on each, and a third waits in the
// queue rather than behind a busy trainer.
func TestClaimsBoundedBySlots(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		q := NewLocalQueue(DefaultLease)
		release := make(chan struct{})
		var running atomic.Int32
		work := func(context.Context, func(json.RawMessage)) (json.RawMessage, error) {
			running.Add(1)
			<-release
			return json.RawMessage(`{}`), nil
		}
		open := make(chan struct{})
		var trainers []*Manager
		for range 2 {
			m := newManager(t, st, Config{Queue: gated{q, open}, MaxRunning: 1})
			m.Handle("train_child", func(json.RawMessage) Func { return work })
			trainers = append(trainers, m)
		}
		for _, id := range []string{"aapl", "msft", "nvda"} {
			if _, ok, err := trainers[0].Submit(bg, Spec{ID: id, Kind: "train_child"}); !ok || err != nil {
				t.Fatal(id, ok, err)
			}
		}
		close(open)
		start := time.Now()
		for deadline := start.Add(10 * time.Second); running.Load() < 2; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d trainings running after 10s, want 2", running.Load())
			}
		}
		t.Logf("two trainings running after %s", time.Since(start))
		for i, m := range trainers {
			if _, r := m.Counts(); r != 1 {
				t.Errorf("trainer %d runs %d trainings, want 1", i, r)
			}
		}
		if n := q.Waiting(); n != 1 {
			t.Errorf("%d entries wait in the queue, want 1", n)
		}
		close(release)
		for _, id := range []string{"aapl", "msft", "nvda"} {
			if r := wait(t, trainers[0], id); r.Status != Completed {
				t.Fatalf("%s: %+v", id, r)
			}
		}
	})
}

// A task whose lock is taken but whose first record is not written yet (a durable store's write
// takes milliseconds) is queued to whoever asks meanwhile, never "not found".
func TestLockedBeforeItsRecordIsQueued(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		m := newManager(t, st, Config{})
		if ok, err := st.SetNX(bg, lockPrefix+"msft", []byte("another/run/1"), time.Minute); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if r, err := m.Get(bg, "msft"); err != nil || r.Status != Queued || r.TaskID != "msft" {
			t.Fatalf("Get while its record is being written: %+v, %v", r, err)
		}
		if err := st.Delete(bg, lockPrefix+"msft"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Get(bg, "msft"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a task nobody holds: %v, want ErrNotFound", err)
		}
	})
}

// A process takes no work before Start: an entry already queued when it is
// created waits for the kinds it registers, rather than failing as a run of
// a kind it cannot run.
func TestNoClaimBeforeStart(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		q := NewLocalQueue(time.Second)
		api := newManager(t, st, Config{Queue: q, NoWork: true})
		api.Handle("train_child", func(json.RawMessage) Func { return returns(`{}`) })
		if _, _, err := api.Submit(bg, Spec{ID: "aapl", Kind: "train_child"}); err != nil {
			t.Fatal(err)
		}
		trainer := newIdle(t, st, Config{Queue: q})
		time.Sleep(200 * time.Millisecond) // long enough for a claim loop, had one started
		trainer.Handle("train_child", func(json.RawMessage) Func { return returns(`{}`) })
		if err := trainer.Start(bg); err != nil {
			t.Fatal(err)
		}
		if r := wait(t, trainer, "aapl"); r.Status != Completed {
			t.Fatalf("the run queued before the trainer started: %+v", r)
		}
	})
}

// finisher is a store on which the process that finished a run removes its
// active key just before a submitter does (a race a client meets when it
// submits again the moment it reads "completed").
type finisher struct{ store.Store }

func (f finisher) CompareAndDelete(ctx context.Context, key string, val []byte) (bool, error) {
	if _, err := f.Store.CompareAndDelete(ctx, key, val); err != nil {
		return false, err
	}
	return f.Store.CompareAndDelete(ctx, key, val)
}

// A submission that meets the finished run's key while its process removes
// it starts a new run: nothing is active.
func TestSubmitRightAfterCompletion(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		done := Record{TaskID: "aapl", Kind: "train_child", Status: Completed, RunID: "r1", Attempt: 1, CreatedAt: time.Now().UTC()}
		b, _ := json.Marshal(done)
		if err := st.Set(bg, recordPrefix+"aapl", b, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := st.Set(bg, activePrefix+"aapl", []byte("r1"), time.Hour); err != nil {
			t.Fatal(err)
		}
		m := newManager(t, finisher{st}, Config{})
		m.Handle("train_child", func(json.RawMessage) Func { return returns(`{}`) })
		rec, started, err := m.Submit(bg, Spec{ID: "aapl", Kind: "train_child"})
		if err != nil || !started || rec.RunID == "r1" {
			t.Fatalf("submit after completion: %+v started=%v %v, want a new run started", rec, started, err)
		}
		if r := wait(t, m, "aapl"); r.Status != Completed || r.RunID != rec.RunID {
			t.Fatalf("the new run: %+v", r)
		}
	})
}
