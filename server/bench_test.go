package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"stockagent/server/store/storetest"
)

// benchServer starts the real server with a trained parent and AAPL child
// (tiny trainings; BENCH_DATA_DIR reuses models trained before).
func benchServer(b *testing.B, extra map[string]string) (*server, string) {
	b.Helper()
	dataDir := os.Getenv("BENCH_DATA_DIR")
	if dataDir == "" {
		dataDir = b.TempDir()
	}
	env := map[string]string{
		"DATA_SOURCE": "bundled", "LOG_LEVEL": "warn", "RATE_LIMITS": "off", "MLFLOW_DISABLE": "1",
		"PARENT_EPOCHS": "1", "CHILD_EPOCHS": "1", "PARENT_START_DATE": "2016-01-01",
	}
	for k, v := range extra {
		env[k] = v
	}
	srv := startServer(b, dataDir, env)
	for {
		status, body := srv.post(b, "/predict-child", `{"ticker":"AAPL"}`)
		if status == 200 {
			return srv, dataDir
		}
		if status != 202 {
			b.Fatalf("predict: %d %s", status, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(p float64) float64 { return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// /predict-child over HTTP with the model in memory (no prediction cache;
// 2000 requests), next to the old design measured in the same run: a Python
// process per forecast that imports torch and loads the model (10 runs).
// Each sub-benchmark reports percentiles over its own requests; run with
// -benchtime 1x.
func BenchmarkPredictChild(b *testing.B) {
	srv, dataDir := benchServer(b, map[string]string{"PREDICTION_CACHE_TTL": "1ns"})
	b.Run("embedded-http", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			for range 2000 {
				t0 := time.Now()
				if status, body := srv.post(b, "/predict-child", `{"ticker":"AAPL"}`); status != 200 {
					b.Fatalf("%d %s", status, body)
				}
				lat = append(lat, time.Since(t0))
			}
		}
		reportPercentiles(b, lat)
	})
	b.Run("subprocess-cli", func(b *testing.B) {
		python, _ := filepath.Abs("../.venv/bin/python")
		var lat []time.Duration
		for b.Loop() {
			for range 10 {
				cmd := exec.Command(python, "-m", "stockagent.cli", "predict-child", "--ticker", "AAPL")
				cmd.Env = append(os.Environ(), "DATA_DIR="+dataDir, "DATA_SOURCE=bundled")
				t0 := time.Now()
				out, err := cmd.Output()
				lat = append(lat, time.Since(t0))
				if err != nil || !strings.Contains(string(out), `"full_forecast"`) {
					b.Fatalf("cli: %v %.300s", err, out)
				}
			}
		}
		reportPercentiles(b, lat)
	})
}

// A child's default training (10 epochs, full bundled history) through the API.
func BenchmarkTrainChildDefault(b *testing.B) {
	srv, _ := benchServer(b, nil)
	for b.Loop() {
		if status, body := srv.post(b, "/train-child", `{"ticker":"MSFT","epochs":10,"force":true}`); status != 200 {
			b.Fatalf("%d %s", status, body)
		}
		var rec struct {
			Status, Error string
			Result        struct{ Seconds float64 }
		}
		for rec.Status != "completed" {
			time.Sleep(200 * time.Millisecond)
			_, body := srv.get(b, "/status/msft")
			if err := json.Unmarshal([]byte(body), &rec); err != nil {
				b.Fatalf("%v: %.300s", err, body)
			}
			if rec.Status == "failed" {
				b.Fatalf("training failed: %s", rec.Error)
			}
		}
		b.ReportMetric(rec.Result.Seconds, "train-s")
	}
}

// Cached /predict-child, rate limits off: latency at concurrency 1 and
// throughput at concurrency 64, with the in-process store and with Redis.
// The load comes from a fasthttp client in this process, on the same 2 cores.
func BenchmarkPredictChildCached(b *testing.B) {
	for _, backend := range []string{"memory", "redis"} {
		b.Run(backend, func(b *testing.B) {
			env := map[string]string{}
			if backend == "redis" {
				env["REDIS_URL"] = storetest.StartRedis(b)
			}
			srv, _ := benchServer(b, env)
			client := &fasthttp.Client{MaxConnsPerHost: 128}
			call := func() error {
				req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(res)
				req.SetRequestURI(srv.base + "/predict-child")
				req.Header.SetMethod("POST")
				req.Header.SetContentType("application/json")
				req.SetBodyString(`{"ticker":"AAPL"}`)
				if err := client.Do(req, res); err != nil {
					return err
				}
				if res.StatusCode() != 200 {
					return fmt.Errorf("status %d: %.200s", res.StatusCode(), res.Body())
				}
				return nil
			}
			b.Run("c1", func(b *testing.B) {
				var lat []time.Duration
				for b.Loop() {
					for range 5000 {
						t0 := time.Now()
						if err := call(); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
					}
				}
				reportPercentiles(b, lat)
			})
			b.Run("c64", func(b *testing.B) {
				const workers, each = 64, 300
				for b.Loop() {
					var wg sync.WaitGroup
					errs := make(chan error, workers)
					t0 := time.Now()
					for range workers {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for range each {
								if err := call(); err != nil {
									errs <- err
									return
								}
							}
						}()
					}
					wg.Wait()
					close(errs)
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(workers*each)/time.Since(t0).Seconds(), "req/s")
				}
			})
		})
	}
}

// /analyze: one cache-miss analysis end to end with the in-process SmolLM2
// (and its generation speed from the answer's node metrics), then repeated
// identical requests answered from the semantic cache.
func BenchmarkAnalyze(b *testing.B) {
	srv, _ := benchServer(b, map[string]string{"NEWS_SOURCE": "none"})
	var missSeconds, tokens, llmSeconds float64
	b.Run("miss", func(b *testing.B) {
		for b.Loop() {
			t0 := time.Now()
			status, body := srv.post(b, "/analyze", `{"ticker":"AAPL","thread_id":"bench-miss"}`)
			missSeconds = time.Since(t0).Seconds()
			if status != 200 {
				b.Fatalf("%d %.300s", status, body)
			}
			var a struct {
				Nodes []struct {
					Seconds          float64 `json:"seconds"`
					CompletionTokens int     `json:"completion_tokens"`
				} `json:"nodes"`
			}
			if err := json.Unmarshal([]byte(body), &a); err != nil {
				b.Fatalf("%v: %.300s", err, body)
			}
			for _, n := range a.Nodes {
				if n.CompletionTokens > 0 {
					tokens += float64(n.CompletionTokens)
					llmSeconds += n.Seconds
				}
			}
		}
		b.ReportMetric(missSeconds, "analysis-s")
		if llmSeconds > 0 {
			b.ReportMetric(tokens/llmSeconds, "tok/s")
		}
	})
	b.Run("hit", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			for range 200 {
				t0 := time.Now()
				status, body := srv.post(b, "/analyze", `{"ticker":"AAPL"}`)
				lat = append(lat, time.Since(t0))
				if status != 200 || !strings.Contains(body, `"cached":true`) {
					b.Fatalf("not a cache hit: %d %.200s", status, body)
				}
			}
		}
		reportPercentiles(b, lat)
	})
}

// batchTickers writes n synthetic tickers (B000, B001, …) into a prices
// folder: each is a bundled stock's history with its prices scaled, so every
// ticker has its own data, scalers and head while the work per ticker is that
// of a real one.
func batchTickers(b *testing.B, dir string, n int) []string {
	b.Helper()
	srcs, err := filepath.Glob("../pymodules/stockagent/market/bundled/*.csv")
	if err != nil || len(srcs) == 0 {
		b.Fatalf("bundled prices: %v", err)
	}
	srcs = slices.DeleteFunc(srcs, func(p string) bool { return strings.HasSuffix(p, "GSPC.csv") })
	var names []string
	for i := range n {
		raw, err := os.ReadFile(srcs[i%len(srcs)])
		if err != nil {
			b.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		scale := 1 + float64(i)/50
		var out strings.Builder
		out.WriteString(lines[0] + "\n")
		for _, line := range lines[1:] {
			f := strings.Split(line, ",")
			for j := 1; j <= 5; j++ { // Open, High, Low, Close, Adj Close
				var v float64
				if _, err := fmt.Sscan(f[j], &v); err != nil {
					b.Fatalf("%s: %q: %v", srcs[i%len(srcs)], line, err)
				}
				f[j] = fmt.Sprintf("%.6f", v*scale)
			}
			out.WriteString(strings.Join(f, ",") + "\n")
		}
		name := fmt.Sprintf("B%03d", i)
		if err := os.WriteFile(filepath.Join(dir, name+".csv"), []byte(out.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// POST /predict-batch with 100 tickers, each a child trained with the freeze
// strategy (one LSTM forward for all), against the same 100 forecasts asked
// one /predict-child at a time with no prediction cache. Run with
// -benchtime 1x; the 100 trainings (1 epoch each) come first.
func BenchmarkPredictBatch(b *testing.B) {
	const n = 100
	prices := b.TempDir()
	names := batchTickers(b, prices, n)
	srv, _ := benchServer(b, map[string]string{"PRICES_DIR": prices, "PREDICTION_CACHE_TTL": "1ns", "MAX_TASKS": "256"})
	for _, name := range names {
		if status, body := srv.post(b, "/train-child", fmt.Sprintf(`{"ticker":%q,"start_date":"2021-01-01"}`, name)); status != 200 {
			b.Fatalf("train %s: %d %s", name, status, body)
		}
	}
	for _, name := range names {
		for {
			_, body := srv.get(b, "/status/"+strings.ToLower(name))
			if strings.Contains(body, `"status":"completed"`) {
				break
			}
			if strings.Contains(body, `"status":"failed"`) {
				b.Fatalf("training %s failed: %s", name, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	quoted, _ := json.Marshal(names)
	body := `{"tickers":` + string(quoted) + `}`
	b.Run("batch-100", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			for range 50 {
				t0 := time.Now()
				status, out := srv.post(b, "/predict-batch", body)
				lat = append(lat, time.Since(t0))
				if status != 200 || !strings.Contains(out, fmt.Sprintf(`"answered":%d,"failed":0,"lstm_forwards":1`, n)) {
					b.Fatalf("%d %.300s", status, out)
				}
			}
		}
		reportPercentiles(b, lat)
	})
	b.Run("single-x100", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			for range 10 {
				t0 := time.Now()
				for _, name := range names {
					if status, out := srv.post(b, "/predict-child", fmt.Sprintf(`{"ticker":%q}`, name)); status != 200 {
						b.Fatalf("%d %.300s", status, out)
					}
				}
				lat = append(lat, time.Since(t0))
			}
		}
		reportPercentiles(b, lat)
	})
}

// Twenty child trainings queued through an api replica on Redis and finished by one trainer
// process, then by two (one torch thread each, fresh data folders). A task id is a ticker, so the
// nine bundled children are queued at once and each is queued again (forced) as its run completes
// until twenty have run: the queue never runs dry while work is left. Reports both wall times and
// their ratio; run with -benchtime 1x.
func BenchmarkQueueTrainers(b *testing.B) {
	const total = 20
	children := []string{"AAPL", "AMZN", "GOOGL", "JPM", "META", "MSFT", "NVDA", "SPY", "TSLA"}
	wall := map[int]time.Duration{}
	for range b.N {
		for _, n := range []int{1, 2} {
			env := map[string]string{
				"DATA_SOURCE": "bundled", "LOG_LEVEL": "warn", "RATE_LIMIT_TRAINING": "0", "MLFLOW_DISABLE": "1",
				"PARENT_EPOCHS": "1", "CHILD_EPOCHS": "3", "PARENT_START_DATE": "2016-01-01",
				"TRAINING_THREADS": "1", "REDIS_URL": storetest.StartRedis(b), "ROLE": "api",
			}
			dataDir := b.TempDir()
			api := startServer(b, dataDir, env)
			env["ROLE"] = "trainer"
			for range n {
				startServer(b, dataDir, env)
			}
			api.post(b, "/train-parent", `{}`)
			waitTask(b, api, "parent_training")
			took := keepQueueFull(b, api, children, total)
			wall[n] += took
			b.Logf("%d trainer(s): %d trainings in %s", n, total, took.Round(time.Millisecond))
		}
	}
	b.ReportMetric(wall[1].Seconds()/float64(b.N), "s-one-trainer")
	b.ReportMetric(wall[2].Seconds()/float64(b.N), "s-two-trainers")
	b.ReportMetric(wall[1].Seconds()/wall[2].Seconds(), "speedup")
}

// keepQueueFull queues a training of every ticker, queues a ticker again (forced) whenever its run
// completes, until total runs have completed, and returns the time that took.
func keepQueueFull(b *testing.B, api *server, tickers []string, total int) time.Duration {
	b.Helper()
	start := time.Now()
	submit := func(tk string, force bool) {
		body := fmt.Sprintf(`{"ticker":%q,"force":%t}`, tk, force)
		if status, out := api.post(b, "/train-child", body); status != 200 || !strings.Contains(out, `"started"`) {
			b.Fatalf("train %s: %d %s", tk, status, out)
		}
	}
	done := map[string]string{} // ticker → run id of its last completed run
	submitted, completed := 0, 0
	for _, tk := range tickers {
		submit(tk, false)
		done[tk] = ""
		submitted++
	}
	for deadline := time.Now().Add(30 * time.Minute); completed < total; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d trainings done within 30 minutes", completed, total)
		}
		for _, tk := range tickers {
			_, body := api.get(b, "/status/"+strings.ToLower(tk))
			var rec taskStatus
			if err := json.Unmarshal([]byte(body), &rec); err != nil {
				b.Fatalf("/status/%s: %v %s", tk, err, body)
			}
			if rec.Status == "failed" {
				b.Fatalf("training of %s failed: %s", tk, body)
			}
			if rec.Status != "completed" || rec.RunID == done[tk] {
				continue
			}
			done[tk] = rec.RunID
			completed++
			if submitted < total {
				submit(tk, true)
				submitted++
			}
		}
	}
	return time.Since(start)
}

// waitTask polls /status/{id} until the task completed (a failure fails b).
func waitTask(b *testing.B, s *server, id string) {
	b.Helper()
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		_, body := s.get(b, "/status/"+id)
		var rec taskStatus
		if err := json.Unmarshal([]byte(body), &rec); err != nil {
			b.Fatalf("/status/%s: %v %s", id, err, body)
		}
		switch rec.Status {
		case "completed":
			return
		case "failed":
			b.Fatalf("task %s failed: %s", id, body)
		}
	}
	b.Fatalf("task %s not done within 10 minutes", id)
}
