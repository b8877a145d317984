package pyproc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stockagent/pybridge"
	"stockagent/pybridge/pybridgetest"
	"stockagent/server/pyapi"
)

// startWorkers starts a pool over the diagnostics module, its Python logs
// (INFO and up) in the returned buffer; the pool is shut down when the test ends.
func startWorkers(t *testing.T, processes int) (*Workers, *pybridgetest.Buffer) {
	t.Helper()
	python, err := pybridgetest.Python()
	if err != nil {
		t.Fatal(err)
	}
	logs := &pybridgetest.Buffer{}
	w, err := StartWorkers(WorkerConfig{
		Python:    python,
		Modules:   pyapi.Modules,
		Processes: processes,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return w, logs
}

// waitFor polls cond until it holds or ten seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

// longCall starts a call that logs a line a tick and runs until ctx ends,
// and returns once it is running in Python, with a channel for its error.
func longCall(t *testing.T, w *Workers, logs *pybridgetest.Buffer, ctx context.Context) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		errc <- w.Call(ctx, diag+"count", map[string]any{"n": 100000, "delay": 0.01, "log": true}, nil)
	}()
	waitFor(t, "the long call to run", func() bool { return strings.Contains(logs.String(), "count 0 of 100000") })
	return errc
}

func gone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }

func TestWorkerAnswersAndErrorsMatchTheEmbeddedInterpreter(t *testing.T) {
	w, _ := startWorkers(t, 1)
	ctx := context.Background()
	if out, err := w.CallRaw(ctx, diag+"echo", []byte("\x00raw\xffbytes")); err != nil || string(out) != "\x00raw\xffbytes" {
		t.Fatalf("echo: %q %v", out, err)
	}
	var resp struct{ Ticker string }
	if err := w.Call(ctx, diag+"echo_json", map[string]string{"ticker": "AAPL"}, &resp); err != nil || resp.Ticker != "AAPL" {
		t.Fatalf("echo_json: %+v %v", resp, err)
	}

	cases := map[string]struct {
		fn   string
		body []byte
	}{
		"library error":       {fn: diag + "fail", body: []byte(`{"kind":"NotFound","message":"no such thing"}`)},
		"builtin error":       {fn: diag + "fail", body: []byte(`{"message":"no such thing"}`)},
		"no such module":      {fn: "stockagent.nowhere:f"},
		"no such function":    {fn: diag + "nowhere"},
		"not a callable":      {fn: diag + "log"},
		"undecodable request": {fn: diag + "echo_json", body: []byte("{oops")},
		"response not bytes":  {fn: diag + "not_bytes"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, want := interp.CallRaw(ctx, pybridge.Inference, tc.fn, tc.body)
			_, got := w.CallRaw(ctx, tc.fn, tc.body)
			var pw, pg *pybridge.PyError
			if !errors.As(want, &pw) || !errors.As(got, &pg) {
				t.Fatalf("want *pybridge.PyError from both, got embedded %v, worker %v", want, got)
			}
			if pg.Type != pw.Type || pg.Message != pw.Message || pg.Func != tc.fn {
				t.Errorf("worker %s %s: %q, embedded %s: %q", pg.Func, pg.Type, pg.Message, pw.Type, pw.Message)
			}
			if !strings.HasPrefix(pg.Traceback, "Traceback") {
				t.Errorf("traceback: %q", pg.Traceback)
			}
		})
	}
	var pe *pybridge.PyError
	if _, err := w.CallRaw(ctx, "stockagent.diagnostics.echo", nil); !errors.As(err, &pe) || !strings.Contains(pe.Message, `"module:function"`) {
		t.Errorf("malformed name: want Python's refusal, got %v", err)
	}
	if err := w.Call(ctx, diag+"not_json", nil, &resp); err == nil || !strings.Contains(err.Error(), "decode response of "+diag+"not_json") {
		t.Errorf("want a decode error naming the function, got %v", err)
	}
}

func TestWorkerThatDiesIsReportedAndReplaced(t *testing.T) {
	w, logs := startWorkers(t, 1)
	ctx := context.Background()

	t.Run("during a call", func(t *testing.T) {
		pid := w.PIDs()[0]
		errc := longCall(t, w, logs, ctx)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := <-errc
		if !errors.Is(err, ErrWorkerDied) || !strings.Contains(err.Error(), "signal: killed") {
			t.Fatalf("want ErrWorkerDied with the exit status, got %v", err)
		}
		if out, err := w.CallRaw(ctx, diag+"echo", []byte("after")); err != nil || string(out) != "after" {
			t.Fatalf("the next call: %q %v", out, err)
		}
		if now := w.PIDs(); len(now) != 1 || now[0] == pid {
			t.Fatalf("pids after the restart: %v (killed %d)", now, pid)
		}
	})

	t.Run("between calls", func(t *testing.T) {
		pid := w.PIDs()[0]
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the killed worker to be reaped", func() bool { return gone(pid) })
		if out, err := w.CallRaw(ctx, diag+"echo", []byte("after")); err != nil || string(out) != "after" {
			t.Fatalf("the next call: %q %v", out, err)
		}
		if !strings.Contains(logs.String(), "python worker exited between calls") {
			t.Errorf("the death was not logged:\n%s", logs)
		}
	})
}

func TestWorkerCancelKillsTheCall(t *testing.T) {
	w, logs := startWorkers(t, 1)
	pid := w.PIDs()[0]
	ctx, cancel := context.WithCancel(context.Background())
	errc := longCall(t, w, logs, ctx)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if !gone(pid) {
		t.Errorf("worker %d still runs after its call was cancelled", pid)
	}
	if _, err := w.CallRaw(context.Background(), diag+"echo", nil); err != nil {
		t.Fatalf("the next call: %v", err)
	}
}

func TestWorkerCallsAreSerialisedPerProcessAndPooled(t *testing.T) {
	t.Run("no cross-talk between concurrent callers", func(t *testing.T) {
		w, _ := startWorkers(t, 1)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 25 {
					var out struct{ G, I int }
					if err := w.Call(context.Background(), diag+"echo_json", map[string]int{"g": g, "i": i}, &out); err != nil || out.G != g || out.I != i {
						t.Errorf("caller %d call %d got %+v, %v", g, i, out, err)
						return
					}
				}
			})
		}
		wg.Wait()
	})

	for _, processes := range []int{1, 2} {
		t.Run(fmt.Sprintf("a second call while one runs, %d processes", processes), func(t *testing.T) {
			w, logs := startWorkers(t, processes)
			ctx, cancel := context.WithCancel(context.Background())
			errc := longCall(t, w, logs, ctx)
			defer func() { cancel(); <-errc }() //nolint:errcheck // cancelled: the first call's error is expected

			// One process: the second call waits, so a short deadline ends it before it starts.
			// Two: it runs beside the first, however slow the machine (a hang guard only), and
			// the first is still running when it returns.
			limit := 500 * time.Millisecond
			if processes == 2 {
				limit = 30 * time.Second
			}
			second, stop := context.WithTimeout(context.Background(), limit)
			defer stop()
			_, err := w.CallRaw(second, diag+"echo", []byte("x"))
			if processes == 1 && (!errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not started")) {
				t.Fatalf("one process: the second call should wait for the first, got %v", err)
			}
			if processes == 2 {
				if err != nil {
					t.Fatalf("two processes: the second call should run beside the first, got %v", err)
				}
				if len(errc) > 0 {
					t.Fatal("the first call ended before the second returned")
				}
			}
		})
	}
}

func TestWorkerShutdownAndStartFailure(t *testing.T) {
	w, _ := startWorkers(t, 2)
	pids := w.PIDs()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// Shutdown again at cleanup: the pool is already closed, which must be harmless too.
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("worker %d outlived Shutdown", pid)
		}
	}
	if _, err := w.CallRaw(context.Background(), diag+"echo", nil); !errors.Is(err, pybridge.ErrPoolClosed) {
		t.Errorf("call after Shutdown: want ErrPoolClosed, got %v", err)
	}

	python, _ := pybridgetest.Python()
	_, err := StartWorkers(WorkerConfig{Python: python, Modules: []string{"stockagent.nowhere"}, Logger: slog.New(slog.DiscardHandler)})
	var pe *pybridge.PyError
	if !errors.As(err, &pe) || pe.Type != "ModuleNotFoundError" {
		t.Fatalf("want a ModuleNotFoundError at start-up, got %v", err)
	}
}
