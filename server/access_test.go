package main

import (
	"strings"
	"testing"
	"time"
)

// A real server listening beyond loopback without keys: it says so at start,
// serves loopback callers, refuses a client behind a trusted proxy (which no
// client-written X-Forwarded-For entry can hide), and limits wrong admin tokens
// per client address although RATE_LIMITS is off.
func TestProtectedModeServer(t *testing.T) {
	srv := startServer(t, "", map[string]string{
		"HOST": "0.0.0.0", "TRUSTED_PROXIES": "127.0.0.1", "ADMIN_TOKEN": "adm1n", "AUTH_FAILURE_LIMIT": "2/minute",
		"RATE_LIMITS": "off", "DATA_SOURCE": "bundled", "MLFLOW_DISABLE": "1", "LLM_PROVIDER": "none",
	})
	srv.waitLog(t, "listening beyond loopback without API_KEYS", 5*time.Second)
	if !strings.Contains(srv.logs(), "protected: no API_KEYS") {
		t.Errorf("the start-up log does not say which mode is in force:\n%s", srv.logs())
	}
	if status, body := srv.get(t, "/tasks"); status != 200 {
		t.Fatalf("loopback caller: %d %s", status, body)
	}
	from := func(xff string, header map[string]string) map[string]string {
		h := map[string]string{"X-Forwarded-For": xff}
		for k, v := range header {
			h[k] = v
		}
		return h
	}
	for _, xff := range []string{"192.0.2.9", "127.0.0.1, 192.0.2.9"} {
		status, body := srv.do(t, "GET", "/tasks", "", from(xff, nil))
		if status != 403 || !strings.Contains(body, "API_KEYS") || !strings.Contains(body, "OPEN_ACCESS=1") {
			t.Fatalf("client %q behind the proxy: %d %s", xff, status, body)
		}
	}
	wrong := from("192.0.2.9", map[string]string{"Authorization": "Bearer guess"})
	for i := range 2 {
		if status, body := srv.do(t, "GET", "/tasks", "", wrong); status != 403 || !strings.Contains(body, "invalid admin token") {
			t.Fatalf("wrong token %d: %d %s", i+1, status, body)
		}
	}
	if status, body := srv.do(t, "GET", "/tasks", "", wrong); status != 429 || !strings.Contains(body, "failed authentications") {
		t.Fatalf("third wrong token: %d %s", status, body)
	}
	right := map[string]string{"Authorization": "Bearer adm1n"}
	if status, _ := srv.do(t, "GET", "/tasks", "", from("192.0.2.9", right)); status != 429 {
		t.Fatalf("the right token from the locked-out address: %d", status)
	}
	if status, body := srv.do(t, "GET", "/system/logs?lines=1", "", from("192.0.2.10", right)); status != 200 {
		t.Fatalf("the right token from another address: %d %s", status, body)
	}
}
