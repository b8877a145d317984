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
