package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Result is one workload through one back-end.
type Result struct {
	Workload    string `json:"workload"`
	Backend     string `json:"backend"`
	Concurrency int    `json:"concurrency"`
	Iterations  int    `json:"iterations"`
	Errors      int    `json:"errors"`
	Latency
	WallSeconds float64 `json:"wall_seconds"`
	Throughput  float64 `json:"throughput_per_second"`
	// CPUSeconds is the CPU time of the process(es) doing the work: this
	// process for embedded and gpython, the worker, the per-call processes,
	// or the server. CallerCPUSeconds is this process's, where it only sends
	// work elsewhere (pipes, fork and exec, the HTTP client).
	CPUSeconds       float64 `json:"cpu_seconds"`
	CallerCPUSeconds float64 `json:"caller_cpu_seconds,omitempty"`
	PeakRSSBytes     int64   `json:"peak_rss_bytes"`
	// How many times the subprocess and worker back-ends' p50 is this row's
	// (HTTP rows: against their forecast); 0 when there is nothing to compare.
	P50VsSubprocess float64 `json:"p50_ratio_vs_subprocess,omitempty"`
	P50VsWorker     float64 `json:"p50_ratio_vs_worker,omitempty"`
}

// measure warms b up with one call (whose answer it returns, for the
// comparison between back-ends), then times n calls one after another.
func measure(ctx context.Context, b backend, wl workload, n int, progress io.Writer) (Result, []byte, error) {
	fmt.Fprintf(progress, "    %-10s %-9s %6d calls ... ", wl.name, b.name(), n)
	answer, err := b.call(ctx, wl)
	if err != nil {
		fmt.Fprintln(progress, "failed")
		return Result{}, nil, fmt.Errorf("%s through %s, first call: %w", wl.name, b.name(), err)
	}
	work, caller := b.meter(), &selfMeter{}
	work.start()
	caller.start()
	lat := make([]time.Duration, 0, n)
	t0 := time.Now()
	for i := range n {
		t := time.Now()
		if _, err := b.call(ctx, wl); err != nil {
			fmt.Fprintln(progress, "failed")
			return Result{}, nil, fmt.Errorf("%s through %s, call %d: %w", wl.name, b.name(), i+1, err)
		}
		lat = append(lat, time.Since(t))
	}
	wall := time.Since(t0)
	used, callerUsed := work.stop(), caller.stop()
	r := Result{
		Workload: wl.name, Backend: b.name(), Concurrency: 1, Iterations: n,
		Latency: summarize(lat), WallSeconds: wall.Seconds(), Throughput: float64(n) / wall.Seconds(),
		CPUSeconds: used.cpu.Seconds(), PeakRSSBytes: used.peakRSS,
	}
	if !b.inProcess() {
		r.CallerCPUSeconds = callerUsed.cpu.Seconds()
	}
	fmt.Fprintf(progress, "p50 %s\n", fmtMS(r.P50))
	return r, answer, nil
}

// iterations is how many calls wl gets through b under cfg.
func iterations(cfg Config, b backend, wl workload) int {
	if b.name() == "subprocess" {
		return pick(cfg.SubprocessIterations, wl.subprocessIterations)
	}
	return pick(cfg.Iterations, wl.iterations)
}

// pick is set unless it is zero, else def.
func pick(set, def int) int {
	if set > 0 {
		return set
	}
	return def
}
