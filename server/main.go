// Command stockagent-server is the forecasting service: a Fiber app over an
// embedded CPython interpreter that runs the stockagent package.
//
// main reads as a table of contents: configuration, interpreter, services,
// HTTP app, then serve until SIGINT/SIGTERM and shut down in order.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"stockagent/pybridge"
	"stockagent/server/config"
	"stockagent/server/forecast"
	"stockagent/server/httpapi"
	"stockagent/server/tasks"
)

// defaultPython is the venv's python the binary was built against (set by the Makefile).
var defaultPython string

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "stockagent-server:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load(os.Getenv, defaultPython)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := cfg.Logger()
	slog.SetDefault(log)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	// Python reads the same data folder, as an absolute path.
	os.Setenv("DATA_DIR", cfg.DataDir)

	log.Info("starting the interpreter", "python", cfg.Python)
	py, err := pybridge.Start(pybridge.Config{
		Executable:       cfg.Python,
		Modules:          []string{"stockagent.runtime", "stockagent.entry"},
		Setup:            "stockagent.runtime:attach",
		ThreadSetup:      "stockagent.runtime:configure_thread",
		InferenceWorkers: cfg.InferenceWorkers,
		LongWorkers:      cfg.LongWorkers,
		InferenceThreads: cfg.InferenceThreads,
		LongThreads:      cfg.LongThreads,
		Logger:           log,
	})
	if err != nil {
		return err
	}
	info := py.Info()
	log.Info("interpreter ready", "version", info.Version, "prefix", info.Prefix,
		"startup_seconds", info.StartupTime, "imports", info.ImportTimes)

	taskMgr := tasks.New(tasks.Config{MaxRunning: cfg.MaxTasks, Timeout: cfg.TrainingTimeout, Logger: log})
	svc := forecast.NewService(forecast.NewClient(py), taskMgr)
	app := httpapi.New(httpapi.Deps{
		Logger:      log,
		Python:      py,
		Forecast:    svc,
		Tasks:       taskMgr,
		CallTimeout: cfg.CallTimeout,
	})

	serveErr := make(chan error, 1)
	go func() { serveErr <- app.Listen(cfg.Addr()) }()
	log.Info("listening", "addr", cfg.Addr(), "data_dir", cfg.DataDir)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-serveErr:
		return fmt.Errorf("listen %s: %w", cfg.Addr(), err)
	case sig := <-stop:
		log.Info("shutting down", "signal", sig.String())
	}

	// In order: stop taking requests and finish those in flight, cancel the
	// background tasks, then stop the interpreter's lanes.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = errors.Join(
		app.ShutdownWithContext(ctx),
		taskMgr.Shutdown(ctx),
		py.Shutdown(ctx),
	)
	if err != nil {
		log.Warn("shutdown incomplete", "error", err)
	}
	log.Info("stopped")
	return nil
}
