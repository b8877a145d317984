// Command stockagent-server is the forecasting service: a Fiber app over an
// embedded CPython interpreter that runs the stockagent package.
//
// main reads as a table of contents: configuration and logging, the shared
// store, the interpreter, the services, the HTTP app, then serve until
// SIGINT/SIGTERM and shut down in order.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"stockagent/pybridge"
	"stockagent/server/analysis"
	"stockagent/server/cache"
	"stockagent/server/config"
	"stockagent/server/forecast"
	"stockagent/server/httpapi"
	"stockagent/server/logfile"
	"stockagent/server/metrics"
	"stockagent/server/monitoring"
	"stockagent/server/policy"
	"stockagent/server/pyapi"
	"stockagent/server/queue"
	"stockagent/server/ratelimit"
	"stockagent/server/store"
	"stockagent/server/supervisor"
	"stockagent/server/tasks"
	"stockagent/web"
)

// defaultPython is the venv's python the binary was built against (set by the Makefile).
var defaultPython string

func main() {
	supervise, err := supervisor.Enabled(os.Getenv)
	if err == nil && supervise {
		os.Exit(superviseServer())
	}
	if err == nil {
		err = run()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stockagent-server:", err)
		os.Exit(1)
	}
}

// superviseServer runs the server as a child process and restarts it after a crash
// (SUPERVISE=on). The configuration is checked here first, so that a mistake in it stops
// at once instead of in a restart loop; nothing else starts in this process.
func superviseServer() int {
	cfg, err := config.Load(os.Getenv, defaultPython)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stockagent-server: configuration:", err)
		return 1
	}
	return supervisor.Run(supervisor.Config{Logger: cfg.Logger(os.Stderr)})
}

func run() error {
	cfg, err := config.Load(os.Getenv, defaultPython)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	logFile, err := logfile.Open(cfg.LogFile(), int64(cfg.LogFileMB)<<20, 0)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log := cfg.Logger(io.MultiWriter(os.Stderr, logFile))
	slog.SetDefault(log)
	for _, line := range cfg.Deprecations {
		log.Warn(line)
	}

	// A broken or refused policy stops start-up here, naming the line and the reason.
	healthPolicy, err := policy.Load(cfg.PolicyFile)
	if err != nil {
		return err
	}

	st, hot, err := openStores(cfg)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close()
	defer hot.Close()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	limiter, err := newLimiter(cfg, hot)
	if err != nil {
		return err
	}
	// Not a usage quota: it holds whatever RATE_LIMITS says.
	authFailures, err := ratelimit.ParsePolicy("auth_failures", cfg.AuthFailureLimit)
	if err != nil {
		return fmt.Errorf("AUTH_FAILURE_LIMIT: %w", err)
	}
	lockout, err := ratelimit.NewLockout(hot, authFailures)
	if err != nil {
		return err
	}

	log.Info("starting the interpreter", "python", cfg.Python)
	py, err := pybridge.Start(pybridge.Config{
		Executable:       cfg.Python,
		Modules:          pyapi.Modules,
		Setup:            pyapi.FuncAttach,
		ThreadSetup:      pyapi.FuncConfigureThread,
		InferenceWorkers: cfg.InferenceWorkers,
		LongWorkers:      cfg.LongWorkers,
		InferenceThreads: cfg.InferenceThreads,
		LongThreads:      cfg.LongThreads,
		LongNice:         cfg.TrainingNice,
		AgentWorkers:     cfg.AgentWorkers,
		AgentThreads:     cfg.LongThreads,
		AgentQueue:       cfg.AgentQueue,
		Logger:           log,
		Metrics:          m,
	})
	if err != nil {
		return err
	}
	// Python's settings: the server's one mapping, once, before any other call.
	if _, err := pyapi.New(py).Configure(context.Background(), pyapi.Configuration{Settings: cfg.PythonSettings()}); err != nil {
		return fmt.Errorf("configuring Python: %w", err)
	}
	info := py.Info()
	log.Info("interpreter ready", "version", info.Version, "prefix", info.Prefix,
		"startup_seconds", info.StartupTime, "imports", info.ImportTimes)

	work, err := openQueue(cfg)
	if err != nil {
		return err
	}
	if work != nil {
		defer work.Close()
	}
	var monitor *monitoring.Service // set below; the training hooks need it
	taskCfg := tasks.Config{
		MaxRunning: trainingSlots(cfg), Timeout: cfg.TrainingTimeout, Lease: cfg.TaskLease, Logger: log,
		Hooks:  trainingHooks(m, func(r tasks.Record) { monitor.AfterTraining(r) }),
		NoWork: !cfg.TakesWork(),
	}
	if work != nil { // a nil *queue.Stream in the interface would not be nil; nil: the in-process queue
		taskCfg.Queue = work
	}
	taskMgr := tasks.New(st, taskCfg)
	predictions := cache.NewPredictions(hot, forecast.ServingVersions(st), cfg.PredictionCacheTTL,
		cache.WithObserver(m), cache.WithLocal(cfg.PredictionCacheLocalEntries, int64(cfg.PredictionCacheLocalMB)<<20))
	svc := forecast.NewService(forecast.NewClient(py), taskMgr, predictions, m, log)
	// The store's serving pointers are the truth: serving.json follows them.
	if err := svc.Reconcile(context.Background(), st); err != nil {
		log.Warn("serving pointers not reconciled", "error", err)
	}
	followCtx, stopFollow := context.WithCancel(context.Background())
	defer stopFollow()
	if n, ok := st.(store.Notifier); ok {
		svc.Follow(followCtx, st, n, servingCheckInterval)
	}
	// Every kind is registered (NewService): take work. Without Redis this
	// first queues again the runs a stopped process left queued or running.
	if err := taskMgr.Start(context.Background()); err != nil {
		log.Warn("unfinished tasks not recovered", "error", err)
	}
	analyst := analysis.New(analysis.Config{
		Threshold: cfg.SemanticThreshold, MaxAge: cfg.SemanticMaxAge, Timeout: cfg.AnalyzeTimeout,
		DataDir: cfg.DataDir, VectorsURL: cfg.QdrantURL, VectorsKey: cfg.QdrantAPIKey,
	}, py, svc, hot, m, log)
	defer analyst.Close()
	relay, err := openRelay(cfg, log)
	if err != nil {
		return err
	}
	relayCtx, stopRelay := context.WithCancel(context.Background())
	defer stopRelay()
	relayDone := make(chan struct{})
	if relay != nil {
		defer relay.Close()
		if cfg.ServesAPI() {
			analyst.UseRelay(relay)
		}
	}
	if relay != nil && cfg.TakesWork() {
		go func() {
			defer close(relayDone)
			relay.Serve(relayCtx, cfg.AgentWorkers, analyst.RunRelayed)
		}()
	} else {
		close(relayDone)
	}
	monitor = monitoring.New(monitoring.Config{AutoRetrain: cfg.MonitorAutoRetrain}, monitoring.Deps{
		Python: py, Policy: healthPolicy, Forecast: svc, Analyst: analyst,
		Store: st, Limiter: limiter, Observer: m, Logger: log,
	})
	var draining atomic.Bool // set on SIGTERM: /health fails readiness first
	webApp, err := web.Built()
	if err != nil {
		return err
	}
	app := httpapi.New(httpapi.Deps{
		Logger:          log,
		Python:          py,
		Forecast:        svc,
		Analysis:        analyst,
		Monitor:         monitor,
		AnalyzeTimeout:  cfg.AnalyzeTimeout,
		Store:           st,
		CacheStore:      hot,
		Metrics:         m,
		Limiter:         limiter,
		Docs:            func(r fiber.Router) { web.MountDocs(r, "/openapi.json") },
		App:             webApp,
		APIKeys:         cfg.APIKeys,
		OpenAccess:      cfg.OpenAccess,
		AdminToken:      cfg.AdminToken,
		AuthFailures:    lockout,
		MonitorRetrains: cfg.MonitorAutoRetrain,
		BacktestCostBps: cfg.BacktestCostBps,
		CORSOrigins:     cfg.CORSOrigins,
		AllowedHosts:    cfg.AllowedHosts,
		TrustedProxies:  cfg.TrustedProxies,
		DataDir:         cfg.DataDir,
		ModelsDir:       cfg.ModelsDir,
		LogFile:         logFile.Path(),
		CallTimeout:     cfg.CallTimeout,
		BatchMaxTickers: cfg.BatchMaxTickers,
		BatchThreads:    cfg.BatchThreads,
		ProbesOnly:      !cfg.ServesAPI(),
		Draining:        draining.Load,
	})
	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go watch(watchCtx, st, taskMgr, m)
	if cfg.MonitorInterval > 0 {
		go monitor.Schedule(watchCtx, cfg.MonitorInterval)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- app.Listen(cfg.Addr()) }()
	log.Info("listening", "addr", cfg.Addr(), "role", cfg.Role, "data_dir", cfg.DataDir, "store", st.Name(), "cache_store", hot.Name(), "rate_limits", limiter != nil,
		"access", cfg.AccessMode())
	if cfg.Exposed() && len(cfg.APIKeys) == 0 {
		log.Warn("listening beyond loopback without API_KEYS", "addr", cfg.Addr(), "access", cfg.AccessMode())
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-serveErr:
		return fmt.Errorf("listen %s: %w", cfg.Addr(), err)
	case sig := <-stop:
		log.Info("shutting down", "signal", sig.String())
	}

	// In order, within SHUTDOWN_TIMEOUT: fail readiness (/health: draining)
	// while still answering; stop claiming queued work and hand running
	// trainings back to the queue at their next epoch (without Redis the next
	// start resumes them); stop taking requests and finish those
	// in flight; then stop the interpreter's lanes. Following the serving
	// pointer stops first: a version loaded now would serve no one.
	draining.Store(true)
	stopFollow()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	stopRelay() // claim no more analyses; those running finish or end with their waiters
	err = errors.Join(
		taskMgr.Shutdown(ctx),
		app.ShutdownWithContext(ctx),
		awaitClosed(ctx, relayDone),
		py.Shutdown(ctx),
	)
	if err != nil {
		log.Warn("shutdown incomplete", "error", err)
	}
	log.Info("stopped")
	return nil
}

// servingCheckInterval is how often a replica re-reads the shared serving pointers, for
// notices it missed: slow, since a notice normally arrives within milliseconds.
const servingCheckInterval = 30 * time.Second

// openStores returns the store of record (task records, locks, fencing counters) and the
// store of hot, disposable state (prediction cache, rate limits, analysis caches): the
// Redis at REDIS_URL for both, or without it a bbolt file in the data folder, which
// survives a crash, and memory, which keeps the hot paths free of disk writes.
func openStores(cfg config.Config) (state, hot store.Store, err error) {
	if cfg.RedisURL != "" {
		st, err := store.Open(cfg.RedisURL)
		return st, st, err
	}
	b, err := store.OpenBolt(filepath.Join(cfg.DataDir, "state", "store.db"))
	if err != nil {
		return nil, nil, err
	}
	return b, store.NewMemory(), nil
}

// openRelay opens the analysis stream and its replies (analysis.Relay); nil
// without Redis, where analyses run in process.
func openRelay(cfg config.Config, log *slog.Logger) (*analysis.Relay, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	host, _ := os.Hostname()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := analysis.OpenRelay(ctx, cfg.RedisURL, "", fmt.Sprintf("%s/%d", host, os.Getpid()), cfg.TaskLease, cfg.AnalyzeTimeout, log)
	if err != nil {
		return nil, fmt.Errorf("analysis stream: %w", err)
	}
	return r, nil
}

// awaitClosed waits until done is closed or ctx ends.
func awaitClosed(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("analyses still running: %w", ctx.Err())
	}
}

// trainingSlots is how many trainings this process runs, and so claims from the
// work queue, at once: MAX_TASKS, but no more than its long-work lanes
// (LONG_WORKERS) run; an entry claimed beyond them would wait here while
// another process could start it.
func trainingSlots(cfg config.Config) int { return min(cfg.MaxTasks, cfg.LongWorkers) }

// openQueue opens the work queue that processes sharing REDIS_URL take
// trainings from; nil without Redis (tasks.Manager's in-process queue).
func openQueue(cfg config.Config) (*queue.Stream, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	host, _ := os.Hostname()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q, err := queue.Open(ctx, cfg.RedisURL, queue.StreamKey, fmt.Sprintf("%s/%d", host, os.Getpid()), cfg.TaskLease)
	if err != nil {
		return nil, fmt.Errorf("work queue: %w", err)
	}
	return q, nil
}

// newLimiter builds the per-client rate limiter; nil when RATE_LIMITS=off.
func newLimiter(cfg config.Config, st store.Store) (*ratelimit.Limiter, error) {
	if !cfg.RateLimits {
		return nil, nil
	}
	training, err := ratelimit.ParsePolicy("training", cfg.RateLimitTraining)
	if err != nil {
		return nil, fmt.Errorf("RATE_LIMIT_TRAINING: %w", err)
	}
	prediction, err := ratelimit.ParsePolicy("prediction", cfg.RateLimitPrediction)
	if err != nil {
		return nil, fmt.Errorf("RATE_LIMIT_PREDICTION: %w", err)
	}
	analysis, err := ratelimit.ParsePolicy("analysis", cfg.RateLimitAnalysis)
	if err != nil {
		return nil, fmt.Errorf("RATE_LIMIT_ANALYSIS: %w", err)
	}
	return ratelimit.New(st, ratelimit.Config{Enabled: true, Policies: []ratelimit.Policy{training, prediction, analysis}})
}

// trainingHooks turn the life cycles of training tasks into the training
// metrics, and pass every finished training to finished (monitoring).
func trainingHooks(m *metrics.Metrics, finished func(tasks.Record)) tasks.Hooks {
	kind := func(r tasks.Record) string { return strings.TrimPrefix(r.Kind, "train_") }
	training := func(r tasks.Record) bool { return r.Kind != forecast.KindBacktest } // backtests are no trainings
	return tasks.Hooks{
		Started: func(r tasks.Record) {
			if training(r) {
				m.TrainingStarted(kind(r))
			}
		},
		Finished: func(r tasks.Record) {
			if !training(r) {
				return
			}
			elapsed := r.Elapsed(time.Now()) // a finished record has its end: now is not read
			var res struct {
				BestValLoss float64 `json:"best_val_loss"`
			}
			_ = json.Unmarshal(r.Result, &res) // a run that failed has no result: its loss counts as 0
			m.TrainingFinished(kind(r), elapsed, string(r.Status), res.BestValLoss)
			finished(r)
		},
	}
}

// watch keeps the gauges that no request updates current: Redis's health
// (redis_up stays 0 with the in-process store) and the task queue.
func watch(ctx context.Context, st store.Store, tm *tasks.Manager, m *metrics.Metrics) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		if st.Name() == "redis" {
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			m.RedisUp(st.Ping(pctx) == nil)
			cancel()
		}
		m.TaskQueue(tm.Counts())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
