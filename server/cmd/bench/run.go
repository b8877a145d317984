package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"time"

	"stockagent/pybridge"
	"stockagent/server/cmd/bench/pyproc"
	"stockagent/server/policy"
	"stockagent/server/pyapi"
)

// run drives the selected workloads through every back-end, then the HTTP
// workloads and the load phase against the server binary (whose logs go to
// cfg.OutDir), and returns the report; Report.write saves it. Progress goes
// to progress. A run whose answers differ between back-ends still returns
// its report; Report.Failed lists why.
func run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	rep := &Report{Started: time.Now(), Settings: Settings{
		Workloads: cfg.Workloads, Concurrency: cfg.Concurrency,
		LoadSeconds: cfg.LoadDuration.Seconds(), LoadRate: cfg.LoadRate, LoadCachedShare: cfg.LoadCachedShare,
	}}
	rep.Machine = Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), PeakRSSPerWorkload: resetPeak(os.Getpid())}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, err
	}
	dataDir := cfg.DataDir
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "stockagent-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dataDir, rep.Settings.TrainedModels = tmp, true
	}
	// The worker and per-call processes read the data folder and source from
	// their environment; the embedded interpreter is configured below.
	pyEnv := []string{"DATA_DIR=" + dataDir, "DATA_SOURCE=bundled", "MLFLOW_DISABLE=1"}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cli := &pyproc.Subprocess{Python: cfg.Python, Env: pyEnv}
	if err := ensureModels(ctx, cli, progress); err != nil {
		return nil, err
	}

	fmt.Fprintf(progress, "==> starting the embedded interpreter (%s)\n", cfg.Python)
	in, err := pybridge.Start(pybridge.Config{
		Executable:  cfg.Python,
		Modules:     pyapi.Modules,
		Setup:       pyapi.FuncAttach,
		ThreadSetup: pyapi.FuncConfigureThread,
		Logger:      logger,
	})
	if err != nil {
		return nil, err
	}
	settings := pyapi.Configuration{Settings: map[string]string{"DATA_DIR": dataDir, "DATA_SOURCE": "bundled"}}
	if _, err := pyapi.New(in).Configure(ctx, settings); err != nil {
		return nil, fmt.Errorf("configuring Python: %w", err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := in.Shutdown(stopCtx); err != nil {
			logger.Warn("stopping the embedded interpreter", "error", err)
		}
	}()
	rep.Machine.Python = in.Info().Version

	answers := map[string]map[string][]byte{}
	if err := runDirect(ctx, cfg, in, cli, logger, rep, answers, progress); err != nil {
		return nil, err
	}
	rep.Checks = compareAnswers(answers)
	if cfg.wants("llm") {
		if rep.LLM, err = llmSpeed(ctx, cfg.Python, pyEnv, progress); err != nil {
			return nil, fmt.Errorf("the llm workload: %w", err)
		}
	}
	if cfg.wantsServer() || cfg.wants("load") {
		if err := runServer(ctx, cfg, in, dataDir, rep, progress); err != nil {
			return nil, err
		}
	}
	rep.sortResults()
	rep.addRatios()
	rep.Figures = rep.figures()
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// runDirect measures the selected direct workloads back-end by back-end, so
// each back-end's processes live only for their own stretch.
func runDirect(ctx context.Context, cfg Config, in *pybridge.Interpreter, cli *pyproc.Subprocess, logger *slog.Logger, rep *Report, answers map[string]map[string][]byte, progress io.Writer) error {
	var selected []workload
	for _, wl := range workloads() {
		if cfg.wants(wl.name) {
			selected = append(selected, wl)
		}
	}
	if len(selected) == 0 {
		return nil
	}
	drive := func(b backend) error {
		for _, wl := range selected {
			if !b.runs(wl) {
				continue
			}
			res, answer, err := measure(ctx, b, wl, iterations(cfg, b, wl), progress)
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, res)
			if answers[wl.name] == nil {
				answers[wl.name] = map[string][]byte{}
			}
			answers[wl.name][b.name()] = answer
		}
		return nil
	}

	fmt.Fprintln(progress, "==> embedded interpreter (this process)")
	if err := drive(embeddedBackend{in}); err != nil {
		return err
	}

	fmt.Fprintln(progress, "==> persistent worker process (python -m stockagent.worker, frames over pipes)")
	t0 := time.Now()
	w, err := pyproc.StartWorkers(pyproc.WorkerConfig{
		Python: cfg.Python, Modules: pyapi.Modules, Env: cli.Env, Logger: logger, // the per-call processes' environment
	})
	if err != nil {
		return err
	}
	rep.Machine.WorkerStartSeconds = time.Since(t0).Seconds()
	err = drive(workerBackend{w})
	stopCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := errors.Join(err, w.Shutdown(stopCtx)); err != nil {
		return err
	}

	fmt.Fprintln(progress, "==> a Python process per call (python -m stockagent.cli)")
	if err := drive(&subprocessBackend{sub: cli}); err != nil {
		return err
	}

	fmt.Fprintln(progress, "==> gpython (policy rules, in this process)")
	return drive(gpythonBackend{policy.Default()})
}

// ServerSide is what the server workloads measured against one server binary.
type ServerSide struct {
	Results  []Result        `json:"results"` // HTTP /predict-child, closed loop
	Redis    *RedisResult    `json:"redis,omitempty"`
	Training *TrainingResult `json:"training,omitempty"`
	Analyze  *AnalyzeResult  `json:"analyze,omitempty"`
}

// Baseline is the server workloads against another checkout's binary, in
// the same run: the "before" figures.
type Baseline struct {
	Checkout string `json:"checkout"`
	ServerSide
}

// runServer runs the server workloads against the baseline's binary, when
// there is one, then against this checkout's, then the load phase on the latter.
func runServer(ctx context.Context, cfg Config, in *pybridge.Interpreter, dataDir string, rep *Report, progress io.Writer) error {
	if cfg.Baseline != "" && cfg.wantsServer() {
		fmt.Fprintf(progress, "==> before: the baseline's server (%s)\n", cfg.Baseline)
		side, checks, err := serverSide(ctx, cfg, target{"before", cfg.baselineServer(), cfg.baselinePython()}, nil, dataDir, nil, progress)
		if err != nil {
			return fmt.Errorf("the baseline: %w", err)
		}
		rep.Baseline = &Baseline{Checkout: cfg.Baseline, ServerSide: side}
		for i := range checks {
			checks[i].Backend = "baseline " + checks[i].Backend
		}
		rep.Checks = append(rep.Checks, checks...)
	}
	forecast, err := pyapi.New(in).Predict(ctx, pyapi.TickerRequest{Ticker: benchTicker})
	if err != nil {
		return fmt.Errorf("the reference forecast: %w", err)
	}
	if cfg.Baseline != "" {
		fmt.Fprintln(progress, "==> after: this checkout's server")
	}
	side, checks, err := serverSide(ctx, cfg, target{"after", cfg.Server, cfg.Python}, forecast, dataDir, rep, progress)
	if err != nil {
		return err
	}
	rep.Results = append(rep.Results, side.Results...)
	rep.Redis, rep.Training, rep.Analyze = side.Redis, side.Training, side.Analyze
	rep.Checks = append(rep.Checks, checks...)
	return nil
}

// serverSide starts t's server and runs the selected server workloads on
// it: /predict-child cached and uncached (its answers compared with
// forecast, when given), forecasts during a parent training, analyses, the
// Redis comparison (with a second server of t on Redis), and, when rep is
// given, the load phase.
func serverSide(ctx context.Context, cfg Config, t target, forecast json.RawMessage, dataDir string, rep *Report, progress io.Writer) (ServerSide, []Check, error) {
	var side ServerSide
	var checks []Check
	fmt.Fprintf(progress, "==> starting the server (%s)\n", t.server)
	srv, err := startServer(ctx, cfg.OutDir, t, dataDir, "")
	if err != nil {
		return side, nil, err
	}
	defer func() {
		if err := srv.stop(); err != nil {
			fmt.Fprintln(progress, "warning:", err)
		}
	}()
	client := newClient()
	url := srv.base + "/predict-child"
	// Warm up: the first forecast loads the model and fills the cache, so the
	// cached answer compared, and every cached request after, is a cache hit.
	for range 20 {
		if err := checkPost(client, url, predictBody, cached); err != nil {
			return side, nil, fmt.Errorf("warming the server up: %w", err)
		}
	}
	for _, mode := range []cacheMode{cached, uncached} {
		if forecast == nil {
			break
		}
		status, body, err := post(client, url, predictBody, mode, true)
		if err != nil {
			return side, nil, fmt.Errorf("the server's %s forecast: %w", mode, err)
		}
		if status != 200 {
			return side, nil, fmt.Errorf("the server's %s forecast: %d %.300s", mode, status, body)
		}
		checks = append(checks, compareHTTP(string(mode), body, forecast))
	}

	if cfg.wants("http") {
		fmt.Fprintln(progress, "==> HTTP /predict-child (closed loop: each client sends when its last answer arrives)")
		for _, mode := range []cacheMode{cached, uncached} {
			results, computed := httpRuns(cfg, client, srv, mode, progress)
			for _, r := range results {
				side.Results = append(side.Results, r)
				c := Check{Workload: r.Workload, Backend: fmt.Sprintf("server c=%d", r.Concurrency), OK: r.Errors == 0}
				if !c.OK {
					c.Detail = fmt.Sprintf("%d of %d requests failed", r.Errors, r.Iterations)
				}
				checks = append(checks, c)
			}
			checks = append(checks, computed)
		}
	}
	if cfg.wants("redis") {
		fmt.Fprintln(progress, "==> cached /predict-child with the in-process store, then with Redis")
		if side.Redis, err = redisBeside(ctx, cfg, t, srv, dataDir, progress); err != nil {
			return side, nil, fmt.Errorf("the redis workload: %w", err)
		}
	}
	if cfg.wants("training") {
		fmt.Fprintln(progress, "==> uncached /predict-child while a parent training runs, then idle")
		if side.Training, err = trainingBeside(ctx, client, srv, cfg.ParentEpochs, progress); err != nil {
			return side, nil, fmt.Errorf("the training workload: %w", err)
		}
	}
	if cfg.wants("analyze") {
		fmt.Fprintf(progress, "==> %d cache-miss analyses (POST /analyze, each a new thread, streamed)\n", cfg.Analyses)
		if side.Analyze, err = analyses(ctx, srv, cfg.Analyses, progress); err != nil {
			return side, nil, fmt.Errorf("the analyze workload: %w", err)
		}
	}
	if cfg.wants("load") && rep != nil {
		fmt.Fprintf(progress, "==> open-loop load: %s at %.0f requests/s, %.0f%% cached ... ", cfg.LoadDuration, cfg.LoadRate, 100*cfg.LoadCachedShare)
		if rep.Load, err = openLoop(ctx, client, srv, cfg.LoadRate, cfg.LoadCachedShare, cfg.LoadDuration); err != nil {
			return side, nil, fmt.Errorf("the load phase: %w", err)
		}
		fmt.Fprintf(progress, "%d sent, %d errors, %d forecasts computed, p99 %s\n", rep.Load.Sent, rep.Load.Errors, rep.Load.ForecastsComputed, fmtMS(rep.Load.All.P99))
	}
	return side, checks, nil
}
