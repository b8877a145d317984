package pyproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"stockagent/pybridge"
)

// Subprocess runs one Python process per call, the design the embedded
// interpreter replaces: `python -m stockagent.cli <args>`, which imports what
// the command needs, answers one JSON document on stdout and exits. Every
// call pays the interpreter's start-up and the imports (torch among them);
// the benchmarks measure it side by side with the other back-ends.
type Subprocess struct {
	// Python is the virtual environment's python. Required.
	Python string
	// Module is run with python -m. Empty: stockagent.cli.
	Module string
	// Threads caps the process's native (OpenMP, MKL, OpenBLAS) threads, as
	// the embedded lanes do. Zero: pybridge.DefaultThreads.
	Threads int
	// Env is added to the process's environment, after os.Environ().
	Env []string
}

// Usage is what one process cost.
type Usage struct {
	CPU    time.Duration // user + system time, from the kernel's accounting
	MaxRSS int64         // peak resident set size in bytes, sampled while it ran (samplePeakRSS)
}

// Run runs one process with args and returns its stdout and its usage.
// ctx kills the process when it ends. A process that exits non-zero with the
// CLI's error document ({"detail", "error"}) on stdout is a *pybridge.PyError
// whose Type is the class name the CLI prints (e.g. "BadRequest", not the
// qualified name the embedded bridge reports) and whose Traceback holds the
// end of stderr; any other failure is an error with the exit status and
// stderr.
func (s *Subprocess) Run(ctx context.Context, args ...string) ([]byte, Usage, error) {
	if s.Python == "" {
		return nil, Usage{}, errors.New("pyproc: Subprocess.Python is required")
	}
	module := s.Module
	if module == "" {
		module = "stockagent.cli"
	}
	cmd := exec.CommandContext(ctx, s.Python, append([]string{"-m", module}, args...)...) //nolint:gosec // G204: the configured python runs the benchmarked module
	cmd.Env = append(append(os.Environ(), threadEnv(s.Threads)...), s.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, Usage{}, fmt.Errorf("pyproc: start %s: %w", s.Python, err)
	}
	exited := make(chan struct{})
	peak := make(chan int64)
	go func() { peak <- samplePeakRSS(cmd.Process.Pid, exited) }()
	err := cmd.Wait()
	close(exited)
	use := Usage{
		CPU:    cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		MaxRSS: <-peak,
	}
	if err == nil {
		return stdout.Bytes(), use, nil
	}
	name := module + " " + strings.Join(args, " ")
	if ctx.Err() != nil {
		return nil, use, fmt.Errorf("pyproc: %s killed: %w", name, ctx.Err())
	}
	var doc struct{ Detail, Error string }
	if json.Unmarshal(stdout.Bytes(), &doc) == nil && doc.Error != "" {
		return nil, use, &pybridge.PyError{Func: name, Type: doc.Error, Message: doc.Detail, Traceback: lastBytes(stderr.Bytes(), 4096)}
	}
	return nil, use, fmt.Errorf("pyproc: %s: %w; stderr:\n%s", name, err, lastBytes(stderr.Bytes(), 4096))
}

// rssSampleInterval is how often Run reads a child's peak RSS: the child's
// own accounting cannot be used (below), and a Python process's memory grows
// until it exits, so the last sample is within one interval of the end.
const rssSampleInterval = 10 * time.Millisecond

// samplePeakRSS reads the VmHWM of process pid until exited closes and
// returns the largest value seen, in bytes. The rusage of a finished child
// would be simpler but is wrong here: Go starts children with a vfork-style
// clone that shares this process's memory until exec, and Linux carries that
// memory's high-water mark across exec into the child's ru_maxrss, so every
// child would report the parent's peak.
func samplePeakRSS(pid int, exited <-chan struct{}) int64 {
	path := fmt.Sprintf("/proc/%d/status", pid)
	tick := time.NewTicker(rssSampleInterval)
	defer tick.Stop()
	var peak int64
	for {
		if data, err := os.ReadFile(path); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if f := strings.Fields(rest); len(f) > 0 {
						kb, _ := strconv.ParseInt(f[0], 10, 64)
						peak = max(peak, kb*1024)
					}
				}
			}
		}
		select {
		case <-exited:
			return peak
		case <-tick.C:
		}
	}
}

// threadEnv caps a child process's native thread pools at n (zero:
// pybridge.DefaultThreads); the libraries read these variables when they load.
func threadEnv(n int) []string {
	if n <= 0 {
		n = pybridge.DefaultThreads
	}
	v := strconv.Itoa(n)
	return []string{"OMP_NUM_THREADS=" + v, "MKL_NUM_THREADS=" + v, "OPENBLAS_NUM_THREADS=" + v}
}

// lastBytes is the end of b, at most n bytes, as text.
func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
