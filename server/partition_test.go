package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"stockagent/server/store/storetest"
)

// A trainer cut off from Redis by a network partition, as on two hosts: Redis
// and each trainer in a network namespace of their own, the api replica (and
// the test) in the test's own. The partition outlasts the lease: the cut-off
// trainer stops its run before the lease lapses, the other takes the run over,
// resumes it and commits its version. Once the partition heals, the cut-off
// trainer commits nothing: one version, the other trainer's, serves, and the
// record stays the other trainer's. The cut-off trainer is healthy again.
func TestTrainerPartitionedFromRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	lan := newLab(t)
	redisNS, nsA, nsB := lan.add("redis"), lan.add("trainer1"), lan.add("trainer2")
	redis := storetest.NewServerAt(t, storetest.Place{Wrap: redisNS.exec(), Host: redisNS.addr, Password: password(t)})

	env := crashEnv() // TASK_LEASE=2s
	env["REDIS_URL"] = redis.URL()
	env["RATE_LIMIT_TRAINING"] = "0"
	dataDir := t.TempDir()
	role := func(r string) map[string]string {
		e := maps.Clone(env)
		e["ROLE"] = r
		return e
	}
	api := startServer(t, dataDir, role("api"))
	trainer := map[*server]netns{
		startServerAt(t, place{netns: nsA.name, host: nsA.addr}, dataDir, role("trainer")): nsA,
		startServerAt(t, place{netns: nsB.name, host: nsB.addr}, dataDir, role("trainer")): nsB,
	}
	trainers := make([]*server, 0, 2)
	for s := range trainer {
		trainers = append(trainers, s)
	}

	if status, body := api.post(t, "/train-parent", `{}`); status != 200 {
		t.Fatalf("/train-parent: %d %s", status, body)
	}
	if rec := waitStatus(t, api, "parent", 3*time.Minute); rec.Status != "completed" || runnerOf(t, rec, trainers...) == nil {
		t.Fatalf("parent training: %+v", rec)
	}

	const epochs = 8
	child := fmt.Sprintf(`{"ticker":"MSFT","epochs":%d,"strategy":"fine_tune","start_date":"2019-01-01"}`, epochs)
	if status, body := api.post(t, "/train-child", child); status != 200 || !strings.Contains(body, `"started"`) {
		t.Fatalf("/train-child: %d %s", status, body)
	}
	first := pollTask(t, api, "msft", 2*time.Minute, "msft past its second epoch", func(r taskStatus) bool {
		return r.Status == "running" && r.Progress.Epoch >= 2
	})
	a := runnerOf(t, first, trainers...)
	if a == nil || first.Attempt != 1 {
		t.Fatalf("msft runs on no trainer, or not as attempt 1: %+v", first)
	}
	b := trainers[0]
	if b == a {
		b = trainers[1]
	}

	lan.cut(trainer[a])
	cut := time.Now()
	healed := false
	t.Cleanup(func() {
		if !healed {
			lan.heal(trainer[a])
		}
	})
	second := pollTask(t, api, "msft", time.Minute, "the other trainer takes the run over", func(r taskStatus) bool {
		return r.Attempt == 2 && r.Status == "running"
	})
	t.Logf("take-over: attempt 2 runs %s after the partition (TASK_LEASE %s)", time.Since(cut).Round(time.Millisecond), env["TASK_LEASE"])
	if second.RunID != first.RunID || runnerOf(t, second, trainers...) != b {
		t.Fatalf("the run taken over: %+v, was %+v", second, first)
	}
	done := waitStatus(t, api, "msft", 3*time.Minute)
	if done.Status != "completed" || done.Attempt != 2 || done.Result.Version == "" || runnerOf(t, done, trainers...) != b {
		t.Fatalf("the taken-over run: %+v", done)
	}
	if !regexp.MustCompile(`MSFT: resuming at epoch [2-9]`).MatchString(b.logs()) {
		t.Errorf("the other trainer did not resume from the checkpoint; its log:\n%s", b.logs())
	}
	t.Logf("the taken-over run completed %s after the partition", time.Since(cut).Round(time.Millisecond))

	lan.heal(trainer[a])
	healed = true
	a.waitLog(t, "task record not saved: another process runs this task now", 2*time.Minute)
	t.Logf("the cut-off trainer found itself fenced %s after the partition", time.Since(cut).Round(time.Millisecond))
	pollHealth := func() bool { _, body := a.get(t, "/health"); return strings.Contains(body, `"status":"healthy"`) }
	for deadline := time.Now().Add(time.Minute); !pollHealth(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			_, body := a.get(t, "/health")
			t.Fatalf("the cut-off trainer is not healthy a minute after the partition healed: %s", body)
		}
	}

	// It stopped training before the other took the run over, and saved no version.
	stopped, ok := logTimeOf(a, "task lease not renewed in time: the run stops and goes back to the queue", "run_id="+first.RunID)
	resumed, ok2 := logTimeOf(b, "task started", "attempt=2")
	if !ok || !ok2 || !stopped.Before(resumed) {
		t.Errorf("the cut-off trainer's run stopped at %s (logged: %v), the other's attempt started at %s (logged: %v): want it stopped first",
			stopped.Format(time.StampMilli), ok, resumed.Format(time.StampMilli), ok2)
	}
	if strings.Contains(a.logs(), "saved model MSFT version") || strings.Contains(a.logs(), `msg="model version committed as serving" model=MSFT`) {
		t.Errorf("the cut-off trainer saved or committed a version of MSFT:\n%s", a.logs())
	}
	if serving, n := versions(t, api, "MSFT"); n != 1 || serving != done.Result.Version {
		t.Errorf("MSFT: %d versions, serving %q; want the other trainer's %s alone", n, serving, done.Result.Version)
	}
	folders, _ := filepath.Glob(filepath.Join(dataDir, "models", "MSFT", "v*"))
	checkpoints, _ := filepath.Glob(filepath.Join(dataDir, "models", "MSFT", ".checkpoints", "*"))
	serving, _ := os.ReadFile(filepath.Join(dataDir, "models", "MSFT", "serving.json"))
	if len(folders) != 1 || len(checkpoints) != 0 || !strings.Contains(string(serving), done.Result.Version) {
		t.Errorf("model folder: versions %v, checkpoints %v, serving.json %s", folders, checkpoints, serving)
	}
	if rec := waitStatus(t, api, "msft", time.Second); rec.Status != "completed" || rec.Result.Version != done.Result.Version || runnerOf(t, rec, trainers...) != b {
		t.Errorf("the record after the partition healed: %+v; want the other trainer's completed run", rec)
	}
}
