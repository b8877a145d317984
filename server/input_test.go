package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stockagent/server/servertest"
)

// Finding 12: loose input. A huge POLICY_FILE stops start-up at once with one clear line
// (it took 23 s to load before), and a query value of the wrong type is a 422, not a default.
func TestFinding12LooseInput(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "policy.py")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	// 1 GiB, sparse: costs no disk, but reading it whole would take seconds and the memory.
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(servertest.Binary(t))
	cmd.Env = append(os.Environ(), "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", servertest.Port(t)), "DATA_DIR="+t.TempDir(), "POLICY_FILE="+huge)
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("server with a 1 GiB POLICY_FILE still running after 30s:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "larger than 65536 bytes") || !strings.Contains(string(out), huge) {
		t.Errorf("server with a 1 GiB POLICY_FILE: exit %v, want a refusal naming the file and the limit:\n%s", err, out)
	}

	srv := startServer(t, "", map[string]string{"LLM_PROVIDER": "none"})
	for _, path := range []string{"/models/AAPL/runs?limit=abc", "/models/AAPL/runs?limit=0", "/models/AAPL/runs?limit=501",
		"/system/logs?lines=abc", "/system/logs?lines=-1", "/monitor/AAPL/history?limit=0", "/monitor/AAPL/history?limit=501"} {
		if status, body := srv.get(t, path); status != 422 || !strings.Contains(body, "must be an integer from 1 to") {
			t.Errorf("GET %s: %d %s, want 422 stating the bounds", path, status, body)
		}
	}
	for _, before := range []string{"yesterday", "2026-01-31T12:00:00", "2026-01-31"} {
		if status, body := srv.get(t, "/monitor/AAPL/history?before="+before); status != 422 || !strings.Contains(body, "before must be a time like") {
			t.Errorf("GET /monitor/AAPL/history?before=%s: %d %s, want 422", before, status, body)
		}
	}
	if status, body := srv.post(t, "/train-parent", `{"start_date":"1900-01-01"}`); status != 422 || !strings.Contains(body, "before 1950-01-01") {
		t.Errorf("start_date 1900-01-01: %d %s", status, body)
	}
}
