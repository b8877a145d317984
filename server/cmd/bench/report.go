package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"stockagent/server/pyapi"
)

// Report is everything one run measured; results.json holds it as is.
type Report struct {
	Started  time.Time       `json:"started"`
	Seconds  float64         `json:"seconds"`
	Machine  Machine         `json:"machine"`
	Settings Settings        `json:"settings"`
	Results  []Result        `json:"results"`
	LLM      *LLMResult      `json:"llm,omitempty"`
	Redis    *RedisResult    `json:"redis,omitempty"`
	Training *TrainingResult `json:"training,omitempty"`
	Analyze  *AnalyzeResult  `json:"analyze,omitempty"`
	Load     *LoadResult     `json:"load,omitempty"`
	// Baseline is the server workloads against another checkout's binary
	// (BENCH_BASELINE), in the same run.
	Baseline *Baseline `json:"baseline,omitempty"`
	Checks   []Check   `json:"checks"`
	// Figures is every figure above as one list, the baseline's beside
	// this checkout's: what the comparison with the next run reads.
	Figures []Figure `json:"figures"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	Python    string `json:"python"`
	// PeakRSSPerWorkload says whether peaks could be reset between
	// workloads; when false a peak is since the process started.
	PeakRSSPerWorkload bool `json:"peak_rss_per_workload"`
	// WorkerStartSeconds is the persistent worker's start-up, imports included.
	WorkerStartSeconds float64 `json:"worker_start_seconds,omitempty"`
}

// Settings are the run's configuration as reported.
type Settings struct {
	Workloads       []string `json:"workloads"`
	Concurrency     []int    `json:"concurrency"`
	TrainedModels   bool     `json:"trained_tiny_models"`
	LoadSeconds     float64  `json:"load_seconds"`
	LoadRate        float64  `json:"load_rate"`
	LoadCachedShare float64  `json:"load_cached_share"`
}

// Failed lists the checks that did not pass.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// sortResults groups the rows by workload, in run order, so the back-ends
// of one workload sit together in the tables and the chart.
func (r *Report) sortResults() {
	order := func(list []string, v string) int {
		if i := slices.Index(list, v); i >= 0 {
			return i
		}
		return len(list)
	}
	wls := []string{"http cached", "http uncached"}
	for _, wl := range workloads() {
		wls = slices.Insert(wls, len(wls)-2, wl.name)
	}
	backends := []string{"embedded", "gpython", "worker", "subprocess", "server"}
	slices.SortStableFunc(r.Results, func(a, b Result) int {
		return cmp.Or(
			cmp.Compare(order(wls, a.Workload), order(wls, b.Workload)),
			cmp.Compare(order(backends, a.Backend), order(backends, b.Backend)),
			cmp.Compare(a.Concurrency, b.Concurrency))
	})
}

// addRatios fills each row's p50 ratios against the subprocess and worker
// back-ends on the same workload. HTTP rows compare with their forecast, at
// concurrency 1 only: the direct calls were made one at a time, and at
// higher concurrency an HTTP latency is mostly queueing.
func (r *Report) addRatios() {
	p50 := map[[2]string]float64{}
	for _, res := range r.Results {
		p50[[2]string{res.Workload, res.Backend}] = res.P50
	}
	for i := range r.Results {
		res := &r.Results[i]
		wl := res.Workload
		if strings.HasPrefix(wl, "http ") {
			wl = "forecast"
		}
		if res.P50 <= 0 || res.Concurrency > 1 {
			continue
		}
		if v := p50[[2]string{wl, "subprocess"}]; v > 0 && res.Backend != "subprocess" {
			res.P50VsSubprocess = v / res.P50
		}
		// The process per call is the slowest by far: against the worker it only shows a tiny fraction.
		if v := p50[[2]string{wl, "worker"}]; v > 0 && res.Backend != "worker" && res.Backend != "subprocess" {
			res.P50VsWorker = v / res.P50
		}
	}
}

// write saves results.json, results.md (its figures beside prev's) and
// latency.svg in dir and returns their paths.
func (r *Report) write(dir string, prev *previousRun) ([]string, error) {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	var md strings.Builder
	r.markdown(&md, prev)
	files := map[string][]byte{"results.json": append(js, '\n'), "results.md": []byte(md.String()), "latency.svg": latencySVG(r.Results)}
	var paths []string
	for _, name := range []string{"results.json", "results.md", "latency.svg"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, files[name], 0o644); err != nil { //nolint:gosec // G306: a report, meant to be read by anyone
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// markdown writes the tables BENCHMARKS.md quotes: every figure beside the
// previous run's first, then each workload's own.
func (r *Report) markdown(w io.Writer, prev *previousRun) {
	fmt.Fprintf(w, "# Benchmarks\n\n%s, %d CPUs, %s, Python %s.\n\n## Every figure\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Machine.CPUs, r.Machine.GoVersion, firstLine(r.Machine.Python))
	r.figureTable(w, prev)
	fmt.Fprint(w, "\n## Back-ends side by side\n\nRatios are the other back-end's p50 divided by this row's.\n")
	if r.Machine.WorkerStartSeconds > 0 {
		fmt.Fprintf(w, "The persistent worker started in %.1f s (interpreter and imports, paid once).\n", r.Machine.WorkerStartSeconds)
	}
	if !r.Machine.PeakRSSPerWorkload {
		fmt.Fprintln(w, "Peak RSS could not be reset between workloads: peaks are since each process started.")
	}

	fmt.Fprint(w, "\n## One call at a time\n\n"+
		"| workload | back-end | calls | p50 | p95 | p99 | calls/s | CPU/call | caller CPU/call | peak RSS | subprocess ÷ this | worker ÷ this |\n"+
		"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		if res.Backend == "server" {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			res.Workload, res.Backend, res.Iterations, fmtMS(res.P50), fmtMS(res.P95), fmtMS(res.P99),
			fmtRate(res.Throughput), perCall(res.CPUSeconds, res.Iterations), perCallOpt(res.CallerCPUSeconds, res.Iterations),
			fmtMiB(res.PeakRSSBytes), fmtRatio(res.P50VsSubprocess), fmtRatio(res.P50VsWorker))
	}

	fmt.Fprint(w, "\n## HTTP `POST /predict-child` against the server binary\n\n"+
		"One server. Cached: answered from the prediction cache (filled by a warm-up); uncached: sent with `Cache-Control: no-cache`, so the LSTM runs on every request "+
		"(the server's `stockagent_bridge_calls_total` for `"+pyapi.FuncPredict+"` is checked to rise by one per uncached request and not at all for cached ones). "+
		"At concurrency 1 the ratios compare with the forecast workload's subprocess and worker p50 (direct calls, one at a time).\n\n"+
		"| cache | concurrency | requests | errors | p50 | p95 | p99 | req/s | server CPU/req | client CPU/req | server peak RSS | subprocess ÷ this | worker ÷ this |\n"+
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		if res.Backend != "server" {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			strings.TrimPrefix(res.Workload, "http "), res.Concurrency, res.Iterations, res.Errors,
			fmtMS(res.P50), fmtMS(res.P95), fmtMS(res.P99), fmtRate(res.Throughput),
			perCall(res.CPUSeconds, res.Iterations), perCallOpt(res.CallerCPUSeconds, res.Iterations),
			fmtMiB(res.PeakRSSBytes), fmtRatio(res.P50VsSubprocess), fmtRatio(res.P50VsWorker))
	}

	if l := r.Load; l != nil {
		fmt.Fprintf(w, "\n## Open-loop load\n\n%.0f s at %.0f requests/s on schedule to the same server, %.0f%% answered from the cache and the rest sent with `Cache-Control: no-cache`, interleaved: "+
			"%d sent (%d uncached), %d errors; the server computed %d forecasts; latency from each request's scheduled time; the sender fell at most %s behind schedule.\n\n",
			l.DurationSeconds, l.Rate, 100*l.CachedShare, l.Sent, l.UncachedSent, l.Errors, l.ForecastsComputed, fmtMS(l.MaxSendLagMS))
		fmt.Fprint(w, "| requests | p50 | p95 | p99 | max |\n|---|---:|---:|---:|---:|\n")
		for _, row := range []struct {
			name string
			lat  Latency
		}{{"all", l.All}, {"cached", l.Cached}, {"uncached", l.Uncached}} {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", row.name, fmtMS(row.lat.P50), fmtMS(row.lat.P95), fmtMS(row.lat.P99), fmtMS(row.lat.Max))
		}
		s := l.Server
		fmt.Fprint(w, "\n| server RSS before | RSS after | growth | under 5% | peak RSS | server CPU |\n|---:|---:|---:|---|---:|---:|\n")
		fmt.Fprintf(w, "| %s | %s | %+.1f%% | %s | %s | %.1f s |\n", fmtMiB(s.RSSBeforeBytes), fmtMiB(s.RSSAfterBytes),
			s.GrowthPercent, map[bool]string{true: "yes", false: "**no**"}[s.GrowthTargetMet], fmtMiB(s.PeakRSSBytes), s.CPUSeconds)
		for _, e := range l.ErrorSamples {
			fmt.Fprintf(w, "\n- error: %s", e)
		}
		if len(l.ErrorSamples) > 0 {
			fmt.Fprintln(w)
		}
	}

	fmt.Fprint(w, "\n## Same answers\n\n")
	if len(r.Checks) == 0 {
		fmt.Fprintln(w, "Nothing to compare in this run.")
	}
	for _, c := range r.Checks {
		switch {
		case c.Against == "" && !c.OK:
			fmt.Fprintf(w, "- %s, %s: **%s**\n", c.Workload, c.Backend, c.Detail)
		case c.Against == "" && c.Detail != "":
			fmt.Fprintf(w, "- %s, %s: %s\n", c.Workload, c.Backend, c.Detail)
		case c.Against == "":
			fmt.Fprintf(w, "- %s, %s: no failed requests\n", c.Workload, c.Backend)
		case c.OK:
			fmt.Fprintf(w, "- %s: %s against %s: same\n", c.Workload, c.Backend, c.Against)
		default:
			fmt.Fprintf(w, "- %s: %s against %s: **differs**: %s\n", c.Workload, c.Backend, c.Against, c.Detail)
		}
	}
}

// fmtMS shows a time given in milliseconds with a unit that suits it.
func fmtMS(v float64) string {
	switch {
	case v <= 0:
		return "–"
	case v < 1:
		return fmt.Sprintf("%.1f µs", v*1000)
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 1000:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f s", v/1000)
}

func fmtRate(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtRatio(v float64) string {
	switch {
	case v <= 0:
		return "–"
	case v >= 100:
		return fmt.Sprintf("%.0f×", v)
	}
	return fmt.Sprintf("%.1f×", v)
}

func fmtMiB(b int64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

func perCall(seconds float64, n int) string { return fmtMS(1000 * seconds / float64(max(n, 1))) }

func perCallOpt(seconds float64, n int) string {
	if seconds <= 0 {
		return "–"
	}
	return perCall(seconds, n)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
