package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"stockagent/server/httpapi/apitest"
)

// TestAPIFuzz runs schemathesis against a real server's /openapi.json: every operation, with
// the checks that no answer is a 5xx but a documented 503 that carries Retry-After, that each
// status is documented and each body matches its schema. Rate limits are on and trainings
// tiny, as the fuzzer starts some. The suite runs a short pass; make fuzz a long one
// (FUZZ_EXAMPLES per operation, FUZZ_MAX_TIME seconds, at least FUZZ_MIN_REQUESTS requests).
func TestAPIFuzz(t *testing.T) {
	st, err := filepath.Abs("../.venv/bin/schemathesis")
	if err == nil {
		_, err = os.Stat(st)
	}
	if err != nil {
		t.Fatalf("schemathesis is missing (%v): install it with .venv/bin/python -m pip install schemathesis==4.32.5", err)
	}
	examples, maxTime, minRequests := envInt(t, "FUZZ_EXAMPLES", 8), envInt(t, "FUZZ_MAX_TIME", 60), envInt(t, "FUZZ_MIN_REQUESTS", 500)
	srv := startServer(t, "", map[string]string{
		"RATE_LIMITS": "on", "LLM_PROVIDER": "none", "DATA_SOURCE": "bundled", "MLFLOW_DISABLE": "1",
		"PARENT_EPOCHS": "1", "CHILD_EPOCHS": "1", "PARENT_START_DATE": "2016-01-01", "MAX_TASKS": "1", "NEWS_SOURCE": "none",
		// Limits stay on, as in production; predictions are cheap enough to let the fuzzer past them.
		"RATE_LIMIT_PREDICTION": "100000/hour", "ADMIN_TOKEN": "fuzz-admin",
	})
	har := filepath.Join(t.TempDir(), "fuzz.har")
	cmd := exec.Command(st, "run", srv.base+"/openapi.json",
		"--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
		"--max-examples", strconv.Itoa(examples), "--max-time", strconv.Itoa(maxTime),
		"--workers", "2", "--continue-on-failure", "--request-timeout", "60",
		"--suppress-health-check", "all", "--header", "Authorization: Bearer fuzz-admin", "--report", "har", "--report-har-path", har)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "SCHEMATHESIS_TELEMETRY=false")
	cmd.Dir = t.TempDir() // its cache folder goes there, not into the tree
	start := time.Now()
	out, runErr := cmd.CombinedOutput()
	t.Logf("schemathesis (%s):\n%s", time.Since(start).Round(time.Second), shorten(string(out)))

	api := openAPI(t)
	byStatus, ops, missingRetry, err := readHAR(har, api)
	if err != nil {
		t.Fatalf("reading the run's HAR: %v", err)
	}
	total, serverErrors := 0, 0
	codes := make([]int, 0, len(byStatus))
	for code, n := range byStatus {
		total += n
		if code >= 500 && code != 503 {
			serverErrors += n
		}
		codes = append(codes, code)
	}
	sort.Ints(codes)
	var dist []string
	for _, c := range codes {
		dist = append(dist, fmt.Sprintf("%d:%d", c, byStatus[c]))
	}
	fmt.Printf("fuzz totals: %d requests across %d operations, %d server errors (5xx but 503), %d 503 without Retry-After; by status %s; schemathesis %v\n",
		total, len(ops), serverErrors, missingRetry, strings.Join(dist, " "), exitOf(runErr))
	if runErr != nil {
		t.Errorf("schemathesis found failures (%v): see its output above", runErr)
	}
	if total < minRequests {
		t.Errorf("%d requests, fewer than FUZZ_MIN_REQUESTS=%d", total, minRequests)
	}
	if serverErrors > 0 || missingRetry > 0 {
		t.Errorf("%d server errors, %d 503 without Retry-After", serverErrors, missingRetry)
	}
	ops["GET /openapi.json"] = true // schemathesis reads it first; a HAR records only the tests
	for _, op := range api.Operations() {
		if !ops[op] {
			t.Errorf("no request reached %s", op)
		}
	}
	if strings.Contains(srv.logs(), "panic") {
		t.Error("the server log shows a panic")
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func exitOf(err error) string {
	if err == nil {
		return "passed"
	}
	return err.Error()
}

// shorten cuts each line of schemathesis's report to 400 bytes: the failures' reproductions
// quote whole generated requests.
func shorten(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + "…"
		}
	}
	return strings.Join(lines, "\n")
}

// readHAR counts a HAR's responses by status, the operations of api they reached, and the
// 503s without Retry-After.
func readHAR(path string, api *apitest.Validator) (map[int]int, map[string]bool, int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, 0, err
	}
	var h struct {
		Log struct {
			Entries []struct {
				Request struct {
					Method string `json:"method"`
					URL    string `json:"url"`
				} `json:"request"`
				Response struct {
					Status  int `json:"status"`
					Headers []struct {
						Name  string `json:"name"`
						Value string `json:"value"`
					} `json:"headers"`
				} `json:"response"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, nil, 0, err
	}
	byStatus, ops, missing := map[int]int{}, map[string]bool{}, 0
	for _, e := range h.Log.Entries {
		byStatus[e.Response.Status]++
		if u, err := url.Parse(e.Request.URL); err == nil {
			if op, err := api.Match(e.Request.Method, u.Path); err == nil {
				ops[op] = true
			}
		}
		if e.Response.Status == 503 {
			ok := false
			for _, hd := range e.Response.Headers {
				ok = ok || strings.EqualFold(hd.Name, "Retry-After")
			}
			if !ok {
				missing++
			}
		}
	}
	return byStatus, ops, missing, nil
}
