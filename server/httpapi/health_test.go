package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"stockagent/server/store"
)

// downStore is a store whose ping fails with an error that names its URL, password included.
type downStore struct{ store.Store }

func (downStore) Ping(context.Context) error {
	return errors.New("dial redis://default:s3cret@10.0.0.5:6379/0: connection refused")
}

// Finding 11: anonymous callers learn only whether the service and each component are up;
// admins see versions and errors, never a credential.
func TestFinding11HealthRedaction(t *testing.T) {
	app, _, _ := newTestApp(t, func(d *Deps) {
		d.APIKeys = []string{"admin-key:admin"} // a caller without it is anonymous, not admin
		d.Store = downStore{d.Store}
	})
	status, anon, _ := request(t, app, "GET", "/health", "", nil)
	raw, _ := json.Marshal(anon)
	if status != 200 || anon["status"] != "degraded" {
		t.Fatalf("anonymous /health: %d %s", status, raw)
	}
	if len(anon) != 2 || anon["components"] == nil {
		t.Errorf("anonymous /health has more than status and components: %s", raw)
	}
	for name, c := range anon["components"].(map[string]any) {
		if comp := c.(map[string]any); len(comp) != 1 || comp["status"] == nil {
			t.Errorf("anonymous /health shows component %s as %v, want only its status", name, comp)
		}
	}
	for _, leak := range []string{"10.0.0.5", "s3cret", Version, "3.11-fake"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("anonymous /health shows %q: %s", leak, raw)
		}
	}

	_, admin, _ := request(t, app, "GET", "/health", "", map[string]string{"X-API-Key": "admin-key"})
	raw, _ = json.Marshal(admin)
	if admin["version"] != Version || !strings.Contains(string(raw), "3.11-fake") || !strings.Contains(string(raw), "10.0.0.5") {
		t.Errorf("admin /health lacks the details: %s", raw)
	}
	if strings.Contains(string(raw), "s3cret") {
		t.Errorf("admin /health shows the password: %s", raw)
	}
}

// An error answer never carries a credential either.
func TestFinding11ErrorDetailRedacted(t *testing.T) {
	app, _, _ := newTestApp(t)
	status, body, h := request(t, app, "POST", "/predict-child", `{"ticker":"LEAK"}`, nil)
	detail, _ := body["detail"].(string)
	if status != 503 || strings.Contains(detail, "s3cret") || !strings.Contains(detail, "llm:8080") {
		t.Errorf("POST /predict-child: %d %q, want 503 naming the server without its password", status, detail)
	}
	if h["Retry-After"] == "" {
		t.Error("a 503 without Retry-After")
	}
}

// ROLE=trainer serves the probes alone; every other path answers 404 naming the role.
func TestProbesOnly(t *testing.T) {
	app, _, _ := newTestApp(t, func(d *Deps) { d.ProbesOnly = true })
	if status, body, _ := request(t, app, "GET", "/health", "", nil); status != 200 || body["status"] != "healthy" {
		t.Fatalf("/health on a trainer: %d %v", status, body)
	}
	for _, path := range []string{"/", "/status/aapl", "/train-parent"} {
		status, body, _ := request(t, app, "POST", path, "{}", nil)
		if detail, _ := body["detail"].(string); status != 404 || !strings.Contains(detail, "ROLE=trainer") {
			t.Errorf("POST %s on a trainer: %d %v, want 404 naming the role", path, status, body)
		}
	}
}

// A draining process fails readiness first: /health answers 503 "draining".
func TestHealthDraining(t *testing.T) {
	draining := false
	app, _, _ := newTestApp(t, func(d *Deps) { d.Draining = func() bool { return draining } })
	if status, _, _ := request(t, app, "GET", "/health", "", nil); status != 200 {
		t.Fatalf("/health before the drain: %d", status)
	}
	draining = true
	if status, body, _ := request(t, app, "GET", "/health", "", nil); status != 503 || body["status"] != "draining" || body["detail"] == nil {
		t.Fatalf("/health while draining: %d %v", status, body)
	}
}
