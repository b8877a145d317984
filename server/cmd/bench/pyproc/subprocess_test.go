package pyproc

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"stockagent/pybridge"
	"stockagent/pybridge/pybridgetest"
	"stockagent/server/pyapi"
)

func TestSubprocessAnswersLikeAWorker(t *testing.T) {
	python, err := pybridgetest.Python()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"DATA_DIR=" + t.TempDir(), "DATA_SOURCE=bundled"}
	sub := &Subprocess{Python: python, Env: env}
	ctx := context.Background()

	out, use, err := sub.Run(ctx, "features", "--ticker", "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	if use.CPU <= 0 || use.MaxRSS < 10<<20 {
		t.Errorf("usage of a python process: %+v", use)
	}
	w, err := StartWorkers(WorkerConfig{Python: python, Modules: pyapi.Modules, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := w.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	want, err := w.CallRaw(ctx, pyapi.FuncFeatures, []byte(`{"ticker":"AAPL"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(out), want) {
		t.Errorf("subprocess answered\n%s\nthe worker\n%s", out, want)
	}

	_, _, err = sub.Run(ctx, "features", "--ticker", "../x")
	var pe *pybridge.PyError
	if !errors.As(err, &pe) || pe.Type != "BadRequest" || !strings.Contains(pe.Message, "ticker") {
		t.Errorf("want the CLI's BadRequest as a *pybridge.PyError, got %v", err)
	}
}

func TestSubprocessFailures(t *testing.T) {
	python, err := pybridgetest.Python()
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = (&Subprocess{Python: python, Module: "stockagent.nowhere"}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "No module named stockagent.nowhere") {
		t.Errorf("want the exit status and stderr, got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := (&Subprocess{Python: python}).Run(ctx, "noop"); !errors.Is(err, context.Canceled) {
		t.Errorf("want context.Canceled, got %v", err)
	}
}
