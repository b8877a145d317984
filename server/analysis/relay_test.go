package analysis

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

	"github.com/redis/go-redis/v9"

	"stockagent/pybridge"
	"stockagent/server/queue"
	"stockagent/server/store/storetest"
)

// relayFixture is a Relay on a test Redis with its own keys, and a runner
// serving it with fn until the test ends.
func relayFixture(t *testing.T, timeout time.Duration, fn RunFunc) (*Relay, *redis.Client) {
	t.Helper()
	url, prefix := storetest.StartRedis(t), storetest.KeyPrefix(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(consumer string) *Relay {
		r, err := OpenRelay(context.Background(), url, prefix, consumer, time.Minute, timeout, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	api := open("api")
	if fn != nil {
		runner := open("runner")
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); runner.Serve(ctx, 2, fn) }()
		t.Cleanup(func() { stop(); <-done })
	}
	opts, _ := redis.ParseURL(url)
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return api, c
}

// until polls cond (hang guard: ctx) and logs how long it took.
func until(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("never: %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond))
}

func TestRelayAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api, _ := relayFixture(t, time.Minute, func(_ context.Context, body json.RawMessage, _ Raw) (json.RawMessage, error) {
		return json.Marshal(map[string]json.RawMessage{"echo": body})
	})
	answer, fresh, err := api.Do(ctx, "k", json.RawMessage(`{"ticker":"AAPL"}`), nil)
	if err != nil || !fresh {
		t.Fatalf("Do: %s, fresh %t, %v", answer, fresh, err)
	}
	if string(answer) != `{"echo":{"ticker":"AAPL"}}` {
		t.Fatalf("answer %s", answer)
	}
	// The run is over: the same analysis again is a new run.
	if _, fresh, err := api.Do(ctx, "k", json.RawMessage(`{}`), nil); err != nil || !fresh {
		t.Fatalf("a second run after the first ended: fresh %t, %v", fresh, err)
	}
}

// A run's progress events reach its waiter through the reply stream, in
// order and before the answer, and a waiter that joins late reads them from
// the start.
func TestRelayForwardsProgress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	release := make(chan struct{})
	api, _ := relayFixture(t, time.Minute, func(_ context.Context, _ json.RawMessage, emit Raw) (json.RawMessage, error) {
		for i := range 3 {
			emit([]byte(fmt.Sprintf(`{"event":"token","node":"writer","text":"%d"}`, i)))
		}
		<-release
		return json.RawMessage(`{"ok":true}`), nil
	})
	type got struct {
		events []string
		answer string
	}
	read := func(out chan<- got) {
		var g got
		var mu sync.Mutex
		answer, _, err := api.Do(ctx, "k", json.RawMessage(`{}`), func(data []byte) {
			mu.Lock()
			g.events = append(g.events, string(data))
			mu.Unlock()
		})
		if err != nil {
			t.Error(err)
		}
		g.answer = string(answer)
		out <- g
	}
	first, late := make(chan got, 1), make(chan got, 1)
	go read(first)
	time.Sleep(300 * time.Millisecond) // the first waiter's run is under way when the second joins
	go read(late)
	time.Sleep(300 * time.Millisecond)
	close(release)
	want := `{"event":"token","node":"writer","text":"0"} {"event":"token","node":"writer","text":"1"} {"event":"token","node":"writer","text":"2"}`
	for name, c := range map[string]chan got{"first": first, "late": late} {
		g := <-c
		if strings.Join(g.events, " ") != want || g.answer != `{"ok":true}` {
			t.Errorf("%s waiter: events %q, answer %s", name, g.events, g.answer)
		}
	}
}

func TestRelayErrorsKeepTheirKind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errs := map[string]error{
		"thread": ErrThreadNotFound,
		"lane":   pybridge.ErrLaneFull,
		"late":   ErrTimeout,
		"other":  errors.New("boom"),
	}
	api, _ := relayFixture(t, time.Minute, func(_ context.Context, body json.RawMessage, _ Raw) (json.RawMessage, error) {
		var name string
		_ = json.Unmarshal(body, &name)
		return nil, errs[name]
	})
	for name, want := range errs {
		body, _ := json.Marshal(name)
		_, _, err := api.Do(ctx, name, body, nil)
		if name == "other" {
			want = errRemote
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", name, err, want)
		}
	}
}

// Two identical analyses, submitted while the first runs, share one run.
func TestRelaySharesARun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var runs atomic.Int32
	release := make(chan struct{})
	var api *Relay
	var c *redis.Client
	api, c = relayFixture(t, time.Minute, func(ctx context.Context, _ json.RawMessage, _ Raw) (json.RawMessage, error) {
		runs.Add(1)
		select {
		case <-release:
			return json.RawMessage(`{"ok":true}`), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	var wg sync.WaitGroup
	fresh := make([]bool, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answer, f, err := api.Do(ctx, "same", json.RawMessage(`{}`), nil)
			if err != nil || string(answer) != `{"ok":true}` {
				t.Errorf("waiter %d: %s, %v", i, answer, err)
			}
			fresh[i] = f
		}()
	}
	until(ctx, t, "two waiters on one run", func() bool {
		keys, _, _ := c.Scan(ctx, 0, "*:waiters", 1000).Result()
		return len(keys) == 1 && c.ZCard(ctx, keys[0]).Val() == 2 && runs.Load() == 1
	})
	close(release)
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
	if fresh[0] == fresh[1] {
		t.Fatalf("fresh %v: exactly one waiter submits the run", fresh)
	}
}

// A run whose every waiter has gone is cancelled, with ErrNoWaiter as cause.
func TestRelayCancelsAnAbandonedRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started, cause := make(chan struct{}), make(chan error, 1)
	api, _ := relayFixture(t, time.Minute, func(ctx context.Context, _ json.RawMessage, _ Raw) (json.RawMessage, error) {
		close(started)
		<-ctx.Done() // hang guard: the run's own ANALYZE_TIMEOUT
		cause <- context.Cause(ctx)
		return nil, ctx.Err()
	})
	clientCtx, leave := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, _, err := api.Do(clientCtx, "k", json.RawMessage(`{}`), nil); errc <- err }()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the run never started")
	}
	start := time.Now()
	leave()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the client that left: %v", err)
	}
	select {
	case err := <-cause:
		if !errors.Is(err, ErrNoWaiter) {
			t.Fatalf("run ended by %v, want ErrNoWaiter", err)
		}
		t.Logf("run cancelled %s after its last waiter left", time.Since(start).Round(time.Millisecond))
	case <-ctx.Done():
		t.Fatal("the abandoned run was never cancelled")
	}
}

// Without any process that takes work, a waiter gives up after
// ANALYZE_TIMEOUT with ErrTimeout (a 504), not never.
func TestRelayWithoutRunner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api, _ := relayFixture(t, time.Second, nil)
	if _, _, err := api.Do(ctx, "k", json.RawMessage(`{}`), nil); !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
}

// A runner that dies with a run leaves its entry pending: another runner
// reclaims it after the lease and the waiter, still there, gets its reply.
func TestRelayReclaimsADeadRunnersRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, prefix := storetest.StartRedis(t), storetest.KeyPrefix(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const lease = time.Second
	api, err := OpenRelay(ctx, url, prefix, "api", lease, time.Minute, log)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	// The dead runner: it claims the run and never answers or renews it.
	dead, err := queue.Open(ctx, url, prefix+RelayStream, "dead", lease)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	errc := make(chan error, 1)
	go func() {
		answer, _, err := api.Do(ctx, "k", json.RawMessage(`{}`), nil)
		if err == nil && string(answer) != `{"ok":true}` {
			err = errors.New("answer " + string(answer))
		}
		errc <- err
	}()
	for {
		_, ok, err := dead.Claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
	}
	runner, err := OpenRelay(ctx, url, prefix, "runner", lease, time.Minute, log)
	if err != nil {
		t.Fatal(err)
	}
	defer runner.Close()
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runner.Serve(serveCtx, 1, func(context.Context, json.RawMessage, Raw) (json.RawMessage, error) {
			return json.RawMessage(`{"ok":true}`), nil
		})
	}()
	defer func() { stop(); <-done }()
	start := time.Now()
	if err := <-errc; err != nil {
		t.Fatalf("the waiter of a reclaimed run: %v", err)
	}
	t.Logf("answered by the second runner %s after it started", time.Since(start).Round(time.Millisecond))
}
