package pybridge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stockagent/pybridge/pybridgetest"
)

// One interpreter per process: every test of this package shares it.
var (
	interp *Interpreter
	logBuf pybridgetest.Buffer
)

const diag = "stockagent.diagnostics:"

// testLongNice is how much lower the long lane's threads run in these tests.
const testLongNice = 5

func TestMain(m *testing.M) {
	pybridgetest.Main(m, func(python string) (pybridgetest.Stopper, error) {
		var err error
		interp, err = Start(Config{
			// Raw names: the bridge is tested on its own (server/pyapi holds them for the server).
			Executable:       python,
			Modules:          []string{"stockagent.entries.system", "stockagent.diagnostics"},
			Setup:            "stockagent.entries.system:attach",
			ThreadSetup:      "stockagent.entries.system:configure_thread",
			InferenceWorkers: 2,
			LongWorkers:      1,
			LongNice:         testLongNice,
			AgentWorkers:     1,
			AgentQueue:       1,
			Logger:           slog.New(slog.NewJSONHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		return interp, err
	}, func() error {
		if _, err := interp.CallRaw(context.Background(), Inference, diag+"echo", nil); !errors.Is(err, ErrPoolClosed) {
			return fmt.Errorf("call after shutdown: want ErrPoolClosed, got %v", err)
		}
		return nil
	})
}

func TestStartTwiceFails(t *testing.T) {
	_, err := Start(Config{Executable: os.Args[0]})
	if !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: want ErrStarted, got %v", err)
	}
}

func TestInterpreterIsTheVenvAndTheLibraryBuiltAgainst(t *testing.T) {
	info := interp.Info()
	python, _ := pybridgetest.Python()
	if !strings.HasPrefix(info.Executable, strings.TrimSuffix(python, "/bin/python")) {
		t.Errorf("sys.executable = %q, want the venv's %q", info.Executable, python)
	}
	if !strings.HasSuffix(info.Prefix, ".venv") {
		t.Errorf("sys.prefix = %q, want the venv (site must have read pyvenv.cfg)", info.Prefix)
	}
	var got struct {
		LibDir  string `json:"libdir"`
		Version string `json:"version"`
		File    string `json:"file"`
	}
	if err := interp.Call(context.Background(), Inference, diag+"interpreter", nil, &got); err != nil {
		t.Fatal(err)
	}
	// stockagent is installed in editable mode: importable only through the venv's .pth file.
	if !strings.Contains(got.File, "pymodules/stockagent") {
		t.Errorf("stockagent imported from %q, want the checkout (editable install)", got.File)
	}
	lib := loadedLibpython(t)
	if !strings.HasPrefix(lib, got.LibDir+"/") {
		t.Errorf("process loaded %s, want the libpython in %s (the interpreter the build used)", lib, got.LibDir)
	}
}

func loadedLibpython(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal("no /proc/self/maps, where the loaded libpython shows:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if p := fields[len(fields)-1]; strings.Contains(p, "libpython3") {
			return p
		}
	}
	t.Fatal("no libpython mapped")
	return ""
}

func TestConcurrentCallsOnBothLanes(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lane := Lane(g % 2)
			for i := range 20 {
				req := map[string]any{"g": g, "i": i, "s": strings.Repeat("x", g)}
				var resp map[string]any
				if err := interp.Call(context.Background(), lane, diag+"echo_json", req, &resp); err != nil {
					errs <- err
					return
				}
				if resp["g"] != float64(g) || resp["i"] != float64(i) || resp["s"] != req["s"] {
					errs <- fmt.Errorf("goroutine %d call %d: got %v", g, i, resp)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// waitLaneBusy waits until every worker of lane is taken by a call, failing tb after 10 s.
func waitLaneBusy(tb testing.TB, lane Lane) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(interp.lanes[lane].workers) != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("the %s lane's workers were not all taken within 10s", lane)
		}
	}
}

// A long call holds its lane's only worker; inference calls must not queue behind it.
func TestLongWorkDoesNotBlockInference(t *testing.T) {
	var longDone atomic.Bool
	longErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		err := interp.Call(ctx, Long, diag+"spin", map[string]any{"seconds": 20}, nil)
		longDone.Store(true)
		longErr <- err
	}()
	waitLaneBusy(t, Long) // the long call holds the lane's only worker, and the GIL

	for i := range 20 {
		var resp map[string]any
		if err := interp.Call(context.Background(), Inference, diag+"echo_json", map[string]int{"i": i}, &resp); err != nil {
			t.Fatal(err)
		}
	}
	if longDone.Load() {
		t.Fatal("the long call ended before the inference calls: the test proved nothing")
	}
	cancel()
	if err := <-longErr; err != nil {
		t.Fatalf("spin stops quietly when cancelled, got %v", err)
	}
}

// An agent run holds the agent lane's only worker: a long call (a training)
// runs at once beside it, one more agent call waits, and the next is refused
// with ErrLaneFull instead of queueing without bound.
func TestFinding09AgentLaneBounded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	running := make(chan error, 2)
	for range 2 { // the first runs, the second waits
		go func() {
			running <- interp.Call(ctx, Agent, diag+"wait_cancelled", map[string]float64{"interval": 0.02, "limit": 60}, nil)
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for interp.lanes[Agent].waiting.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the second agent call never waited")
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := interp.Call(context.Background(), Agent, diag+"echo_json", map[string]int{"i": 1}, nil)
	if !errors.Is(err, ErrLaneFull) || !strings.Contains(err.Error(), "agent lane") {
		t.Fatalf("a call beyond the agent lane's bound: want ErrLaneFull, got %v", err)
	}
	var resp map[string]any
	if err := interp.Call(context.Background(), Long, diag+"echo_json", map[string]int{"i": 2}, &resp); err != nil {
		t.Fatalf("a long call while the agent lane is busy: %v", err)
	}
	cancel()
	for range 2 {
		if err := <-running; err == nil {
			t.Error("a cancelled agent call answered without an error")
		}
	}
}

func TestPythonExceptionArrivesTyped(t *testing.T) {
	cases := map[string]struct {
		kind, wantType string
	}{
		"library error": {"NotFound", "stockagent.errors.NotFound"},
		"builtin":       {"ValueError", "ValueError"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := interp.Call(context.Background(), Inference, diag+"fail", map[string]string{"kind": tc.kind, "message": "no such thing"}, nil)
			var pe *PyError
			if !errors.As(err, &pe) {
				t.Fatalf("want *PyError, got %T %v", err, err)
			}
			if pe.Type != tc.wantType || pe.Message != "no such thing" {
				t.Errorf("got %s: %q", pe.Type, pe.Message)
			}
			if !strings.Contains(pe.Traceback, "diagnostics.py") || !strings.Contains(pe.Traceback, "Traceback") {
				t.Errorf("traceback lacks the raising frame:\n%s", pe.Traceback)
			}
		})
	}
	// The interpreter is still usable.
	if _, err := interp.CallRaw(context.Background(), Inference, diag+"echo", []byte("ok")); err != nil {
		t.Fatal(err)
	}
}

func TestCancelStopsCooperativeLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	// Left running, the loop ends at its 60 s limit and answers without an error; the
	// guard's deadline turns a call that never returns into a clear failure. How fast
	// the cancel lands is BenchmarkCancelCooperativeLoop's to measure.
	guard, stop := context.WithTimeout(context.Background(), 90*time.Second)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- interp.Call(ctx, Long, diag+"wait_cancelled", map[string]float64{"interval": 0.02, "limit": 60}, nil)
	}()
	var err error
	select {
	case err = <-done:
	case <-guard.Done():
		t.Fatal("the cancelled call did not return within 90s: the cancel never reached the loop, nor did its limit end it")
	}
	var pe *PyError
	if !errors.As(err, &pe) || pe.Type != "stockagent.errors.Cancelled" {
		t.Fatalf("want stockagent.errors.Cancelled (a nil error: the loop ran to its limit instead), got %v", err)
	}
	// A later call on the same worker is not cancelled by the earlier cancel: its loop
	// runs to its 0.1 s limit (no deadline of ours, which a slow machine could outrun).
	err = interp.Call(context.Background(), Long, diag+"wait_cancelled", map[string]float64{"interval": 0.02, "limit": 0.1}, nil)
	if err != nil {
		t.Fatalf("a fresh call inherited the previous cancel: %v", err)
	}
}

func TestDeadlineCancels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := interp.Call(ctx, Inference, diag+"wait_cancelled", map[string]float64{"interval": 0.01, "limit": 60}, nil)
	var pe *PyError
	if !errors.As(err, &pe) || pe.Type != "stockagent.errors.Cancelled" {
		t.Fatalf("want Cancelled after the deadline, got %v", err)
	}
}

func TestProgressEventsArriveInOrderWhileRunning(t *testing.T) {
	var returned atomic.Bool
	var got []int
	var lateEvents int
	onEvent := func(data []byte) {
		var ev struct{ I, Of int }
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Errorf("event %q: %v", data, err)
		}
		if returned.Load() {
			lateEvents++
		}
		got = append(got, ev.I)
	}
	err := interp.Call(context.Background(), Long, diag+"count", map[string]any{"n": 50, "delay": 0.002}, nil, WithEvents(onEvent))
	returned.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 || lateEvents > 0 {
		t.Fatalf("got %d events (%d after the call returned), want 50 during it", len(got), lateEvents)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("event %d is %d: out of order", i, v)
		}
	}
}

func TestPythonLoggingAndPrintsReachSlog(t *testing.T) {
	if err := interp.Call(context.Background(), Inference, diag+"count", map[string]any{"n": 2, "log": true}, nil); err != nil {
		t.Fatal(err)
	}
	if err := interp.Call(context.Background(), Inference, diag+"printing", map[string]string{"stdout": "hello-out", "stderr": "hello-err"}, nil); err != nil {
		t.Fatal(err)
	}
	logs := logBuf.String()
	for _, want := range []string{`"msg":"count 1 of 2"`, `"logger":"stockagent.diagnostics"`, `"msg":"hello-out"`, `"msg":"hello-err"`, `"logger":"stderr"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
}

func TestThreadBudgetPerWorker(t *testing.T) {
	var resp struct{ Threads int }
	if err := interp.Call(context.Background(), Inference, diag+"torch_forward", nil, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Threads != DefaultThreads {
		t.Errorf("torch uses %d threads on an inference worker, want %d", resp.Threads, DefaultThreads)
	}
}

func TestBadInput(t *testing.T) {
	cases := map[string]struct {
		fn       string
		body     []byte
		wantType string // a Python exception type, or "" for a Go error
		wantErr  error
	}{
		"no such module":      {fn: "stockagent.nowhere:f", wantType: "ModuleNotFoundError"},
		"no such function":    {fn: diag + "nowhere", wantType: "AttributeError"},
		"not a callable":      {fn: diag + "log", wantType: "TypeError"},
		"malformed name":      {fn: "stockagent.diagnostics.echo", wantErr: ErrBadFunc},
		"undecodable request": {fn: diag + "echo_json", body: []byte("{oops"), wantType: "stockagent.errors.BadRequest"},
		"request not object":  {fn: diag + "echo_json", body: []byte("[1]"), wantType: "stockagent.errors.BadRequest"},
		"response not bytes":  {fn: diag + "not_bytes", wantType: "TypeError"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := interp.CallRaw(context.Background(), Inference, tc.fn, tc.body)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("want %v, got %v", tc.wantErr, err)
				}
				return
			}
			var pe *PyError
			if !errors.As(err, &pe) || pe.Type != tc.wantType {
				t.Fatalf("want %s, got %v", tc.wantType, err)
			}
		})
	}
	t.Run("response not JSON", func(t *testing.T) {
		var resp map[string]any
		err := interp.Call(context.Background(), Inference, diag+"not_json", nil, &resp)
		if err == nil || !strings.Contains(err.Error(), "decode response of "+diag+"not_json") {
			t.Fatalf("want a decode error naming the function, got %v", err)
		}
	})
}

// Memory stays flat: RSS after 200k calls within a few MiB of after 10k.
func TestNoLeakOver200kCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	call := func(n int) {
		events := WithEvents(func([]byte) {})
		for i := range n {
			req := map[string]any{"i": i, "pad": "0123456789abcdef"}
			var resp map[string]any
			opts := []CallOption{}
			if i%10 == 0 {
				opts = append(opts, events) // exercise the handle table too
			}
			if err := interp.Call(context.Background(), Inference, diag+"echo_json", req, &resp, opts...); err != nil {
				t.Fatal(err)
			}
		}
	}
	call(10_000)
	before := rssKiB(t)
	call(190_000)
	after := rssKiB(t)
	t.Logf("RSS after 10k calls: %d KiB, after 200k: %d KiB", before, after)
	if grow := after - before; grow > 8*1024 {
		t.Fatalf("RSS grew by %d KiB over 190k calls", grow)
	}
}

func rssKiB(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal("no /proc/self/status, where the RSS shows:", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// The long lane's calls run on a thread of their own at a lower priority,
// the same thread each time; the inference lane's on their callers' threads,
// whose priority is left as it was.
func TestLongLaneRunsOnItsOwnLowerPriorityThread(t *testing.T) {
	type thread struct {
		NativeID int `json:"native_id"`
		Nice     int `json:"nice"`
	}
	call := func(lane Lane) thread {
		var th thread
		if err := interp.Call(context.Background(), lane, diag+"thread", nil, &th); err != nil {
			t.Fatal(err)
		}
		return th
	}
	base := call(Inference)
	first, second := call(Long), call(Long)
	if first.Nice != min(base.Nice+testLongNice, 19) || second.Nice != first.Nice {
		t.Errorf("long lane nice %d, %d; inference %d; want inference + %d", first.Nice, second.Nice, base.Nice, testLongNice)
	}
	if first.NativeID != second.NativeID || first.NativeID == base.NativeID {
		t.Errorf("long lane threads %d, %d (inference %d): want one thread of its own", first.NativeID, second.NativeID, base.NativeID)
	}
	// Many inference calls from fresh goroutines: none lands on a lowered thread.
	for range 50 {
		if th := call(Inference); th.Nice != base.Nice {
			t.Fatalf("an inference call ran at nice %d, want %d", th.Nice, base.Nice)
		}
	}
}
