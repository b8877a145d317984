// Package pybridgetest holds what tests of the bridge and its users share: the
// project's interpreter and a log buffer.
package pybridgetest

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
)

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
