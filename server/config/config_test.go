package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil), "/venv/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8000 || c.InferenceWorkers != 2 || c.TrainingTimeout != 2*time.Hour || !strings.HasSuffix(c.DataDir, "/.data") {
		t.Fatalf("defaults: %+v", c)
	}
	if c.ModelsDir != c.DataDir+"/models" {
		t.Fatalf("MODELS_DIR defaults to %q, want DATA_DIR/models", c.ModelsDir)
	}
	if c.TrainingNice != 10 {
		t.Errorf("TRAINING_NICE defaults to %d, want 10", c.TrainingNice)
	}
	if c, err := Load(env(map[string]string{"TRAINING_NICE": "0"}), "/venv/bin/python"); err != nil || c.TrainingNice != 0 {
		t.Errorf("TRAINING_NICE=0: %d, %v", c.TrainingNice, err)
	}
	if _, err := Load(env(map[string]string{"TRAINING_NICE": "20"}), "/venv/bin/python"); err == nil || !strings.Contains(err.Error(), "TRAINING_NICE") {
		t.Errorf("TRAINING_NICE=20: %v, want an error naming it", err)
	}
	c, err = Load(env(map[string]string{"MODELS_DIR": "shared/models"}), "/venv/bin/python")
	if err != nil || !strings.HasSuffix(c.ModelsDir, "/shared/models") || !strings.HasPrefix(c.ModelsDir, "/") {
		t.Fatalf("MODELS_DIR=shared/models: %q %v", c.ModelsDir, err)
	}
}

func TestInvalidValuesAreAllReported(t *testing.T) {
	_, err := Load(env(map[string]string{"PORT": "99999", "TRAINING_TIMEOUT": "soon", "LOG_LEVEL": "loud"}), "")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"PORT", "TRAINING_TIMEOUT", "LOG_LEVEL", "PYTHON_EXECUTABLE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}

func TestAccessSettings(t *testing.T) {
	c, err := Load(env(map[string]string{
		"API_KEYS": "a:admin, b ,c:read", "OPEN_ACCESS": "1", "TRUSTED_PROXIES": "10.0.0.0/8,::ffff:192.0.2.1,fd00::/8",
		"HOST": "127.0.0.1",
	}), "/venv/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	want := []APIKey{{"a", "admin"}, {"b", "train"}, {"c", "read"}}
	for i, e := range c.APIKeys {
		if k, err := ParseAPIKey(e); err != nil || k != want[i] {
			t.Errorf("API_KEYS entry %d: %+v %v, want %+v", i+1, k, err, want[i])
		}
	}
	if !c.OpenAccess || c.Exposed() || len(c.TrustedProxies) != 3 || c.TrustedProxies[1].String() != "192.0.2.1/32" {
		t.Fatalf("access settings: %+v", c)
	}
	if c, _ := Load(env(nil), "/venv/bin/python"); !c.Exposed() || !strings.Contains(c.AccessMode(), "protected") {
		t.Fatalf("defaults: exposed %v, mode %q", c.Exposed(), c.AccessMode())
	}
	_, err = Load(env(map[string]string{"API_KEYS": "s3cret:root,x,x,:admin", "TRUSTED_PROXIES": "proxy.local", "OPEN_ACCESS": "maybe"}), "/p")
	for _, want := range []string{`entry 1: role "root"`, "entry 3: the key is listed twice", "entry 4: empty key", `"proxy.local"`, "OPEN_ACCESS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("an error quotes a key: %v", err)
	}
}

func TestRole(t *testing.T) {
	c, err := Load(env(nil), "/p")
	if err != nil || c.Role != RoleAll || !c.TakesWork() || !c.ServesAPI() {
		t.Fatalf("default role: %q %v", c.Role, err)
	}
	c, err = Load(env(map[string]string{"ROLE": "trainer", "REDIS_URL": "redis://r:6379/0"}), "/p")
	if err != nil || !c.TakesWork() || c.ServesAPI() {
		t.Fatalf("trainer: %+v %v", c, err)
	}
	c, err = Load(env(map[string]string{"ROLE": "api", "REDIS_URL": "redis://r:6379/0"}), "/p")
	if err != nil || c.TakesWork() || !c.ServesAPI() {
		t.Fatalf("api: %+v %v", c, err)
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"unknown":           {map[string]string{"ROLE": "worker"}, `ROLE="worker": want all, api, trainer`},
		"api without redis": {map[string]string{"ROLE": "api"}, "ROLE=api needs REDIS_URL"},
		"backtest cost":     {map[string]string{"BACKTEST_COST_BPS": "1001"}, "BACKTEST_COST_BPS=\"1001\": want basis points in [0, 1000]"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(env(tc.env), "/p"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPythonSettingsAreOneMapping(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATA_DIR": "/srv/data", "DATA_SOURCE": " bundled ", "PARENT_EPOCHS": "3", "DRIFT_WINDOW_DAYS": "",
		"REDIS_HOST": "cache", "LLAMA_CPP_BASE_URL": "http://llm:8080/v1", "FINNHUB_API_KEY": "fh", "PORT": "9000",
	}), "/venv/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	got := c.PythonSettings()
	want := map[string]string{
		"DATA_DIR": "/srv/data", "MODELS_DIR": "/srv/data/models", "DATA_SOURCE": "bundled", "PARENT_EPOCHS": "3",
		"REDIS_URL": "redis://cache:6379/0", "LLM_BASE_URL": "http://llm:8080/v1", "FMI_API_KEY": "fh",
		"BACKTEST_COST_BPS": "5",
	}
	if len(got) != len(want) {
		t.Errorf("got %d settings, want %d: %v", len(got), len(want), got)
	}
	for key, v := range want { // old names arrive under their new ones; blank and server-only ones stay out
		if got[key] != v {
			t.Errorf("%s = %q, want %q", key, got[key], v)
		}
	}
}

// The analyst's settings travel in the same mapping: Python reads no environment inside the server.
func TestAnalystSettingsReachPython(t *testing.T) {
	c, err := Load(env(map[string]string{
		"LLM_PROVIDER": "none", "LLM_MODEL": "qwen", "LLM_API_KEY": "k", "AGENT_MAX_TOKENS": " 200 ",
		"AGENT_LLM_CRITIQUE": "on", "NEWS_SOURCE": "yahoo", "NEWS_LIMIT": "3", "LLM_CTX": "",
	}), "/venv/bin/python")
	if err != nil {
		t.Fatal(err)
	}
	got := c.PythonSettings()
	for key, v := range map[string]string{
		"LLM_PROVIDER": "none", "LLM_MODEL": "qwen", "LLM_API_KEY": "k", "AGENT_MAX_TOKENS": "200",
		"AGENT_LLM_CRITIQUE": "on", "NEWS_SOURCE": "yahoo", "NEWS_LIMIT": "3",
	} {
		if got[key] != v {
			t.Errorf("%s = %q, want %q", key, got[key], v)
		}
	}
	if _, ok := got["LLM_CTX"]; ok {
		t.Errorf("a blank LLM_CTX was sent (%q): Python keeps its default only when it is left out", got["LLM_CTX"])
	}
}
