package pyproc

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"stockagent/pybridge"
)

// The other way to reach Python without cgo, which the benchmarks compare
// with the embedded interpreter: persistent worker processes
// (python -m stockagent.worker) that keep their imports warm and answer
// length-prefixed frames over their stdin and stdout. The protocol is
// documented in pymodules/stockagent/worker.py.

// DefaultWorkerStartTimeout bounds a worker's start-up: the interpreter plus
// the imports (torch alone takes seconds on a small machine).
const DefaultWorkerStartTimeout = 2 * time.Minute

// ErrWorkerDied is wrapped by errors of calls whose worker process exited or
// broke the protocol. The call's work may or may not have been done; the next
// call starts a fresh process.
var ErrWorkerDied = errors.New("pyproc: worker process died")

// Frame kinds (worker.py).
const (
	frameCall  = 'c'
	frameReady = 'r'
	frameOK    = 'o'
	frameError = 'e'
)

// maxFrame is worker.py's MAX_FRAME: a longer length means a corrupt stream.
const maxFrame = 1 << 30

// WorkerConfig describes a pool of worker processes. StartWorkers reads it once.
type WorkerConfig struct {
	// Python is the virtual environment's python. Required.
	Python string
	// Modules are imported by each process before it reports ready, so
	// start-up costs are paid before the first call.
	Modules []string
	// Processes is the number of worker processes; each runs one call at a
	// time, and a call waits for a free one. Zero: 1.
	Processes int
	// Threads caps each process's native (OpenMP, MKL, OpenBLAS) threads,
	// as the embedded lanes do. Zero: pybridge.DefaultThreads.
	Threads int
	// Env is added to the processes' environment, after os.Environ().
	Env []string
	// StartTimeout bounds each process's start-up. Zero: DefaultWorkerStartTimeout.
	StartTimeout time.Duration
	// Logger receives each line the processes write to stderr (Python's
	// logging, at the level its line starts with; anything else at Warn, as
	// the embedded interpreter logs stderr). Nil: slog.Default().
	Logger *slog.Logger
}

// Workers is a pool of persistent Python worker processes. Its methods are
// safe for concurrent use: each process serves one call at a time, and calls
// beyond the number of processes wait for one to be free.
type Workers struct {
	cfg  WorkerConfig
	idle chan *workerSlot // a call takes a slot and gives it back
	quit chan struct{}    // closed when Shutdown begins

	shutdownOnce sync.Once
	shutdownErr  error
}

// workerSlot holds one process at a time; proc is nil after a death until
// the next call starts a new one. Only the caller holding the slot touches it.
type workerSlot struct {
	proc *workerProc
}

// StartWorkers starts cfg.Processes workers and waits until each has
// imported cfg.Modules. A worker that cannot start fails the whole pool; an
// import error comes back as a *pybridge.PyError.
func StartWorkers(cfg WorkerConfig) (*Workers, error) {
	if cfg.Python == "" {
		return nil, errors.New("pyproc: WorkerConfig.Python is required")
	}
	cfg.Processes = max(cfg.Processes, 1)
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultWorkerStartTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Workers{cfg: cfg, idle: make(chan *workerSlot, cfg.Processes), quit: make(chan struct{})}
	slots := make([]*workerSlot, cfg.Processes)
	errs := make([]error, cfg.Processes)
	var wg sync.WaitGroup
	for i := range slots {
		slots[i] = &workerSlot{}
		wg.Go(func() { slots[i].proc, errs[i] = w.start() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, s := range slots {
			if s.proc != nil {
				s.proc.kill()
			}
		}
		return nil, err
	}
	for _, s := range slots {
		w.idle <- s
	}
	return w, nil
}

// CallRaw sends body to the Python function fn ("module:function") in a free
// worker and returns its answer bytes.
//
// ctx bounds the wait for a worker and the call. Unlike the embedded
// interpreter, a running call can be stopped: when ctx ends, its process is
// killed (the call returns ctx's error; one whose ctx ends just as Python
// answers is reported cancelled too) and the next call starts a new one.
// A Python exception (a malformed fn included) is a *pybridge.PyError; a
// process that dies during the call is an error wrapping ErrWorkerDied. A call that finds its process gone (it
// died between calls) starts a new one first, imports included.
func (w *Workers) CallRaw(ctx context.Context, fn string, body []byte) ([]byte, error) {
	var s *workerSlot
	select {
	case <-w.quit:
		return nil, pybridge.ErrPoolClosed
	default:
	}
	select {
	case s = <-w.idle:
	case <-w.quit:
		return nil, pybridge.ErrPoolClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("pyproc: %s not started: %w", fn, ctx.Err())
	}
	defer func() { w.idle <- s }()
	if err := ctx.Err(); err != nil { // both were ready and the slot won: start nothing
		return nil, fmt.Errorf("pyproc: %s not started: %w", fn, err)
	}

	if s.proc != nil && s.proc.exited() {
		w.cfg.Logger.Warn("python worker exited between calls; starting another", "pid", s.proc.pid, "error", s.proc.exitErr())
		s.proc = nil
	}
	if s.proc == nil {
		var err error
		if s.proc, err = w.start(); err != nil {
			return nil, err
		}
	}
	p := s.proc
	stop := context.AfterFunc(ctx, func() { p.kill() })
	out, err := p.call(fn, body)
	killed := !stop()
	switch {
	case killed:
		s.proc = nil
		<-p.done
		return nil, fmt.Errorf("pyproc: %s cancelled, worker process %d killed: %w", fn, p.pid, ctx.Err())
	case errors.Is(err, ErrWorkerDied):
		s.proc = nil
		p.kill()
		<-p.done
		return nil, fmt.Errorf("%w; %s", err, p.describeExit())
	}
	return out, err
}

// Call is CallRaw with JSON: req is encoded (nil: an empty request, which
// Python reads as {}) and the answer decoded into resp (nil: ignored).
func (w *Workers) Call(ctx context.Context, fn string, req, resp any) error {
	var body []byte
	if req != nil {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return fmt.Errorf("pyproc: encode request for %s: %w", fn, err)
		}
	}
	out, err := w.CallRaw(ctx, fn, body)
	if err != nil || resp == nil {
		return err
	}
	if err := json.Unmarshal(out, resp); err != nil {
		return fmt.Errorf("pyproc: decode response of %s: %w", fn, err)
	}
	return nil
}

// PIDs returns the process ids of the live workers, for measurements from
// /proc. It takes every worker in turn, so it waits for running calls to
// end: call it between calls.
func (w *Workers) PIDs() []int {
	var pids []int
	slots := make([]*workerSlot, 0, w.cfg.Processes)
	for range w.cfg.Processes {
		s := <-w.idle
		slots = append(slots, s)
		if s.proc != nil && !s.proc.exited() {
			pids = append(pids, s.proc.pid)
		}
	}
	for _, s := range slots {
		w.idle <- s
	}
	return pids
}

// Shutdown stops the pool. In order: it stops intake (new calls, and calls
// still waiting for a worker, fail with pybridge.ErrPoolClosed), waits until
// ctx ends for running calls to finish, closes each worker's stdin so it exits
// cleanly, and kills those still running when ctx ends. Later calls return
// the first one's result.
func (w *Workers) Shutdown(ctx context.Context) error {
	w.shutdownOnce.Do(func() { w.shutdownErr = w.shutdown(ctx) })
	return w.shutdownErr
}

func (w *Workers) shutdown(ctx context.Context) error {
	close(w.quit)
	var procs []*workerProc
	for range w.cfg.Processes {
		select {
		case s := <-w.idle:
			if s.proc != nil {
				procs = append(procs, s.proc)
			}
		case <-ctx.Done():
			return fmt.Errorf("pyproc: worker shutdown with calls still running: %w", ctx.Err())
		}
	}
	for _, p := range procs {
		p.stdin.Close()
	}
	var err error
	for _, p := range procs {
		select {
		case <-p.done:
		case <-ctx.Done():
			p.kill()
			<-p.done
			err = fmt.Errorf("pyproc: worker %d killed at shutdown: %w", p.pid, ctx.Err())
		}
	}
	return err
}

// workerProc is one running python -m stockagent.worker.
type workerProc struct {
	pid    int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Writer // over stdin
	in     *bufio.Reader // over stdout
	done   chan struct{} // closed once the process has exited and been reaped
	err    error         // cmd.Wait's answer; read after done
	stderr *tail
}

func (w *Workers) start() (*workerProc, error) {
	args := append([]string{"-m", "stockagent.worker", "--log-level", strconv.Itoa(pybridge.PythonLevel(w.cfg.Logger))}, w.cfg.Modules...)
	cmd := exec.Command(w.cfg.Python, args...) //nolint:gosec,noctx // the configured python (G204); it outlives calls and stops when stdin closes, not by a context
	cmd.Env = append(append(os.Environ(), threadEnv(w.cfg.Threads)...), w.cfg.Env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("pyproc: worker stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("pyproc: worker stdout: %w", err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("pyproc: worker stderr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pyproc: start worker %s: %w", w.cfg.Python, err)
	}
	p := &workerProc{
		pid: cmd.Process.Pid, cmd: cmd, stdin: stdin,
		out: bufio.NewWriter(stdin), in: bufio.NewReaderSize(stdout, 64<<10),
		done: make(chan struct{}), stderr: &tail{max: 20},
	}
	logs := make(chan struct{})
	go func() {
		p.stderr.copyLines(stderr, w.cfg.Logger.With("source", "python-worker", "pid", p.pid))
		close(logs)
	}()
	go func() {
		<-logs // Wait closes the pipes: read stderr to its end first
		p.err = cmd.Wait()
		close(p.done)
	}()

	timer := time.AfterFunc(w.cfg.StartTimeout, p.kill)
	kind, payload, err := p.readFrame()
	timedOut := !timer.Stop()
	switch {
	case timedOut:
		err = fmt.Errorf("pyproc: worker did not start within %s (imports %v)", w.cfg.StartTimeout, w.cfg.Modules)
	case err != nil:
		p.kill()
		<-p.done
		err = fmt.Errorf("pyproc: start worker: %w; %s", err, p.describeExit())
	case kind == frameError:
		err = fmt.Errorf("pyproc: worker start-up: %w", pyErrorFrom("stockagent.worker", payload))
	case kind != frameReady:
		err = fmt.Errorf("pyproc: worker sent frame %q before ready", kind)
	}
	if err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

// call sends one call frame and reads its answer.
func (p *workerProc) call(fn string, body []byte) ([]byte, error) {
	size := 1 + len(fn) + 1 + len(body)
	if size > maxFrame {
		return nil, fmt.Errorf("pyproc: request for %s is %d bytes, over the %d-byte frame limit", fn, len(body), maxFrame)
	}
	var head [5]byte
	binary.BigEndian.PutUint32(head[:4], uint32(size))
	head[4] = frameCall
	// A bufio.Writer keeps its first write error and Flush returns it.
	_, _ = p.out.Write(head[:])
	_, _ = p.out.WriteString(fn)
	_ = p.out.WriteByte(0)
	_, _ = p.out.Write(body)
	if err := p.out.Flush(); err != nil {
		return nil, fmt.Errorf("%w: sending %s: %w", ErrWorkerDied, fn, err)
	}
	kind, payload, err := p.readFrame()
	if err != nil {
		return nil, fmt.Errorf("%w: during %s: %w", ErrWorkerDied, fn, err)
	}
	switch kind {
	case frameOK:
		return payload, nil
	case frameError:
		return nil, pyErrorFrom(fn, payload)
	}
	return nil, fmt.Errorf("%w: answered %s with a frame of kind %q", ErrWorkerDied, fn, kind)
}

func (p *workerProc) readFrame() (byte, []byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(p.in, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n == 0 || n > maxFrame {
		return 0, nil, fmt.Errorf("corrupt frame length %d", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(p.in, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

// kill ends the process; an error means it has exited already, which done reports.
func (p *workerProc) kill() { _ = p.cmd.Process.Kill() }

func (p *workerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *workerProc) exitErr() error {
	if !p.exited() {
		return nil
	}
	return p.err
}

// describeExit says how a process that has exited ended and what it last
// wrote to stderr.
func (p *workerProc) describeExit() string {
	status := "exit status 0"
	if err := p.exitErr(); err != nil {
		status = err.Error()
	}
	if last := p.stderr.String(); last != "" {
		return fmt.Sprintf("worker %d: %s; last stderr:\n%s", p.pid, status, last)
	}
	return fmt.Sprintf("worker %d: %s", p.pid, status)
}

// pyErrorFrom decodes an error frame's payload.
func pyErrorFrom(fn string, payload []byte) error {
	var e struct{ Type, Message, Traceback string }
	if err := json.Unmarshal(payload, &e); err != nil {
		return fmt.Errorf("%w: unreadable error frame for %s: %w", ErrWorkerDied, fn, err)
	}
	return &pybridge.PyError{Func: fn, Type: e.Type, Message: e.Message, Traceback: e.Traceback}
}

// tail logs each line of a stream and keeps the last max lines for error
// messages.
type tail struct {
	max   int
	mu    sync.Mutex // guards lines
	lines []string
}

// Python's level names, as worker.py starts each log line with one.
var pythonLevels = map[string]slog.Level{
	"DEBUG": slog.LevelDebug, "INFO": slog.LevelInfo, "WARNING": slog.LevelWarn,
	"ERROR": slog.LevelError, "CRITICAL": slog.LevelError,
}

func (t *tail) copyLines(r io.Reader, log *slog.Logger) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		level := slog.LevelWarn
		if name, rest, ok := strings.Cut(line, " "); ok {
			if l, known := pythonLevels[name]; known {
				level, line = l, rest
			}
		}
		log.Log(context.Background(), level, line)
		t.mu.Lock()
		t.lines = append(t.lines, sc.Text())
		if len(t.lines) > t.max {
			t.lines = t.lines[1:]
		}
		t.mu.Unlock()
	}
	// A line longer than the buffer: drain, so the process never blocks on stderr.
	// A read error means the pipe closed: nothing is left to drain.
	_, _ = io.Copy(io.Discard, r)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
