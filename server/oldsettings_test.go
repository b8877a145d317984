package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stockagent/server/servertest"
	"stockagent/server/store/storetest"
)

// The old service's settings start the server (README, "Old names"): REDIS_HOST/REDIS_PORT
// reach the store, LLAMA_CPP_BASE_URL reaches the analyst in Python (through configure, not
// its environment), and each old setting gets one deprecation line in the log.
func TestOldSettingsStartTheServer(t *testing.T) {
	redis := storetest.NewServer(t)
	host, port, _ := net.SplitHostPort(redis.Addr())
	llm := fmt.Sprintf("http://127.0.0.1:%d/v1", servertest.Port(t)) // nothing listens: the status calls nothing
	started := time.Now()
	srv := startServer(t, "", map[string]string{
		"REDIS_HOST": host, "REDIS_PORT": port, "LLAMA_CPP_BASE_URL": llm, "LLM_MODEL": "stub",
		"PYTHON_TIMEOUT": "120", "TRAINING_TIMEOUT": "7200", "QDRANT_PORT": "6333",
		"DATA_SOURCE": "bundled", "NEWS_SOURCE": "none", "MLFLOW_DISABLE": "1",
	})
	t.Logf("healthy after %s", time.Since(started).Round(time.Millisecond))

	status, body := srv.get(t, "/health")
	var health struct {
		Components map[string]map[string]any `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &health); err != nil || status != 200 {
		t.Fatalf("/health: %d %v %.500s", status, err, body)
	}
	if got := health.Components["store"]["backend"]; got != "redis" {
		t.Errorf("store backend %v, want redis (from REDIS_HOST and REDIS_PORT): %.500s", got, body)
	}
	if got := health.Components["llm"]["provider"]; got != "openai-compatible" {
		t.Errorf("llm provider %v, want openai-compatible (from LLAMA_CPP_BASE_URL): %.500s", got, body)
	}
	logs := srv.logs()
	for _, line := range []string{
		"REDIS_HOST and REDIS_PORT: deprecated old names, read as REDIS_URL=redis://" + redis.Addr() + "/0",
		"QDRANT_PORT: deprecated old name, read as QDRANT_URL=http://qdrant:6334 (6333 is Qdrant's REST port",
		"LLAMA_CPP_BASE_URL: deprecated old name, read as LLM_BASE_URL",
		"PYTHON_TIMEOUT: deprecated old name, read as CALL_TIMEOUT=2m0s",
	} {
		if n := strings.Count(logs, line); n != 1 {
			t.Errorf("%q logged %d times, want once", line, n)
		}
	}
	if strings.Contains(logs, "TRAINING_TIMEOUT") {
		t.Error("bare seconds in TRAINING_TIMEOUT were logged as something to fix")
	}
}

// DAGSHUB_* stops start-up with one line naming what to use instead.
func TestOldSettingDagsHubStopsStartUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard: it fails before Python starts
	defer cancel()
	cmd := exec.CommandContext(ctx, servertest.Binary(t))
	py, _ := filepath.Abs("../.venv/bin/python") // so that the refusal is the only error
	cmd.Env = []string{"DATA_DIR=" + t.TempDir(), "PYTHON_EXECUTABLE=" + py, "DAGSHUB_TOKEN=tok-123", "DAGSHUB_REPO_NAME=repo"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("want exit status 1, got %v (%v):\n%s", err, ctx.Err(), out)
	}
	text := strings.TrimSpace(string(out))
	if strings.Count(text, "\n") != 0 || !strings.Contains(text, "DAGSHUB_REPO_NAME and DAGSHUB_TOKEN") ||
		!strings.Contains(text, "MLFLOW_TRACKING_URI") || strings.Contains(text, "tok-123") {
		t.Fatalf("want one line naming MLFLOW_TRACKING_URI and not the token:\n%s", text)
	}
}
