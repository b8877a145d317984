package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"stockagent/pybridge/pybridgetest"
)

// The command line prints the HTTP server's body for the same request
// (README, "The command line"), on one data folder and one LLM (a stub): the
// same forecast, and analysis and monitoring answers of the same shape (the
// same keys at every level, arrays of the same lengths, values of the same
// JSON kinds). The drift report's policy block is the server's alone.
func TestCLIPrintsTheHTTPBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model and starts the server")
	}
	srv, dataDir, env := startStubbedAAPL(t, nil)
	defer srv.cmd.Process.Kill()
	python, err := pybridgetest.Python()
	if err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(python, append([]string{"-m", "stockagent.cli"}, args...)...)
		cmd.Env = append(os.Environ(), "DATA_DIR="+dataDir)
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("stockagent.cli %v: %v\n%s\nstderr:\n%s", args, err, out, stderr.Bytes()[max(0, stderr.Len()-3000):])
		}
		return out
	}
	for _, c := range []struct {
		path, body string
		args       []string
		values     bool // compare values too, not only the shape
	}{
		{"/predict-child", `{"ticker":"AAPL"}`, []string{"predict-child", "--ticker", "AAPL"}, true},
		{"/analyze", `{"ticker":"AAPL"}`, []string{"analyze", "--ticker", "AAPL"}, false},
		{"/monitor/AAPL", "", []string{"monitor-ticker", "--ticker", "AAPL"}, false},
		{"/monitor/parent", "", []string{"monitor-parent"}, false}, // no parent report yet: both analyse first
	} {
		status, body := srv.post(t, c.path, c.body)
		if status != 200 {
			t.Fatalf("POST %s: %d %.500s", c.path, status, body)
		}
		var web, term any
		if err := json.Unmarshal([]byte(body), &web); err != nil {
			t.Fatalf("POST %s: %v", c.path, err)
		}
		out := cli(c.args...)
		if err := json.Unmarshal(out, &term); err != nil {
			t.Fatalf("%v: %v: %.500s", c.args, err, out)
		}
		if err := sameShape("$", web, term, c.values); err != nil {
			t.Errorf("POST %s against %v: %v", c.path, c.args, err)
		}
	}

	// Monitoring has checked AAPL's drift now: the server hands the stored check to the
	// analyst, whose data section states it (a question: the semantic cache never answers one).
	var drift struct {
		Health string `json:"health"` // as Python stored it: the built-in thresholds' verdict, which the report states
		Rows   struct {
			N int `json:"rows"`
		} `json:"current"`
	}
	if status, body := srv.get(t, "/monitor/AAPL/drift"); status != 200 || json.Unmarshal([]byte(body), &drift) != nil {
		t.Fatalf("GET /monitor/AAPL/drift: %d %.500s", status, body)
	}
	status, body := srv.post(t, "/analyze", `{"ticker":"AAPL","question":"Has the model drifted?"}`)
	var answer struct {
		Report string `json:"final_report"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &answer) != nil {
		t.Fatalf("POST /analyze: %d %.500s", status, body)
	}
	want := fmt.Sprintf("**Drift** of the model's inputs over the last %d trading days", drift.Rows.N)
	if !strings.Contains(answer.Report, want) || !strings.Contains(answer.Report, "**"+drift.Health+"**") {
		t.Fatalf("the report does not state the drift check (%q, %s):\n%s", want, drift.Health, answer.Report)
	}
}

// sameShape says where b differs from a: in its keys, array lengths or JSON
// kinds, and with values, in its strings and numbers (to a relative 1e-6:
// the forecast is computed in two processes).
func sameShape(path string, a, b any, values bool) error {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: object against %T", path, b)
		}
		if path == "$.drift.policy" {
			return nil
		}
		keys := func(m map[string]any) []string {
			ks := make([]string, 0, len(m))
			for k := range m {
				ks = append(ks, k)
			}
			slices.Sort(ks)
			return ks
		}
		if ka, kb := keys(a), keys(bm); !slices.Equal(ka, kb) {
			return fmt.Errorf("%s: keys %v against %v", path, ka, kb)
		}
		for k, v := range a {
			if err := sameShape(path+"."+k, v, bm[k], values); err != nil {
				return err
			}
		}
	case []any:
		bs, ok := b.([]any)
		if !ok || len(bs) != len(a) {
			return fmt.Errorf("%s: array of %d against %v", path, len(a), b)
		}
		for i := range a {
			if err := sameShape(fmt.Sprintf("%s[%d]", path, i), a[i], bs[i], values); err != nil {
				return err
			}
		}
	case float64:
		bf, ok := b.(float64)
		if !ok || values && math.Abs(a-bf) > 1e-6*math.Max(1, math.Max(math.Abs(a), math.Abs(bf))) {
			return fmt.Errorf("%s: %v against %v", path, a, b)
		}
	default: // string, bool, null
		if fmt.Sprintf("%T", a) != fmt.Sprintf("%T", b) || values && a != b {
			return fmt.Errorf("%s: %v against %v", path, a, b)
		}
	}
	return nil
}
