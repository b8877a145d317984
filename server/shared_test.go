package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"stockagent/server/store/storetest"
)

// Two server processes on one Redis and one data folder: one training per
// model, status visible from both, a model trained by one served by the
// other, and a task left running by a killed process re-queued by the other.
func TestTwoServersShareRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	a, b, _, _ := startPairOnRedis(t)
	if _, health := b.get(t, "/health"); !strings.Contains(health, `"backend":"redis"`) {
		t.Fatalf("server b does not use Redis: %s", health)
	}

	if status, body := a.post(t, "/train-parent", `{}`); status != 200 || !strings.Contains(body, `"started"`) {
		t.Fatalf("a /train-parent: %d %s", status, body)
	}
	if status, body := b.post(t, "/train-parent", `{}`); status != 200 || !strings.Contains(body, "already running") {
		t.Fatalf("b started a second parent training: %d %s", status, body)
	}
	rec := waitStatus(t, b, "parent", 3*time.Minute)
	if rec.Status != "completed" {
		t.Fatalf("parent training seen from b: %+v", rec)
	}
	if status, body := b.post(t, "/predict-parent", ``); status != 200 || !strings.Contains(body, `"model_version"`) {
		t.Fatalf("b does not serve the model a trained: %d %.300s", status, body)
	}

	// A long child training, killed mid-run with the process that runs it (either may take
	// it from the work queue): the other re-queues it once the lease lapses.
	if status, body := a.post(t, "/train-child", longChild); status != 200 {
		t.Fatalf("a /train-child: %d %s", status, body)
	}
	running := pollTask(t, b, "msft", 2*time.Minute, "msft runs", func(r taskStatus) bool { return r.Status == "running" })
	if runnerOf(t, running, a, b) == b {
		a, b = b, a
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	pollTask(t, b, "msft", time.Minute, "b re-queues the run of the killed server", func(r taskStatus) bool {
		return r.Attempt == 2 && (r.Status == "queued" || r.Status == "running")
	})
	if status, body := b.do(t, "DELETE", "/tasks/msft", "", nil); status != 200 {
		t.Fatalf("cancel of the re-queued run: %d %s", status, body)
	}
	if rec = waitStatus(t, b, "msft", time.Minute); rec.Status != "failed" {
		t.Fatalf("after the cancel: %+v", rec)
	}
}

// startPairOnRedis starts two servers on one new Redis and one data folder, with
// crashEnv's tiny trainings and short lease, and returns them, the folder and their env.
func startPairOnRedis(t *testing.T) (a, b *server, dataDir string, env map[string]string) {
	t.Helper()
	env = crashEnv()
	env["REDIS_URL"] = storetest.StartRedis(t)
	dataDir = t.TempDir()
	a = startServer(t, dataDir, env)
	b = startServer(t, dataDir, env)
	return a, b, dataDir, env
}

// waitStatus polls /status/{id} on s until the task is no longer active.
func waitStatus(t *testing.T, s *server, id string, limit time.Duration) taskStatus {
	t.Helper()
	return pollTask(t, s, id, limit, "task "+id+" ends", func(r taskStatus) bool {
		return r.Status == "completed" || r.Status == "failed"
	})
}

// Redis going away mid-run: forecasts fall back to computing, what needs the
// store answers 503 with a clear detail, and once Redis is back the service
// recovers and a training that finished its work during the outage commits
// its version and has its record once the store is back (a Redis restarted
// empty: the run's fencing counter is set up again).
func TestRedisOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	redis := storetest.NewServer(t)
	srv := startServer(t, "", map[string]string{
		"REDIS_URL": redis.URL(), "DATA_SOURCE": "bundled", "MLFLOW_DISABLE": "1",
		"PARENT_EPOCHS": "1", "PARENT_START_DATE": "2016-01-01",
		// The training must outlive the outage: a run that cannot renew its lease for
		// most of it stops and goes back to the queue (TestTrainerPartitionedFromRedis).
		"TASK_LEASE": "10m",
	})
	srv.post(t, "/train-parent", `{}`)
	if rec := waitStatus(t, srv, "parent", 3*time.Minute); rec.Status != "completed" {
		t.Fatalf("parent: %+v", rec)
	}
	if status, body := srv.post(t, "/train-child", `{"ticker":"MSFT","epochs":3,"strategy":"fine_tune"}`); status != 200 {
		t.Fatalf("train-child: %d %s", status, body)
	}
	waitRunning(t, srv, "msft")

	redis.Stop()
	if status, body := srv.post(t, "/predict-parent", ``); status != 200 {
		t.Errorf("forecast without Redis: %d %.200s, want 200 (computed, not cached)", status, body)
	}
	if status, body := srv.post(t, "/train-child", `{"ticker":"AAPL"}`); status != 503 || !strings.Contains(body, "unavailable") {
		t.Errorf("training without Redis: %d %s, want 503 with a detail", status, body)
	}
	if _, body := srv.get(t, "/health"); !strings.Contains(body, `"degraded"`) {
		t.Errorf("/health without Redis: %s", body)
	}
	// The training finishes its work during the outage; its version serves
	// only through the fenced commit, which waits for the store.
	srv.waitLog(t, `msg="serving pointer not committed: the store is unavailable; retrying" model=MSFT`, 2*time.Minute)

	redis.Start()
	if rec := waitStatus(t, srv, "msft", 30*time.Second); rec.Status != "completed" {
		t.Fatalf("the record of a training that finished during the outage: %+v", rec)
	}
	// The Redis client redials in the background about once a second after failed dials.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, body := srv.get(t, "/health")
		if strings.Contains(body, `"status":"healthy"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health 15 s after Redis returned: %s", body)
		}
	}
}
