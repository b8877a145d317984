package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://user:pw@llm:8080/v1":                     "http://REDACTED@llm:8080/v1",
		"redis://:hunter2@10.0.0.5:6379/0":               "redis://REDACTED@10.0.0.5:6379/0",
		"https://llm.example/v1?api_key=sk-1&model=x":    "https://llm.example/v1?api_key=REDACTED&model=x",
		"https://h/p?access_token=abc":                   "https://h/p?access_token=REDACTED",
		"http://llm:8080/v1":                             "http://llm:8080/v1",
		"http://u:p@[bad":                                Mask,
		"postgresql://mlflow:pw@db/mlflow?sslmode=false": "postgresql://REDACTED@db/mlflow?sslmode=false",
	} {
		if got := URL(raw); got != want {
			t.Errorf("URL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// Finding 11: a log line never carries a credential, whether in the message, a string, an
// error or a group.
func TestFinding11LogLinesRedacted(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&buf, nil))).With("url", "redis://:s3cret1@r:6379")
	log.Info("LLM at http://u:s3cret2@llm/v1 is down", "error", errors.New("dial https://x/?token=s3cret3"),
		slog.Group("g", "u", "http://a:s3cret4@b"))
	out := buf.String()
	for _, s := range []string{"s3cret1", "s3cret2", "s3cret3", "s3cret4"} {
		if strings.Contains(out, s) {
			t.Errorf("log line shows %s: %s", s, out)
		}
	}
	if !strings.Contains(out, "llm/v1") {
		t.Errorf("log line lost the address: %s", out)
	}
}
