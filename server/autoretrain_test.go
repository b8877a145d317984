package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stockagent/server/policy"
)

// Finding 14: with MONITOR_AUTO_RETRAIN=on a Critical drift retrained, the
// drift check after that retrain was Critical again, and so on for ever.
// With a policy that always says retrain and a check every two seconds, the
// parent is retrained automatically exactly once (one market day: the
// bundled data's last), and the loop stops.
func TestFinding14AutoRetrainBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	src := strings.Replace(policy.DefaultSource(),
		`drift_action = "retrain" if drift_health == "Critical (Drift Detected)" else None`, `drift_action = "retrain"`, 1)
	if src == policy.DefaultSource() {
		t.Fatal("the default policy's drift_action rule changed; update this test")
	}
	policyFile := filepath.Join(t.TempDir(), "always_retrain.py")
	if err := os.WriteFile(policyFile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", map[string]string{
		"DATA_SOURCE": "bundled", "MLFLOW_DISABLE": "1", "PARENT_EPOCHS": "1", "PARENT_START_DATE": "2016-01-01",
		"MONITOR_AUTO_RETRAIN": "on", "MONITOR_INTERVAL": "2s", "POLICY_FILE": policyFile,
	})
	if status, body := s.post(t, "/train-parent", `{}`); status != 200 || !strings.Contains(body, `"started"`) {
		t.Fatalf("/train-parent: %d %s", status, body)
	}
	completed := func() float64 { return s.metric(t, `stockagent_trainings_total{kind="parent",status="completed"}`) }
	// The manual training, then the automatic retrain its drift check starts.
	for deadline := time.Now().Add(5 * time.Minute); completed() != 2; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%v parent trainings completed; want the manual one and one automatic retrain", completed())
		}
	}
	// Three more scheduled checks run, and none retrains again.
	scheduled := strings.Count(s.logs(), "scheduled monitoring done")
	for deadline := time.Now().Add(2 * time.Minute); strings.Count(s.logs(), "scheduled monitoring done") < scheduled+3; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d scheduled checks in 2 minutes at a 2 s interval, want 3", strings.Count(s.logs(), "scheduled monitoring done")-scheduled)
		}
	}
	if rec := waitStatus(t, s, "parent", time.Minute); rec.Status != "completed" || completed() != 2 {
		t.Fatalf("the retraining went on: %+v, %v completed", rec, completed())
	}
	if n := strings.Count(s.logs(), `msg="policy retrain"`); n != 1 {
		t.Fatalf("%d automatic retrains logged, want 1", n)
	}
	// A check now says why it started none.
	status, body := s.post(t, "/monitor/parent", ``)
	if status != 200 || !strings.Contains(body, `"retrain_started":false`) || !strings.Contains(body, "already (one a day)") {
		t.Fatalf("/monitor/parent: %d %.600s", status, body)
	}
}
