package pyproc

import (
	"log/slog"
	"testing"

	"stockagent/pybridge"
	"stockagent/pybridge/pybridgetest"
	"stockagent/server/pyapi"
)

// interp is the embedded interpreter the workers' answers are compared with.
var interp *pybridge.Interpreter

const diag = "stockagent.diagnostics:"

func TestMain(m *testing.M) {
	pybridgetest.Main(m, func(python string) (pybridgetest.Stopper, error) {
		var err error
		interp, err = pybridge.Start(pybridge.Config{
			Executable: python,
			Modules:    pyapi.Modules,
			Setup:      pyapi.FuncAttach,
			Logger:     slog.New(slog.DiscardHandler),
		})
		return interp, err
	}, nil)
}
