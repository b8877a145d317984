package config

import (
	"strings"
	"testing"
	"time"
)

// load is Load of env with a python path, failing the test on an error.
func load(t *testing.T, m map[string]string) Config {
	t.Helper()
	c, err := Load(env(m), "/p")
	if err != nil {
		t.Fatalf("%v: %v", m, err)
	}
	return c
}

// oneLine checks that c has exactly one deprecation line and that it holds every want.
func oneLine(t *testing.T, c Config, want ...string) string {
	t.Helper()
	if len(c.Deprecations) != 1 {
		t.Fatalf("want one deprecation line, got %d: %q", len(c.Deprecations), c.Deprecations)
	}
	line := c.Deprecations[0]
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("deprecation line %q lacks %q", line, w)
		}
	}
	if strings.Contains(line, "\n") {
		t.Errorf("deprecation line spans lines: %q", line)
	}
	return line
}

func TestOldSettingsNoneNoLines(t *testing.T) {
	if c := load(t, nil); len(c.Deprecations) != 0 || c.RedisURL != "" || c.QdrantURL != "" || c.LLMBaseURL != "" || c.FMIAPIKey != "" {
		t.Fatalf("defaults: %q %+v", c.Deprecations, c)
	}
}

func TestOldSettingRedisHostPort(t *testing.T) {
	c := load(t, map[string]string{"REDIS_HOST": "redis", "REDIS_PORT": "6380", "ROLE": "api"})
	if c.RedisURL != "redis://redis:6380/0" {
		t.Fatalf("REDIS_URL = %q", c.RedisURL)
	}
	oneLine(t, c, "REDIS_HOST and REDIS_PORT", "deprecated", "REDIS_URL=redis://redis:6380/0")

	// Each half alone takes the old default for the other.
	if c := load(t, map[string]string{"REDIS_HOST": "cache.internal"}); c.RedisURL != "redis://cache.internal:6379/0" {
		t.Errorf("REDIS_HOST alone: %q", c.RedisURL)
	} else {
		oneLine(t, c, "REDIS_HOST:", "REDIS_URL")
	}
	if c := load(t, map[string]string{"REDIS_PORT": "7000"}); c.RedisURL != "redis://localhost:7000/0" {
		t.Errorf("REDIS_PORT alone: %q", c.RedisURL)
	}
	if c := load(t, map[string]string{"REDIS_HOST": "fd00::5"}); c.RedisURL != "redis://[fd00::5]:6379/0" {
		t.Errorf("an IPv6 REDIS_HOST: %q", c.RedisURL)
	}
}

func TestOldSettingQdrantHostPort(t *testing.T) {
	c := load(t, map[string]string{"QDRANT_HOST": "vectors", "QDRANT_PORT": "6333"})
	if c.QdrantURL != "http://vectors:6334" {
		t.Fatalf("QDRANT_URL = %q", c.QdrantURL)
	}
	oneLine(t, c, "QDRANT_HOST and QDRANT_PORT", "QDRANT_URL=http://vectors:6334", "6333 is Qdrant's REST port", "gRPC")

	// The old default port is the REST one: a host alone maps to gRPC too.
	if c := load(t, map[string]string{"QDRANT_HOST": "vectors"}); c.QdrantURL != "http://vectors:6334" {
		t.Errorf("QDRANT_HOST alone: %q", c.QdrantURL)
	}
	// Another port is taken as it is, and the line says how.
	c = load(t, map[string]string{"QDRANT_PORT": "7334"})
	if c.QdrantURL != "http://qdrant:7334" {
		t.Errorf("QDRANT_PORT=7334: %q", c.QdrantURL)
	}
	oneLine(t, c, "QDRANT_PORT:", "port 7334 taken as Qdrant's gRPC port")
}

func TestOldSettingLlamaCppBaseURL(t *testing.T) {
	c := load(t, map[string]string{"LLAMA_CPP_BASE_URL": "http://user:s3cret@llama:8080/v1"})
	if c.LLMBaseURL != "http://user:s3cret@llama:8080/v1" {
		t.Fatalf("LLM_BASE_URL = %q", c.LLMBaseURL)
	}
	if line := oneLine(t, c, "LLAMA_CPP_BASE_URL", "LLM_BASE_URL"); strings.Contains(line, "s3cret") {
		t.Errorf("the line quotes the URL's password: %q", line)
	}
}

func TestOldSettingPythonTimeout(t *testing.T) {
	c := load(t, map[string]string{"PYTHON_TIMEOUT": "120"})
	if c.CallTimeout != 120*time.Second {
		t.Fatalf("CALL_TIMEOUT = %v", c.CallTimeout)
	}
	oneLine(t, c, "PYTHON_TIMEOUT", "CALL_TIMEOUT=2m0s")
	if c := load(t, map[string]string{"PYTHON_TIMEOUT": "90s"}); c.CallTimeout != 90*time.Second {
		t.Errorf("PYTHON_TIMEOUT=90s: %v", c.CallTimeout)
	}
}

func TestOldSettingNewNameWins(t *testing.T) {
	c := load(t, map[string]string{
		"REDIS_URL": "redis://new:6379/1", "REDIS_HOST": "old",
		"QDRANT_URL": "http://new:6334", "QDRANT_PORT": "6333",
		"LLM_BASE_URL": "http://new:8080/v1", "LLAMA_CPP_BASE_URL": "http://old:8080/v1",
		"CALL_TIMEOUT": "30s", "PYTHON_TIMEOUT": "120",
	})
	if c.RedisURL != "redis://new:6379/1" || c.QdrantURL != "http://new:6334" || c.LLMBaseURL != "http://new:8080/v1" || c.CallTimeout != 30*time.Second {
		t.Fatalf("an old name won: %+v", c)
	}
	if len(c.Deprecations) != 4 {
		t.Fatalf("want one line per old setting, got %q", c.Deprecations)
	}
	for i, want := range []string{"REDIS_URL is set and wins", "QDRANT_URL is set and wins", "LLM_BASE_URL is set and wins", "CALL_TIMEOUT is set and wins"} {
		if !strings.Contains(c.Deprecations[i], want) || !strings.Contains(c.Deprecations[i], "ignored") {
			t.Errorf("line %d %q lacks %q", i, c.Deprecations[i], want)
		}
	}
	// An old value that would be refused on its own is ignored, not an error.
	if c := load(t, map[string]string{"REDIS_URL": "redis://new:6379/1", "REDIS_PORT": "many"}); c.RedisURL != "redis://new:6379/1" {
		t.Errorf("REDIS_URL lost to a broken REDIS_PORT: %q", c.RedisURL)
	}
}

func TestOldSettingBadValues(t *testing.T) {
	for name, tc := range map[string]struct{ env, want string }{
		"port":        {"REDIS_PORT", `REDIS_PORT="70000": want a port`},
		"host is url": {"REDIS_HOST", `REDIS_HOST="redis://x": want a host name`},
		"qdrant port": {"QDRANT_PORT", `QDRANT_PORT="rest": want a port`},
		"timeout":     {"PYTHON_TIMEOUT", `PYTHON_TIMEOUT="soon"`},
	} {
		value := map[string]string{"REDIS_PORT": "70000", "REDIS_HOST": "redis://x", "QDRANT_PORT": "rest", "PYTHON_TIMEOUT": "soon"}[tc.env]
		if _, err := Load(env(map[string]string{tc.env: value}), "/p"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestOldSettingBareSeconds(t *testing.T) {
	c := load(t, map[string]string{
		"TRAINING_TIMEOUT": "7200", "CALL_TIMEOUT": "45", "SHUTDOWN_TIMEOUT": "5", "PREDICTION_CACHE_TTL": "3600",
		"TASK_LEASE": "10", "SEMANTIC_CACHE_MAX_AGE": "60", "ANALYZE_TIMEOUT": "300", "MONITOR_INTERVAL": "21600",
	})
	got := []time.Duration{c.TrainingTimeout, c.CallTimeout, c.ShutdownTimeout, c.PredictionCacheTTL, c.TaskLease, c.SemanticMaxAge, c.AnalyzeTimeout, c.MonitorInterval}
	want := []time.Duration{2 * time.Hour, 45 * time.Second, 5 * time.Second, time.Hour, 10 * time.Second, time.Minute, 5 * time.Minute, 6 * time.Hour}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("duration %d: %v, want %v", i, got[i], want[i])
		}
	}
	if len(c.Deprecations) != 0 {
		t.Errorf("bare seconds are no old name: %q", c.Deprecations)
	}
	if c := load(t, map[string]string{"MONITOR_INTERVAL": "0"}); c.MonitorInterval != 0 {
		t.Errorf("MONITOR_INTERVAL=0 is off, got %v", c.MonitorInterval)
	}
	for _, v := range []string{"-5", "99999999999999", "1.5"} {
		if _, err := Load(env(map[string]string{"TRAINING_TIMEOUT": v}), "/p"); err == nil || !strings.Contains(err.Error(), "TRAINING_TIMEOUT") {
			t.Errorf("TRAINING_TIMEOUT=%s: %v", v, err)
		}
	}
}

func TestOldSettingFinnhubAPIKey(t *testing.T) {
	c := load(t, map[string]string{"FINNHUB_API_KEY": "fh-key"})
	if c.FMIAPIKey != "fh-key" || len(c.Deprecations) != 0 {
		t.Fatalf("FINNHUB_API_KEY: key %q, lines %q", c.FMIAPIKey, c.Deprecations)
	}
	if c := load(t, map[string]string{"FMI_API_KEY": "fmi-key"}); c.FMIAPIKey != "fmi-key" {
		t.Errorf("FMI_API_KEY: %q", c.FMIAPIKey)
	}
	if c := load(t, map[string]string{"FMI_API_KEY": "same", "FINNHUB_API_KEY": "same"}); c.FMIAPIKey != "same" || len(c.Deprecations) != 0 {
		t.Errorf("both, equal: %q %q", c.FMIAPIKey, c.Deprecations)
	}
	c = load(t, map[string]string{"FMI_API_KEY": "fmi-key", "FINNHUB_API_KEY": "fh-key"})
	if c.FMIAPIKey != "fmi-key" {
		t.Errorf("both, different: %q, want FMI_API_KEY's", c.FMIAPIKey)
	}
	if line := oneLine(t, c, "FMI_API_KEY is used"); strings.Contains(line, "fh-key") || strings.Contains(line, "fmi-key") {
		t.Errorf("the line quotes a key: %q", line)
	}
}

func TestOldSettingDagsHubRefused(t *testing.T) {
	_, err := Load(env(map[string]string{"DAGSHUB_USER_NAME": "me", "DAGSHUB_TOKEN": "tok-123"}), "/p")
	if err == nil {
		t.Fatal("DAGSHUB_* accepted")
	}
	msg := err.Error()
	for _, want := range []string{"DAGSHUB_USER_NAME and DAGSHUB_TOKEN", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_PASSWORD"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "tok-123") {
		t.Errorf("want one line that quotes no token: %q", msg)
	}
	if _, err := Load(env(map[string]string{"DAGSHUB_REPO_NAME": "r", "MLFLOW_TRACKING_URI": "http://mlflow:5000"}), "/p"); err == nil {
		t.Error("DAGSHUB_REPO_NAME beside MLFLOW_TRACKING_URI accepted")
	}
}
