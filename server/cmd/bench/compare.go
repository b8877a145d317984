package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// Check is one comparison of answers between back-ends, or of a run's own
// soundness (no HTTP errors).
type Check struct {
	Workload string `json:"workload"`
	Backend  string `json:"backend"`
	Against  string `json:"against,omitempty"`
	OK       bool   `json:"ok"`
	Detail   string `json:"detail,omitempty"`
}

// tolerance is the relative difference allowed between two numbers in
// answers: every back-end runs the same code on the same data with one
// thread, so answers agree to the last digit in practice; the slack only
// keeps a different float summation order from failing the run.
const tolerance = 1e-6

// sameJSON says where two JSON documents differ, if they do.
func sameJSON(a, b []byte) error {
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		return fmt.Errorf("first answer is not JSON: %w", err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return fmt.Errorf("second answer is not JSON: %w", err)
	}
	return diff("$", va, vb)
}

func diff(path string, a, b any) error {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: object against %T", path, b)
		}
		keys := make([]string, 0, len(a))
		for k := range a {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			bv, ok := bm[k]
			if !ok {
				return fmt.Errorf("%s.%s: missing from the second answer", path, k)
			}
			if err := diff(path+"."+k, a[k], bv); err != nil {
				return err
			}
		}
		if len(bm) != len(a) {
			return fmt.Errorf("%s: the second answer has %d keys, the first %d", path, len(bm), len(a))
		}
		return nil
	case []any:
		bs, ok := b.([]any)
		if !ok || len(bs) != len(a) {
			return fmt.Errorf("%s: array of %d against %v", path, len(a), describe(b))
		}
		for i := range a {
			if err := diff(fmt.Sprintf("%s[%d]", path, i), a[i], bs[i]); err != nil {
				return err
			}
		}
		return nil
	case float64:
		bf, ok := b.(float64)
		if !ok || math.Abs(a-bf) > tolerance*math.Max(1, math.Max(math.Abs(a), math.Abs(bf))) {
			return fmt.Errorf("%s: %v against %v", path, a, b)
		}
		return nil
	}
	if a != b {
		return fmt.Errorf("%s: %v against %v", path, a, b)
	}
	return nil
}

func describe(v any) string {
	if s, ok := v.([]any); ok {
		return fmt.Sprintf("array of %d", len(s))
	}
	return fmt.Sprintf("%T", v)
}

// compareAnswers checks every back-end's answer to a workload against the
// embedded interpreter's.
func compareAnswers(answers map[string]map[string][]byte) []Check {
	var checks []Check
	for _, wl := range workloads() {
		ref, ok := answers[wl.name]["embedded"]
		if !ok {
			continue
		}
		for _, b := range []string{"worker", "subprocess", "gpython"} {
			got, ok := answers[wl.name][b]
			if !ok {
				continue
			}
			c := Check{Workload: wl.name, Backend: b, Against: "embedded", OK: true}
			if err := sameJSON(ref, got); err != nil {
				c.OK, c.Detail = false, err.Error()
			}
			checks = append(checks, c)
		}
	}
	return checks
}

// compareHTTP checks a server's /predict-child answer ({"result": forecast})
// against the embedded interpreter's forecast.
func compareHTTP(name string, body, forecast []byte) Check {
	c := Check{Workload: "http " + name, Backend: "server", Against: "embedded", OK: true}
	var wrapped struct {
		Result json.RawMessage `json:"result"`
	}
	err := json.Unmarshal(body, &wrapped)
	if err == nil {
		err = sameJSON(forecast, wrapped.Result)
	}
	if err != nil {
		c.OK, c.Detail = false, err.Error()
	}
	return c
}
