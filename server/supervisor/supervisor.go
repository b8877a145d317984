// Package supervisor restarts the server after a crash. The interpreter runs inside the
// server process by design, so a segfault in Python ends it; with SUPERVISE=on the binary
// runs itself as a child process (a fresh exec, before any interpreter starts: the
// supervising parent never starts Python, so nothing forks an initialised interpreter)
// and starts it again, with a growing backoff, whenever it dies by a signal or a non-zero
// exit. SIGINT and SIGTERM are passed to the child, and the supervisor stops once the
// child has shut down.
package supervisor

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Defaults of Config.
const (
	// DefaultBackoff is the wait before the first restart; it doubles on each crash up to
	// DefaultMaxBackoff, and starts over once a child has run for DefaultStable.
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 30 * time.Second
	DefaultStable     = time.Minute
	// DefaultMaxQuickExits is how many children in a row may die before DefaultStable
	// (a crash loop: a port taken, a broken data folder) before the supervisor gives up
	// with the last child's status, as systemd's start limit does.
	DefaultMaxQuickExits = 5
)

// Enabled reads SUPERVISE: on, true or 1; off, false, 0 or unset.
func Enabled(getenv func(string) string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv("SUPERVISE"))); v {
	case "on", "true", "1":
		return true, nil
	case "", "off", "false", "0":
		return false, nil
	default:
		return false, fmt.Errorf("SUPERVISE=%q: want on or off", v)
	}
}

// Config is what Run supervises. Zero fields take the defaults above; Path, Args and Env
// default to this binary, its arguments and its environment.
type Config struct {
	Path          string
	Args          []string
	Env           []string
	Logger        *slog.Logger
	Backoff       time.Duration
	MaxBackoff    time.Duration
	Stable        time.Duration
	MaxQuickExits int
}

// Run starts the child and keeps it running until it exits with status 0 or a SIGINT or
// SIGTERM arrives (passed on to the child, whose shutdown Run waits for). It returns the
// exit status for the supervisor: 0 after a clean stop, else the last child's.
func Run(c Config) int {
	c = c.withDefaults()
	stop := make(chan os.Signal, 2)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(stop)
	// Pdeathsig ties the child's life to the thread that started it: keep that thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	backoff, quick := c.Backoff, 0
	for restarts := 0; ; restarts++ {
		cmd := exec.Command(c.Path, c.Args...)                //nolint:gosec,noctx // the server's own binary (G204), stopped by signal, not by a context
		cmd.Env = append(slices.Clip(c.Env), "SUPERVISE=off") // the child serves; c.Env stays as it is
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
		// If the supervisor itself is killed, the child is told to shut down.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		started := time.Now()
		if err := cmd.Start(); err != nil {
			c.Logger.Error("server not started", "error", err)
			return 1
		}
		c.Logger.Info("server started", "pid", cmd.Process.Pid, "restarts", restarts)
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()

		select {
		case sig := <-stop:
			return c.stopChild(cmd, exited, sig, stop)
		case <-exited:
		}
		st := cmd.ProcessState
		if st.Success() {
			c.Logger.Info("server exited", "pid", cmd.Process.Pid)
			return 0
		}
		if time.Since(started) >= c.Stable {
			backoff, quick = c.Backoff, 0
		}
		if quick++; quick > c.MaxQuickExits {
			c.Logger.Error("server keeps dying; giving up", "pid", cmd.Process.Pid, "how", st.String(), "quick_exits", quick)
			return exitStatus(st)
		}
		c.Logger.Error("server died; restarting", "pid", cmd.Process.Pid, "how", st.String(), "after", backoff)
		select {
		case sig := <-stop:
			c.Logger.Info("stopping", "signal", sig.String())
			return 0
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.MaxBackoff)
	}
}

// stopChild passes sig (and any signal after it) to the child and waits for it to end.
func (c Config) stopChild(cmd *exec.Cmd, exited <-chan struct{}, sig os.Signal, more <-chan os.Signal) int {
	c.Logger.Info("stopping the server", "signal", sig.String(), "pid", cmd.Process.Pid)
	for {
		_ = cmd.Process.Signal(sig)
		select {
		case <-exited:
			// Killed by the signal itself is a clean stop too: a server still starting has
			// not yet installed its handler.
			st := cmd.ProcessState
			if ws, ok := st.Sys().(syscall.WaitStatus); !st.Success() && (!ok || !ws.Signaled() || ws.Signal() != sig) {
				c.Logger.Warn("server stopped", "how", st.String())
				return exitStatus(st)
			}
			c.Logger.Info("stopped")
			return 0
		case sig = <-more:
		}
	}
}

func (c Config) withDefaults() Config {
	if c.Path == "" {
		if exe, err := os.Executable(); err == nil {
			c.Path = exe
		} else {
			c.Path = os.Args[0]
		}
		if c.Args == nil {
			c.Args = os.Args[1:]
		}
	}
	if c.Env == nil {
		c.Env = os.Environ()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.Stable <= 0 {
		c.Stable = DefaultStable
	}
	if c.MaxQuickExits <= 0 {
		c.MaxQuickExits = DefaultMaxQuickExits
	}
	return c
}

// exitStatus is the status a shell would report for st: 128+n for signal n.
func exitStatus(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if code := st.ExitCode(); code > 0 {
		return code
	}
	return 1
}
