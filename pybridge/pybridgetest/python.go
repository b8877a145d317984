// Package pybridgetest finds the project's interpreter for tests that embed it.
package pybridgetest

import (
	"os"
	"path/filepath"
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
