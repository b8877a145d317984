package pyproc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"stockagent/pybridge"
	"stockagent/pybridge/pybridgetest"
)

// interp is the embedded interpreter the workers' answers are compared with.
var interp *pybridge.Interpreter

const diag = "stockagent.diagnostics:"

func TestMain(m *testing.M) {
	python, err := pybridgetest.Python()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pyproc tests need the project's .venv (make setup):", err)
		os.Exit(1)
	}
	interp, err = pybridge.Start(pybridge.Config{
		Executable: python,
		Modules:    []string{"stockagent.runtime", "stockagent.diagnostics"},
		Setup:      "stockagent.runtime:attach",
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := interp.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
		code = 1
	}
	os.Exit(code)
}
