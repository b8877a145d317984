// Package pybridge is the Go face of the embedded CPython interpreter: start-up,
// a worker pool in three lanes, and calls that send a request to a Python
// function and decode its answer, with Python exceptions as Go errors.
//
// A process has one interpreter. A lane has a fixed number of workers; a call
// holds one for its length and runs on the caller's OS thread with that
// thread's persistent Python thread state, taking the GIL and giving it back
// in one cgo crossing (see pool); the long lane's calls run on threads of its
// own at a lower priority when Config.LongNice is set.
package pybridge

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"stockagent/native"
)

// Default sizes, chosen for a small machine (2 cores): one inference worker
// per core keeps forecasts parallel (torch releases the GIL in its kernels),
// one long-work worker lets training run beside them without taking both
// cores, and one agent worker runs one analysis at a time beside a training.
// DefaultAgentQueue bounds the analyses waiting for it: at about half a
// minute each on such a machine, a fifth one would wait over two minutes,
// longer than a client should be kept without an answer.
const (
	DefaultInferenceWorkers = 2
	DefaultLongWorkers      = 1
	DefaultAgentWorkers     = 1
	DefaultAgentQueue       = 4
	DefaultThreads          = 1
)

// Config describes an interpreter to start. Start reads it once.
type Config struct {
	// Executable is the virtual environment's python; sys.executable is set to
	// it, so site finds the venv and runs its .pth files. Required.
	Executable string
	// Modules are imported once at start-up, in order; Info reports their import times.
	Modules []string
	// Setup, as "module:function", is called once after the imports with
	// {"log_level": n}; it routes Python's logging to the host. Empty: none.
	Setup string
	// ThreadSetup, as "module:function", sets an OS thread's native thread
	// budget: it is called with {"threads": n} before a call of a lane whose
	// budget n differs from the one the thread last had. Empty: none.
	ThreadSetup string
	// InferenceWorkers, LongWorkers and AgentWorkers size the lanes. Zero:
	// the defaults above.
	InferenceWorkers, LongWorkers, AgentWorkers int
	// InferenceThreads, LongThreads and AgentThreads are the native
	// (torch/BLAS, llama.cpp) threads each worker of the lane may use. Zero:
	// DefaultThreads.
	InferenceThreads, LongThreads, AgentThreads int
	// LongNice, when above zero, runs the long lane's calls (trainings,
	// monitoring) on OS threads of their own whose scheduling priority is
	// this much lower (nice), so that on a machine with few cores a training
	// yields the CPU to forecasts instead of sharing it evenly. Zero: its
	// calls run on their callers' threads, as the other lanes' do.
	LongNice int
	// AgentQueue bounds the calls waiting for an agent worker; a call beyond
	// it fails at once with ErrLaneFull. Zero: DefaultAgentQueue. The other
	// lanes do not bound their waiting calls: trainings are bounded by the
	// task manager, inference calls by the HTTP server and their deadlines.
	AgentQueue int
	// Logger receives Python's log records and stdout/stderr. Nil: slog.Default().
	Logger *slog.Logger
	// Metrics receives call counts and timings. Nil: none.
	Metrics Metrics
}

// Info describes a started interpreter, for /health.
type Info struct {
	Version     string             `json:"version"`
	Executable  string             `json:"executable"`
	Prefix      string             `json:"prefix"`
	StartupTime float64            `json:"startup_seconds"`
	ImportTimes map[string]float64 `json:"import_seconds"`
	Workers     map[string]int     `json:"workers"`
	Threads     map[string]int     `json:"threads_per_worker"`
}

// Interpreter is the process's embedded Python. Its methods are safe for
// concurrent use.
type Interpreter struct {
	info  Info
	lanes [len(lanes)]*pool
}

var started atomic.Bool

// Start starts the interpreter, imports cfg.Modules, releases the GIL and
// starts the workers. It fails with ErrStarted when called twice in a process.
func Start(cfg Config) (*Interpreter, error) {
	if cfg.Executable == "" {
		return nil, errors.New("pybridge: Config.Executable is required")
	}
	if _, err := os.Stat(cfg.Executable); err != nil {
		return nil, fmt.Errorf("pybridge: python executable: %w", err)
	}
	if !started.CompareAndSwap(false, true) {
		return nil, ErrStarted
	}
	orDefault := func(n, d int) int { return cmp.Or(max(n, 0), d) }
	sizes := [len(lanes)]struct{ workers, threads, maxWaiting, nice int }{
		Inference: {orDefault(cfg.InferenceWorkers, DefaultInferenceWorkers), orDefault(cfg.InferenceThreads, DefaultThreads), 0, 0},
		Long:      {orDefault(cfg.LongWorkers, DefaultLongWorkers), orDefault(cfg.LongThreads, DefaultThreads), 0, max(cfg.LongNice, 0)},
		Agent:     {orDefault(cfg.AgentWorkers, DefaultAgentWorkers), orDefault(cfg.AgentThreads, DefaultThreads), orDefault(cfg.AgentQueue, DefaultAgentQueue), 0},
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	capThreads(max(sizes[Inference].threads, sizes[Long].threads, sizes[Agent].threads))
	native.SetLogSink(logSink(cfg.Logger))

	t0 := time.Now()
	imports, err := startMain(cfg.Executable, cfg.Modules)
	if err != nil {
		return nil, err
	}
	in := &Interpreter{info: Info{
		StartupTime: time.Since(t0).Seconds(),
		ImportTimes: imports,
		Workers:     map[string]int{},
		Threads:     map[string]int{},
	}}
	funcs := &funcTable{m: map[string]*native.Func{}}
	var setup *native.Func
	if cfg.ThreadSetup != "" {
		if setup, err = funcs.get(cfg.ThreadSetup); err != nil {
			return nil, err
		}
	}
	for lane, s := range sizes {
		in.info.Workers[Lane(lane).String()], in.info.Threads[Lane(lane).String()] = s.workers, s.threads
		budget := native.Budget{Setup: setup, Threads: s.threads}
		if in.lanes[lane], err = newPool(Lane(lane), s.workers, s.maxWaiting, s.nice, budget, funcs, cfg.Metrics); err != nil {
			return nil, fmt.Errorf("pybridge: starting the %s lane: %w", Lane(lane), err)
		}
	}
	if cfg.Setup != "" {
		var sys struct{ Python, Executable, Prefix string }
		req := map[string]int{"log_level": PythonLevel(cfg.Logger)}
		if err := in.Call(context.Background(), Inference, cfg.Setup, req, &sys); err != nil {
			return nil, err
		}
		in.info.Version, in.info.Executable, in.info.Prefix = sys.Python, sys.Executable, sys.Prefix
	}
	return in, nil
}

// capThreads bounds the native thread pools that libraries size from the
// environment when they load (OpenMP, MKL, OpenBLAS); each worker then sets
// its own budget through ThreadSetup. Values a user set are kept. This is the
// one environment write left before Python starts: these variables are read
// by native libraries as torch loads, before any call could carry them, so
// they are not settings of ours (those reach Python through a call).
func capThreads(n int) {
	for _, k := range []string{"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, strconv.Itoa(n))
		}
	}
}

// startMain initialises the interpreter and imports modules on one locked
// thread, then releases the GIL. That thread keeps Python's main thread state,
// so its goroutine stays locked and parked for the life of the process: no
// other goroutine may run on a thread Python knows.
func startMain(executable string, modules []string) (map[string]float64, error) {
	times := map[string]float64{}
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		if err := native.Init(executable); err != nil {
			done <- fmt.Errorf("pybridge: start interpreter: %w", fromNative("init", err))
			select {} // the thread may be half-initialised: never reuse it
		}
		for _, m := range modules {
			t := time.Now()
			if err := native.Import(m); err != nil {
				native.ReleaseMain()
				done <- fmt.Errorf("pybridge: import %s: %w", m, fromNative(m, err))
				select {}
			}
			times[m] = time.Since(t).Seconds()
		}
		native.ReleaseMain()
		done <- nil
		select {}
	}()
	return times, <-done
}

// Info returns what the interpreter reported at start-up.
func (in *Interpreter) Info() Info { return in.info }

// Call sends req, encoded as JSON, to the Python function fn ("module:function")
// on lane, and decodes its JSON answer into resp (nil: ignore it; a
// *json.RawMessage receives the answer's bytes unchecked).
//
// ctx bounds the whole call: while queued it abandons the wait; while running
// it sets a cancel flag that Python checks at its safe points. It cannot stop
// Python code that never checks; such a call runs to its end.
func (in *Interpreter) Call(ctx context.Context, lane Lane, fn string, req, resp any, opts ...CallOption) error {
	var body []byte // a nil request is sent as no bytes, which Python reads as {}
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return fmt.Errorf("pybridge: encode request for %s: %w", fn, err)
		}
	}
	out, err := in.CallRaw(ctx, lane, fn, body, opts...)
	if err != nil || resp == nil {
		return err
	}
	if r, ok := resp.(*json.RawMessage); ok {
		// Taken as it is: the endpoints encode with json or orjson, so the bytes are JSON, and a
		// second scan costs 6 ms per MB (a 100-ticker batch answer is 1 MB).
		*r = out
		return nil
	}
	if err := json.Unmarshal(out, resp); err != nil {
		return fmt.Errorf("pybridge: decode response of %s: %w", fn, err)
	}
	return nil
}

// CallOption changes one call.
type CallOption func(*job)

// WithEvents delivers the events the call sends (stockagent.runtime.progress)
// to f, in order, while the call runs. f runs on the worker's thread with the
// GIL released; it must be quick and must not keep data past its return.
func WithEvents(f func(data []byte)) CallOption {
	return func(j *job) { j.sink = f }
}

// CallRaw is Call without JSON: the Python function receives in as bytes and
// must return bytes. A running call ends when Python returns, even after ctx
// ended, so the caller gets Python's own answer (usually
// stockagent.errors.Cancelled).
func (in *Interpreter) CallRaw(ctx context.Context, lane Lane, fn string, body []byte, opts ...CallOption) ([]byte, error) {
	if lane < 0 || int(lane) >= len(in.lanes) {
		return nil, fmt.Errorf("pybridge: unknown %s", lane)
	}
	j := &job{ctx: ctx, fn: fn, in: body, enqueued: time.Now()}
	for _, o := range opts {
		o(j)
	}
	return in.lanes[lane].call(j)
}

// Shutdown stops the interpreter's lanes. In order: it stops intake (new
// calls, and calls still waiting for a worker, fail with ErrPoolClosed), sets
// nothing on running calls (a caller's context is the way to cancel them),
// and waits for them to end until ctx ends, returning ctx's error if some call
// was still running. It does not finalize Python: finalizing while a call runs
// can block, and the process is about to exit anyway.
func (in *Interpreter) Shutdown(ctx context.Context) error {
	errs := make(chan error, len(in.lanes))
	for _, p := range in.lanes {
		go func() { errs <- p.close(ctx) }()
	}
	var err error
	for range in.lanes {
		err = errors.Join(err, <-errs)
	}
	return err
}
