// Command bench drives the same workloads through the back-ends the product
// could use to reach Python: the embedded interpreter (the product), a
// persistent Python worker over pipes, a Python process per call (the old
// system) and, for policy rules, gpython; then HTTP /predict-child against
// the real server binary, answered from the prediction cache and computed
// afresh (Cache-Control: no-cache), at several concurrency levels; cached
// forecasts with Redis beside the in-process store; forecasts while a parent
// training runs; cache-miss analyses, streamed; then an open-loop load
// mixing cached and computed forecasts on the same server. The model's raw
// speed (llama.cpp alone) is measured too. With a baseline checkout
// (BENCH_BASELINE) its server runs the server workloads as well, in the same
// run. It writes results.json, results.md and latency.svg to its results
// folder (make bench: .build/bench) and prints every figure in one table,
// beside the previous run's from that folder (and the baseline's).
//
// It exits 1 when a back-end answered differently from the embedded
// interpreter, an HTTP request failed in the closed-loop runs, or the
// server's count of computed forecasts shows a cached request computed or
// an uncached one did not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(mainCode(os.Args[1:], os.Stdout, os.Stderr))
}

func mainCode(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	// The previous run's results, read before this run replaces them.
	prev, err := loadPrevious(cfg.OutDir)
	if err != nil {
		fmt.Fprintln(stderr, "bench: the previous run's results are unreadable, compared with nothing:", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	paths, err := rep.write(cfg.OutDir, prev)
	if err != nil {
		fmt.Fprintln(stderr, "bench: writing results:", err)
		return 1
	}
	fmt.Fprintf(stdout, "==> done in %.0f s\n\n", rep.Seconds)
	rep.figureTable(stdout, prev)
	fmt.Fprintln(stdout, "results:")
	for _, p := range paths {
		fmt.Fprintln(stdout, "  "+p)
	}
	if failed := rep.Failed(); len(failed) > 0 {
		for _, c := range failed {
			fmt.Fprintf(stderr, "bench: %s through %s: %s\n", c.Workload, c.Backend, c.Detail)
		}
		return 1
	}
	return 0
}
