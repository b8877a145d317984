package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is one run's settings, read from flags once.
type Config struct {
	Python string // the venv's python: embedded, and run by the worker and subprocess back-ends
	Server string // the server binary for the server workloads and the load phase
	// Baseline is another checkout whose server binary (.build/stockagent-server) and
	// venv (.venv) run the server workloads too, in the same run; empty: none.
	Baseline  string
	DataDir   string // trained models; empty: train tiny ones in a temporary folder
	OutDir    string // results: results.json, results.md, latency.svg, server logs
	Workloads []string

	// Iterations per workload for the embedded, worker and gpython back-ends,
	// and for the subprocess back-end; zero: each workload's default.
	Iterations, SubprocessIterations int
	// HTTPRequests per concurrency level; zero: each HTTP workload's default.
	HTTPRequests int
	Concurrency  []int

	// Analyses is how many cache-miss analyses the analyze workload asks for; ParentEpochs
	// the epochs of the parent training the training workload runs beside forecasts.
	Analyses, ParentEpochs int

	LoadDuration    time.Duration
	LoadRate        float64 // requests per second, sent on schedule
	LoadCachedShare float64 // of the load's requests, the share answered from the cache; the rest are computed
}

// allWorkloads are the workload names -workloads accepts, in run order.
var allWorkloads = []string{"noop", "features", "forecast", "embed", "policy", "llm", "http", "redis", "training", "analyze", "load"}

// serverWorkloads run against a server binary, the baseline's too; load runs
// against this checkout's only.
var serverWorkloads = []string{"http", "redis", "training", "analyze"}

func parseFlags(args []string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bench [flags]\n\n"+
			"Drives the same workloads through the embedded interpreter, a persistent Python worker,\n"+
			"a Python process per call and gpython, the LLM's raw speed, then the server workloads\n"+
			"(HTTP /predict-child, Redis, forecasts during training, analyses) against the real server,\n"+
			"then an open-loop load; writes results.json, results.md and latency.svg, and prints every\n"+
			"figure beside the previous run's (and the baseline's, with BENCH_BASELINE).\n\n")
		fs.PrintDefaults()
	}
	var c Config
	var workloads, concurrency string
	fs.StringVar(&c.Python, "python", envOr("PYTHON_EXECUTABLE", ".venv/bin/python"), "the virtual environment's python (env PYTHON_EXECUTABLE)")
	fs.StringVar(&c.Server, "server", envOr("STOCKAGENT_SERVER_BIN", ".build/stockagent-server"), "the server binary (env STOCKAGENT_SERVER_BIN)")
	fs.StringVar(&c.Baseline, "baseline", os.Getenv("BENCH_BASELINE"), "another checkout (its .build/stockagent-server and .venv) whose server runs the server workloads too, as the before figures (env BENCH_BASELINE)")
	fs.StringVar(&c.DataDir, "data", os.Getenv("BENCH_DATA_DIR"), "a data folder with trained parent and AAPL models, missing ones trained there (env BENCH_DATA_DIR); empty: tiny ones in a temporary folder")
	fs.StringVar(&c.OutDir, "out", ".build/bench", "results folder")
	fs.StringVar(&workloads, "workloads", strings.Join(allWorkloads, ","), "comma-separated, from "+strings.Join(allWorkloads, ","))
	fs.IntVar(&c.Iterations, "iterations", 0, "calls per workload for the embedded, worker and gpython back-ends (0: per-workload defaults)")
	fs.IntVar(&c.SubprocessIterations, "subprocess-iterations", 0, "calls per workload for the process-per-call back-end (0: per-workload defaults)")
	fs.IntVar(&c.HTTPRequests, "http-requests", 0, "requests per concurrency level for the HTTP workloads (0: defaults)")
	fs.IntVar(&c.Analyses, "analyses", 3, "cache-miss analyses in the analyze workload (each a new thread)")
	fs.IntVar(&c.ParentEpochs, "parent-epochs", 3, "epochs of the parent training the training workload runs (a new parent version in the data folder, promoted as promote=auto decides)")
	fs.StringVar(&concurrency, "concurrency", "1,8,64", "comma-separated concurrency levels for the HTTP workloads")
	fs.DurationVar(&c.LoadDuration, "load-duration", 60*time.Second, "length of the open-loop load phase")
	fs.Float64Var(&c.LoadRate, "load-rate", 200, "requests per second in the load phase")
	fs.Float64Var(&c.LoadCachedShare, "load-cached-share", 0.5, "share of the load's requests answered from the prediction cache; the rest send Cache-Control: no-cache")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	if c.Workloads, err = parseWorkloads(workloads); err != nil {
		return c, err
	}
	if c.Concurrency, err = parseInts(concurrency); err != nil {
		return c, fmt.Errorf("-concurrency: %w", err)
	}
	switch {
	case c.Iterations < 0 || c.SubprocessIterations < 0 || c.HTTPRequests < 0:
		return c, errors.New("iteration and request counts must be >= 0")
	case c.Analyses < 1 || c.ParentEpochs < 1:
		return c, errors.New("-analyses and -parent-epochs must be >= 1")
	case c.LoadDuration <= 0 || c.LoadRate <= 0:
		return c, errors.New("-load-duration and -load-rate must be > 0")
	case c.LoadCachedShare < 0 || c.LoadCachedShare > 1:
		return c, fmt.Errorf("-load-cached-share must be in [0, 1], got %g", c.LoadCachedShare)
	}
	for _, p := range []*string{&c.Python, &c.Server, &c.OutDir, &c.DataDir, &c.Baseline} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return c, err
			}
		}
	}
	if _, err := os.Stat(c.Python); err != nil {
		return c, fmt.Errorf("python: %w (make setup creates .venv)", err)
	}
	if c.wantsServer() || c.wants("load") {
		if _, err := os.Stat(c.Server); err != nil {
			return c, fmt.Errorf("server binary: %w (make setup builds it)", err)
		}
	}
	if c.Baseline != "" {
		for _, p := range []string{c.baselineServer(), c.baselinePython()} {
			if _, err := os.Stat(p); err != nil {
				return c, fmt.Errorf("baseline: %w (make setup in %s builds it)", err, c.Baseline)
			}
		}
	}
	return c, nil
}

func (c Config) wants(workload string) bool { return slices.Contains(c.Workloads, workload) }

// wantsServer says whether a workload that runs against a server binary is selected.
func (c Config) wantsServer() bool {
	return slices.ContainsFunc(serverWorkloads, c.wants)
}

// The baseline checkout's server binary and python, where make setup puts them;
// PYTHON_EXECUTABLE overrides the python the binary has compiled in, so the
// baseline's server runs its own checkout's Python package.
func (c Config) baselineServer() string {
	return filepath.Join(c.Baseline, ".build", "stockagent-server")
}
func (c Config) baselinePython() string { return filepath.Join(c.Baseline, ".venv", "bin", "python") }

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func parseWorkloads(s string) ([]string, error) {
	var out []string
	for _, w := range strings.Split(s, ",") {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		if !slices.Contains(allWorkloads, w) {
			return nil, fmt.Errorf("-workloads: unknown %q; known: %s", w, strings.Join(allWorkloads, ","))
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		return nil, errors.New("-workloads: none given")
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("want positive integers, got %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
