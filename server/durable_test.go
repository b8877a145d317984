package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashEnv is the environment of the crash tests: no Redis (the bbolt store in the data
// folder), tiny trainings, and a short lease so that a dead process's task lapses soon.
func crashEnv() map[string]string {
	return map[string]string{
		"DATA_SOURCE": "bundled", "TASK_LEASE": "2s", "MLFLOW_DISABLE": "1",
		"PARENT_EPOCHS": "1", "CHILD_EPOCHS": "1", "PARENT_START_DATE": "2016-01-01",
	}
}

// longChild is the body of a child training that runs long enough to be killed mid-run.
const longChild = `{"ticker":"MSFT","epochs":500,"strategy":"fine_tune"}`

// trainUntilRunning trains the parent (one epoch), then starts longChild and waits until
// its record says running.
func trainUntilRunning(t *testing.T, s *server) {
	t.Helper()
	if status, body := s.post(t, "/train-parent", `{}`); status != 200 {
		t.Fatalf("/train-parent: %d %s", status, body)
	}
	if rec := waitStatus(t, s, "parent", 3*time.Minute); rec.Status != "completed" {
		t.Fatalf("parent training: %+v", rec)
	}
	if status, body := s.post(t, "/train-child", longChild); status != 200 || !strings.Contains(body, `"started"`) {
		t.Fatalf("/train-child: %d %s", status, body)
	}
	waitRunning(t, s, "msft")
}

// waitInterrupted polls /status/msft until the record says what a restart makes of a
// training that was running: failed with "interrupted…", or re-queued once (attempt 2).
// The record must answer all along, never 404.
func waitInterrupted(t *testing.T, base string) taskStatus {
	t.Helper()
	var rec taskStatus
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		res, err := http.Get(base + "/status/msft")
		if err != nil {
			continue // the server is starting again
		}
		var body struct {
			taskStatus
			Detail string
		}
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("GET /status/msft after the crash: %d %+v %v", res.StatusCode, body, err)
		}
		rec = body.taskStatus
		if (rec.Status == "failed" && strings.HasPrefix(rec.Error, "interrupted")) ||
			((rec.Status == "queued" || rec.Status == "running") && rec.Attempt == 2) {
			return rec
		}
		if rec.Status == "failed" || rec.Status == "completed" {
			break
		}
	}
	t.Fatalf("the record of the training the crash interrupted: %+v; want failed: interrupted… or re-queued with attempt 2", rec)
	return rec
}

// Finding 12: without Redis, task records live in a bbolt file in the data folder. A server
// killed with SIGKILL mid-training and started again on the same folder answers the
// training's status (interrupted, never 404), keeps the finished parent's record, and
// starts the training again when the same request is sent again.
func TestFinding12TaskRecordsSurviveCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	dataDir := t.TempDir()
	a := startServer(t, dataDir, crashEnv())
	if _, health := a.get(t, "/health"); !strings.Contains(health, `"store":{"backend":"bolt"`) ||
		!strings.Contains(health, `"cache_store":{"backend":"memory"`) {
		t.Fatalf("without REDIS_URL, /health should report the bbolt store and the memory cache store: %s", health)
	}
	trainUntilRunning(t, a)
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.exited //nolint:errcheck // killed: its exit error is expected

	b := startServer(t, dataDir, crashEnv())
	if status, body := b.get(t, "/status/parent"); status != 200 || !strings.Contains(body, `"completed"`) {
		t.Fatalf("the finished parent's record after the crash: %d %s", status, body)
	}
	rec := waitInterrupted(t, b.base)
	if rec.Status == "failed" {
		// One call resumes it: the same request as before.
		if status, body := b.post(t, "/train-child", longChild); status != 200 || !strings.Contains(body, `"started"`) {
			t.Fatalf("/train-child again after the crash: %d %s, want started", status, body)
		}
	}
	if _, body := b.get(t, "/status/msft"); !strings.Contains(body, `"queued"`) && !strings.Contains(body, `"running"`) {
		t.Fatalf("the training after the restart is not active: %s", body)
	}
}

var startedPID = regexp.MustCompile(`msg="server started" pid=(\d+)`)

// childPIDs lists the server processes the supervisor started, from its log.
func childPIDs(log string) []int {
	var pids []int
	for _, m := range startedPID.FindAllStringSubmatch(log, -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// Finding 13: under SUPERVISE=on a server that dies of a real SIGSEGV mid-training is
// started again on the same port, the training's record answers, and SIGTERM to the
// supervisor stops the server and the supervisor cleanly.
func TestFinding13SupervisedRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	env := crashEnv()
	env["SUPERVISE"] = "on"
	s := startServer(t, "", env)
	stopped := false
	t.Cleanup(func() { // before startServer's SIGKILL of the supervisor: never leave a child behind
		if !stopped {
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited: //nolint:errcheck // stopped by the signal: its exit status is not the point
			case <-time.After(time.Minute):
			}
		}
	})
	pids := childPIDs(s.logs())
	if len(pids) != 1 || pids[0] == s.cmd.Process.Pid {
		t.Fatalf("want one server child of the supervisor (pid %d), got %v:\n%s", s.cmd.Process.Pid, pids, s.logs())
	}
	first := pids[0]
	trainUntilRunning(t, s)

	if err := syscall.Kill(first, syscall.SIGSEGV); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not come back:\n%s", s.logs())
		}
		if len(childPIDs(s.logs())) < 2 {
			continue
		}
		if res, err := http.Get(s.base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
	}
	if !strings.Contains(s.logs(), `msg="server died; restarting"`) {
		t.Errorf("the supervisor did not log the crash:\n%s", s.logs())
	}
	if err := syscall.Kill(first, 0); err == nil {
		t.Errorf("the crashed server %d still runs", first)
	}
	waitInterrupted(t, s.base)

	second := childPIDs(s.logs())[1]
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		stopped = true
		if err != nil {
			t.Fatalf("supervisor after SIGTERM: %v, want exit status 0\n%s", err, s.logs())
		}
	case <-time.After(time.Minute):
		t.Fatalf("the supervisor did not stop on SIGTERM:\n%s", s.logs())
	}
	if err := syscall.Kill(second, 0); err == nil {
		t.Errorf("the server %d outlived its supervisor", second)
	}
	if got := len(childPIDs(s.logs())); got != 2 {
		t.Errorf("%d servers started, want 2 (no restart after SIGTERM)", got)
	}
}

// Without Redis, SIGTERM hands the running training back to the durable queue: the record says
// queued (attempt 2, handed back), and the next server on the same data folder resumes it from
// its last epoch checkpoint.
func TestShutdownWithoutRedisResumesAtNextStart(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	dataDir := t.TempDir()
	a := startServer(t, dataDir, crashEnv())
	trainUntilRunning(t, a)
	first := pollTask(t, a, "msft", 2*time.Minute, "msft past its first epoch", func(r taskStatus) bool {
		return r.Status == "running" && r.Progress.Epoch >= 1
	})
	stopped := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a.exited:
		if err != nil {
			t.Fatalf("server exit after SIGTERM: %v\n%s", err, a.logs())
		}
		t.Logf("stopped %s after SIGTERM", time.Since(stopped))
	case <-time.After(time.Minute):
		t.Fatalf("the server did not stop within a minute of SIGTERM:\n%s", a.logs())
	}
	if !strings.Contains(a.logs(), "task handed back to the queue") {
		t.Fatalf("the training was not handed back:\n%s", a.logs())
	}

	b := startServer(t, dataDir, crashEnv())
	second := pollTask(t, b, "msft", 2*time.Minute, "b resumes msft", func(r taskStatus) bool {
		return r.Status == "running" && r.Attempt == 2
	})
	if second.RunID != first.RunID {
		t.Fatalf("the resumed run is another run: %+v, was %+v", second, first)
	}
	b.waitLog(t, "MSFT: resuming at epoch", time.Minute)
	t.Logf("resumed %s after SIGTERM", time.Since(stopped))
}
