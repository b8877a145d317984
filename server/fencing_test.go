package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// taskStatus is the part of a task record this test reads.
type taskStatus struct {
	Status   string `json:"status"`
	Error    string `json:"error"`
	RunID    string `json:"run_id"`
	Attempt  int    `json:"attempt"`
	Worker   string `json:"worker"`
	Progress struct {
		Epoch int `json:"epoch"`
	} `json:"progress"`
	Result struct {
		Version string `json:"version"`
	} `json:"result"`
}

// pollTask reads /status/{id} on s until ok holds.
func pollTask(t *testing.T, s *server, id string, limit time.Duration, what string, ok func(taskStatus) bool) taskStatus {
	t.Helper()
	var rec taskStatus
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		_, body := s.get(t, "/status/"+id)
		if err := json.Unmarshal([]byte(body), &rec); err == nil && ok(rec) {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last %s", what, limit, body)
		}
	}
}

// waitRunning waits until s says task id is running.
func waitRunning(t *testing.T, s *server, id string) {
	t.Helper()
	pollTask(t, s, id, 2*time.Minute, id+" runs", func(r taskStatus) bool { return r.Status == "running" })
}

// Finding 10: a server paused (SIGSTOP) past its lease while training loses
// the task to the other server, which re-queues the run as attempt 2, resumes
// it from its epoch checkpoint and commits its version. The paused server,
// resumed, finds its lease gone: it stops training, its run is logged as
// fenced, and it commits nothing. Exactly one new version serves.
func TestFinding10LostLease(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	a, b, dataDir, env := startPairOnRedis(t)
	if status, body := a.post(t, "/train-parent", `{}`); status != 200 {
		t.Fatalf("/train-parent: %d %s", status, body)
	}
	if rec := waitStatus(t, b, "parent", 3*time.Minute); rec.Status != "completed" {
		t.Fatalf("parent: %+v", rec)
	}

	const epochs = 8
	if status, body := a.post(t, "/train-child", `{"ticker":"MSFT","epochs":8,"strategy":"fine_tune","start_date":"2019-01-01"}`); status != 200 {
		t.Fatalf("a /train-child: %d %s", status, body)
	}
	first := pollTask(t, b, "msft", 2*time.Minute, "a's run past its second epoch", func(r taskStatus) bool {
		return r.Status == "running" && r.Progress.Epoch >= 2
	})
	if runnerOf(t, first, a, b) == b { // either process may take the run from the work queue
		a, b = b, a
	}
	if !strings.Contains(a.logs(), "task started") || first.Attempt != 1 {
		t.Fatalf("the run is not a's first attempt: %+v", first)
	}
	a.cmd.Process.Signal(syscall.SIGSTOP)
	stopped := true
	t.Cleanup(func() {
		if stopped {
			a.cmd.Process.Signal(syscall.SIGCONT)
		}
	})

	second := pollTask(t, b, "msft", 30*time.Second, "b re-queues the run", func(r taskStatus) bool { return r.Attempt == 2 })
	if second.RunID != first.RunID {
		t.Fatalf("the re-queued run is another run: %+v, was %+v", second, first)
	}
	done := pollTask(t, b, "msft", 3*time.Minute, "b completes the run", func(r taskStatus) bool {
		return r.Status == "completed" || r.Status == "failed"
	})
	if done.Status != "completed" || done.Attempt != 2 || done.Result.Version == "" {
		t.Fatalf("b's run: %+v", done)
	}
	if !regexp.MustCompile(`resuming at epoch [3-9]`).MatchString(b.logs()) {
		t.Errorf("b did not resume from a's checkpoint; b's log:\n%s", b.logs())
	}

	a.cmd.Process.Signal(syscall.SIGCONT)
	stopped = false
	a.waitLog(t, "task record not saved: another process runs this task now", time.Minute)
	if !regexp.MustCompile(`msg="task run fenced".*task_id=msft`).MatchString(a.logs()) {
		t.Fatalf("a's run not logged as fenced:\n%s", a.logs())
	}
	epochLines := regexp.MustCompile(`(?m)MSFT epoch \d+/`)
	seen := len(epochLines.FindAllString(a.logs(), -1))
	time.Sleep(3 * time.Second)
	if now := len(epochLines.FindAllString(a.logs(), -1)); now != seen || seen >= epochs {
		t.Fatalf("a kept training after it lost its lease: %d epoch lines, then %d", seen, now)
	}

	// Exactly one new version, b's, and it serves: in the API of both servers and on disk.
	for _, s := range []*server{a, b} {
		status, body := s.get(t, "/models/MSFT")
		var m struct {
			ServingVersion string `json:"serving_version"`
			Versions       []struct {
				Version string `json:"version"`
				Serving bool   `json:"serving"`
			} `json:"versions"`
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("/models/MSFT: %v: %.400s", err, body)
		}
		if status != 200 || m.ServingVersion != done.Result.Version || len(m.Versions) != 1 || !m.Versions[0].Serving {
			t.Fatalf("/models/MSFT: %d %.400s; want b's version %s alone, serving", status, body, done.Result.Version)
		}
	}
	folders, _ := filepath.Glob(filepath.Join(dataDir, "models", "MSFT", "v*"))
	serving, _ := os.ReadFile(filepath.Join(dataDir, "models", "MSFT", "serving.json"))
	if len(folders) != 1 || !strings.Contains(string(serving), done.Result.Version) {
		t.Fatalf("model folder: versions %v, serving.json %s", folders, serving)
	}
	if rec := waitStatus(t, a, "msft", time.Second); rec.Status != "completed" {
		t.Fatalf("a overwrote the record: %+v", rec)
	}

	// The store's pointer is the truth: a server that starts rewrites a serving.json that lost it.
	if err := os.Remove(filepath.Join(dataDir, "models", "MSFT", "serving.json")); err != nil {
		t.Fatal(err)
	}
	c := startServer(t, dataDir, env)
	serving, _ = os.ReadFile(filepath.Join(dataDir, "models", "MSFT", "serving.json"))
	if !strings.Contains(string(serving), done.Result.Version) || !strings.Contains(c.logs(), "serving.json disagreed with the store; rewritten") {
		t.Fatalf("serving.json after a start: %q", serving)
	}
}
