package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stockagent/server/store/storetest"
)

// The work queue across processes on one Redis and one data folder: two api
// replicas that only enqueue and two trainers that only run. Many concurrent
// requests make one training per model; a trainer killed with SIGKILL loses
// its training to the other, which completes it; a trainer stopped with
// SIGTERM hands its training back and the other resumes it from its epoch
// checkpoint. Each model ends with exactly one version.
func TestWorkQueueAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	env := crashEnv()
	env["REDIS_URL"] = storetest.StartRedis(t)
	env["RATE_LIMIT_TRAINING"] = "0"
	dataDir, top := t.TempDir(), t // a process started in a subtest lives as long as the test
	role := func(r string) map[string]string {
		e := maps.Clone(env)
		e["ROLE"] = r
		return e
	}
	apis := []*server{startServer(t, dataDir, role("api")), startServer(t, dataDir, role("api"))}
	trainers := []*server{startServer(t, dataDir, role("trainer")), startServer(t, dataDir, role("trainer"))}

	if status, body := trainers[0].post(t, "/train-parent", `{}`); status != 404 || !strings.Contains(body, "ROLE=trainer") {
		t.Fatalf("a trainer answered the API: %d %s", status, body)
	}
	if status, body := apis[0].post(t, "/train-parent", `{}`); status != 200 || !strings.Contains(body, `"started"`) {
		t.Fatalf("/train-parent: %d %s", status, body)
	}
	if rec := waitStatus(t, apis[1], "parent", 3*time.Minute); rec.Status != "completed" || runnerOf(t, rec, apis...) != nil {
		t.Fatalf("parent training: %+v (an api replica must not run it)", rec)
	}

	t.Run("50 concurrent requests, 5 models: 5 trainings", func(t *testing.T) {
		tickers := []string{"AAPL", "AMZN", "GOOGL", "NVDA", "META"}
		answers := make([]string, 50)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"ticker":%q}`, tickers[i%len(tickers)])
				res, err := http.Post(apis[i%2].base+"/train-child", "application/json", strings.NewReader(body))
				if err != nil {
					answers[i] = err.Error()
					return
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				answers[i] = strconv.Itoa(res.StatusCode) + " " + string(b)
			}()
		}
		wg.Wait()
		started := 0
		for _, a := range answers {
			switch {
			case strings.HasPrefix(a, "200 ") && strings.Contains(a, `"status":"started"`):
				started++
			case strings.HasPrefix(a, "200 ") && (strings.Contains(a, "already running") || strings.Contains(a, `"status":"completed"`)):
			default:
				t.Errorf("answer: %s", a)
			}
		}
		if started != len(tickers) {
			t.Fatalf("%d trainings started for %d models; answers:\n%s", started, len(tickers), strings.Join(answers, "\n"))
		}
		for _, tk := range tickers {
			if rec := waitStatus(t, apis[0], strings.ToLower(tk), 5*time.Minute); rec.Status != "completed" {
				t.Fatalf("%s: %+v", tk, rec)
			}
			if serving, n := versions(t, apis[1], tk); n != 1 || serving == "" {
				t.Errorf("%s: %d versions (serving %q), want one", tk, n, serving)
			}
		}
		t.Logf("5 trainings from 50 requests finished in %s", time.Since(start))
	})

	const eightEpochs = `{"ticker":%q,"epochs":8,"strategy":"fine_tune","start_date":"2019-01-01"}`
	// runningPastEpoch2 submits an eight-epoch training of ticker and returns its
	// record once it runs past its second epoch, with the trainer running it.
	runningPastEpoch2 := func(t *testing.T, ticker string) (taskStatus, *server) {
		t.Helper()
		if status, body := apis[0].post(t, "/train-child", fmt.Sprintf(eightEpochs, ticker)); status != 200 || !strings.Contains(body, `"started"`) {
			t.Fatalf("/train-child %s: %d %s", ticker, status, body)
		}
		rec := pollTask(t, apis[1], strings.ToLower(ticker), 2*time.Minute, ticker+" past its second epoch", func(r taskStatus) bool {
			return r.Status == "running" && r.Progress.Epoch >= 2
		})
		runner := runnerOf(t, rec, trainers...)
		if runner == nil || rec.Attempt != 1 {
			t.Fatalf("%s runs on no trainer, or not as attempt 1: %+v", ticker, rec)
		}
		return rec, runner
	}
	other := func(s *server) *server {
		if s == trainers[0] {
			return trainers[1]
		}
		return trainers[0]
	}

	t.Run("kill -9 of the trainer: the other completes the training", func(t *testing.T) {
		first, victim := runningPastEpoch2(t, "MSFT")
		killed := time.Now()
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		second := pollTask(t, apis[1], "msft", time.Minute, "the other trainer reclaims the run", func(r taskStatus) bool {
			return r.Attempt == 2 && r.Status == "running"
		})
		t.Logf("reclaimed run restarted %s after kill -9 (TASK_LEASE %s)", time.Since(killed), env["TASK_LEASE"])
		done := waitStatus(t, apis[1], "msft", 3*time.Minute)
		if second.RunID != first.RunID || done.Status != "completed" || done.Attempt != 2 || runnerOf(t, done, trainers...) != other(victim) {
			t.Fatalf("after the kill: %+v, then %+v", second, done)
		}
		if serving, n := versions(t, apis[0], "MSFT"); n != 1 || serving != done.Result.Version {
			t.Fatalf("MSFT: %d versions, serving %q; want the reclaimed run's %s alone (0 lost, 0 double commits)", n, serving, done.Result.Version)
		}
		trainers = []*server{other(victim), startServer(top, dataDir, role("trainer"))}
	})

	t.Run("SIGTERM of the trainer: the training is handed back and resumed", func(t *testing.T) {
		_, victim := runningPastEpoch2(t, "TSLA")
		resumer := other(victim)
		stopped := time.Now()
		if err := victim.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-victim.exited:
			t.Logf("the SIGTERM'd trainer exited (%v) after %s", err, time.Since(stopped))
		case <-time.After(time.Minute):
			t.Fatalf("the trainer did not exit within a minute of SIGTERM:\n%s", victim.logs())
		}
		if !strings.Contains(victim.logs(), "task handed back to the queue") {
			t.Fatalf("the trainer did not hand its training back:\n%s", victim.logs())
		}
		done := waitStatus(t, apis[0], "tsla", 3*time.Minute)
		t.Logf("handed-back training completed %s after SIGTERM", time.Since(stopped))
		if done.Status != "completed" || done.Attempt != 2 || runnerOf(t, done, trainers...) != resumer {
			t.Fatalf("handed-back run: %+v", done)
		}
		m := regexp.MustCompile(`TSLA: resuming at epoch (\d+)`).FindStringSubmatch(resumer.logs())
		if m == nil || m[1] == "1" {
			t.Fatalf("the second attempt did not resume from the checkpoint (epoch > 1); log:\n%s", resumer.logs())
		}
		if serving, n := versions(t, apis[1], "TSLA"); n != 1 || serving != done.Result.Version {
			t.Fatalf("TSLA: %d versions, serving %q; want %s alone", n, serving, done.Result.Version)
		}
	})
}

// runnerOf returns which of servers the record's worker names (by its
// process id), nil when none.
func runnerOf(t *testing.T, rec taskStatus, servers ...*server) *server {
	t.Helper()
	parts := strings.Split(rec.Worker, "/")
	if len(parts) < 2 {
		return nil
	}
	for _, s := range servers {
		if parts[1] == strconv.Itoa(s.cmd.Process.Pid) {
			return s
		}
	}
	return nil
}

// versions returns the serving version of model and how many versions it has (/models/{model}).
func versions(t *testing.T, s *server, model string) (serving string, n int) {
	t.Helper()
	status, body := s.get(t, "/models/"+model)
	var m struct {
		ServingVersion string            `json:"serving_version"`
		Versions       []json.RawMessage `json:"versions"`
	}
	if err := json.Unmarshal([]byte(body), &m); status != 200 || err != nil {
		t.Fatalf("/models/%s: %d %v %.300s", model, status, err, body)
	}
	return m.ServingVersion, len(m.Versions)
}
