// Package pybridgetest holds what tests of the bridge and its users share: the
// project's interpreter, a test binary's run around it, and a log buffer. It does not
// import package pybridge, so the bridge's own tests can use it.
package pybridgetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// shutdownTimeout bounds the interpreter's shutdown after a test binary's tests; the
// lanes are idle by then, so it only matters when a test left a call running.
const shutdownTimeout = 10 * time.Second

// Stopper is what Main shuts down: a *pybridge.Interpreter.
type Stopper interface {
	Shutdown(ctx context.Context) error
}

// Main runs a test binary's tests around one interpreter and exits: start receives the
// venv's python (Python) and starts the interpreter; after m's tests it is shut down
// within shutdownTimeout; then after, when not nil, checks what must hold once it is.
// A failure of any step is printed and makes the exit status 1.
func Main(m *testing.M, start func(python string) (Stopper, error), after func() error) {
	python, err := Python()
	if err != nil {
		fmt.Fprintln(os.Stderr, "these tests need the project's .venv (make setup):", err)
		os.Exit(1)
	}
	interp, err := start(python)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	err = interp.Shutdown(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
		code = 1
	}
	if after != nil {
		if err := after(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Python returns the virtual environment's python: $PYTHON_EXECUTABLE if set,
// else .venv/bin/python in the module root found above the working directory.
func Python() (string, error) {
	if p := os.Getenv("PYTHON_EXECUTABLE"); p != "" {
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, ".venv", "bin", "python")
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// ModuleRoot returns the nearest directory above the working directory that holds go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// Buffer is a bytes.Buffer that loggers on several goroutines may share.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
