package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stockagent/server/servertest"
)

// Python's settings reach it as one mapping the server read (configure), and Python's settings
// model refuses a bad one: start-up stops with a line naming the variable and the reason. The
// analyst's settings are among them.
func TestBadPythonSettingStopsStartUp(t *testing.T) {
	for setting, want := range map[string]string{
		"PARENT_EPOCHS=0":  "setting PARENT_EPOCHS='0' is invalid: Input should be greater than or equal to 1",
		"LLM_PROVIDER=gpt": "setting LLM_PROVIDER='gpt' is invalid: Input should be 'llama-cpp', 'openai-compatible' or 'none'",
	} {
		t.Run(setting, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard: Python starts, then refuses
			defer cancel()
			cmd := exec.CommandContext(ctx, servertest.Binary(t))
			py, _ := filepath.Abs("../.venv/bin/python")
			cmd.Env = []string{"DATA_DIR=" + t.TempDir(), "PYTHON_EXECUTABLE=" + py, "PORT=" + strconv.Itoa(servertest.Port(t)), setting}
			started := time.Now()
			out, err := cmd.CombinedOutput()
			t.Logf("exited after %s", time.Since(started).Round(time.Millisecond))
			var exit *exec.ExitError
			if ctx.Err() != nil || !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("want exit status 1, got %v (%v):\n%s", err, ctx.Err(), out)
			}
			if text := string(out); !strings.Contains(text, "configuring Python") || !strings.Contains(text, want) {
				t.Fatalf("want the refusal %q:\n%s", want, text)
			}
		})
	}
}
