package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// Figure is one number a run measured, named by its workload, the back-end
// or mode it ran in, and its metric.
type Figure struct {
	Workload string  `json:"workload"`
	Mode     string  `json:"mode"`
	Metric   string  `json:"metric"`
	Unit     string  `json:"unit"` // ms, req/s, tokens/s, tokens, ×, %, s
	Value    float64 `json:"value"`
	// Before is the same figure from the baseline's server in the same run
	// (BENCH_BASELINE); absent when there was none.
	Before float64 `json:"before,omitempty"`
}

func (f Figure) key() string { return f.Workload + "\x00" + f.Mode + "\x00" + f.Metric }

// figureList collects figures in the order they are added.
type figureList []Figure

func (l *figureList) add(workload, mode, metric, unit string, v float64) {
	*l = append(*l, Figure{Workload: workload, Mode: mode, Metric: metric, Unit: unit, Value: v})
}

// figures lists every figure of the run: the direct calls, the model's raw
// speed, the server workloads (with the baseline's beside them), the load.
func (r *Report) figures() []Figure {
	var l figureList
	for _, res := range r.Results {
		if res.Backend != "server" {
			l.add(res.Workload, res.Backend, "p50", "ms", res.P50)
			l.add(res.Workload, res.Backend, "p99", "ms", res.P99)
		}
	}
	if m := r.LLM; m != nil {
		mode := fmt.Sprintf("llama.cpp alone, %d thread(s)", m.Threads)
		l.add("llm", mode, "prompt reading", "tokens/s", m.PromptTokensPerSecond)
		l.add("llm", mode, "generation", "tokens/s", m.GenerationTokensPerSec)
	}
	l = append(l, ServerSide{Results: r.Results, Redis: r.Redis, Training: r.Training, Analyze: r.Analyze}.figures()...)
	if ld := r.Load; ld != nil {
		l.add("load", "all", "p50", "ms", ld.All.P50)
		l.add("load", "all", "p99", "ms", ld.All.P99)
		l.add("load", "cached", "p99", "ms", ld.Cached.P99)
		l.add("load", "uncached", "p99", "ms", ld.Uncached.P99)
		l.add("load", "server", "RSS growth", "%", ld.Server.GrowthPercent)
	}
	if b := r.Baseline; b != nil {
		before := map[string]float64{}
		for _, f := range b.figures() {
			before[f.key()] = f.Value
		}
		for i := range l {
			l[i].Before = before[l[i].key()]
		}
	}
	return l
}

// figures lists the server workloads' figures.
func (s ServerSide) figures() []Figure {
	var l figureList
	for _, res := range s.Results {
		if res.Backend != "server" {
			continue
		}
		mode := fmt.Sprintf("%s c=%d", strings.TrimPrefix(res.Workload, "http "), res.Concurrency)
		l.add("http", mode, "p50", "ms", res.P50)
		l.add("http", mode, "p99", "ms", res.P99)
		l.add("http", mode, "throughput", "req/s", res.Throughput)
	}
	if rd := s.Redis; rd != nil {
		l.add("redis", fmt.Sprintf("cached c=%d, in-process store", rd.Concurrency), "throughput", "req/s", rd.InProcess.Throughput)
		l.add("redis", fmt.Sprintf("cached c=%d, Redis", rd.Concurrency), "throughput", "req/s", rd.Redis.Throughput)
		l.add("redis", "Redis ÷ in-process", "throughput ratio", "×", rd.Ratio)
	}
	if t := s.Training; t != nil {
		l.add("training", "uncached c=1, idle", "p99", "ms", t.Idle.P99)
		l.add("training", "uncached c=1, during training", "p99", "ms", t.During.P99)
		l.add("training", "during ÷ idle", "p99 ratio", "×", t.P99Ratio)
		l.add("training", "uncached c=1, idle", "p50", "ms", t.Idle.P50)
		l.add("training", "uncached c=1, during training", "p50", "ms", t.During.P50)
		l.add("training", fmt.Sprintf("parent, %d epochs", t.Epochs), "training time", "s", t.TrainingSeconds)
	}
	if a := s.Analyze; a != nil {
		l.add("analyze", "cache miss", "p50", "ms", a.Latency.P50)
		l.add("analyze", "cache miss", "first token p50", "ms", a.FirstToken.P50)
		l.add("analyze", "cache miss", "first checked field p50", "ms", a.FirstField.P50)
		l.add("analyze", "cache miss", "tokens generated per analysis", "tokens", a.TokensPerAnalysis)
		l.add("analyze", "cache miss", "prompt tokens computed per analysis", "tokens", a.PromptEvaluatedPerAnalysis)
	}
	return l
}

// previousRun is the results of the run before this one in the same
// folder, read before this run overwrites them.
type previousRun struct {
	Path    string
	Started time.Time
	Figures map[string]float64
}

// loadPrevious reads dir/results.json; nil when there is none. Results from
// before figures were saved give the figures their results yield.
func loadPrevious(dir string) (*previousRun, error) {
	path := filepath.Join(dir, "results.json")
	data, err := os.ReadFile(path) //nolint:gosec // G304: our own results folder
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	figs := rep.Figures
	if len(figs) == 0 {
		figs = rep.figures()
	}
	p := &previousRun{Path: path, Started: rep.Started, Figures: map[string]float64{}}
	for _, f := range figs {
		p.Figures[f.key()] = f.Value
	}
	return p, nil
}

// figureTable writes every figure as one Markdown table, its columns padded
// so that it reads in a terminal too: the baseline's figure and the ratio
// to it when the run had one, then the previous run's and the ratio to it.
func (r *Report) figureTable(w io.Writer, prev *previousRun) {
	if prev == nil {
		fmt.Fprintln(w, "No previous run in this folder: the previous column is empty.")
	} else {
		fmt.Fprintf(w, "Previous run: %s (%s).\n", prev.Started.UTC().Format("2006-01-02 15:04 MST"), prev.Path)
	}
	baseline := r.Baseline != nil
	if baseline {
		fmt.Fprintf(w, "Before: the baseline's server (%s), in this run; after: this checkout's.\n", r.Baseline.Checkout)
	}
	head := []string{"workload", "back-end or mode", "metric"}
	if baseline {
		head = append(head, "before", "after", "after÷before")
	}
	head = append(head, "previous", "now", "now÷previous")
	rows := [][]string{head}
	for _, f := range r.Figures {
		row := []string{f.Workload, f.Mode, f.Metric}
		if baseline {
			row = append(row, fmtFigure(f.Unit, f.Before), fmtFigure(f.Unit, f.Value), fmtChange(f.Value, f.Before))
		}
		var old float64
		if prev != nil {
			old = prev.Figures[f.key()]
		}
		rows = append(rows, append(row, fmtFigure(f.Unit, old), fmtFigure(f.Unit, f.Value), fmtChange(f.Value, old)))
	}
	writeTable(w, rows, 3)
}

// writeTable writes rows (the first is the header) as a Markdown table with
// padded columns; columns from numeric on are right-aligned.
func writeTable(w io.Writer, rows [][]string, numeric int) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i >= numeric {
				c = pad + c
			} else {
				c += pad
			}
			b.WriteString("| " + c + " ")
		}
		fmt.Fprintln(w, b.String()+"|")
	}
	line(rows[0])
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
		if i >= numeric {
			sep[i] = strings.Repeat("-", n-1) + ":"
		}
	}
	line(sep)
	for _, row := range rows[1:] {
		line(row)
	}
}

// fmtFigure shows v in unit; "–" when there is no figure.
func fmtFigure(unit string, v float64) string {
	if v == 0 {
		return "–"
	}
	switch unit {
	case "ms":
		return fmtMS(v)
	case "req/s":
		return fmtRate(v)
	case "tokens/s":
		return fmt.Sprintf("%.1f tokens/s", v)
	case "tokens":
		return fmt.Sprintf("%.0f", v)
	case "×":
		return fmt.Sprintf("%.2f×", v)
	case "%":
		return fmt.Sprintf("%+.1f%%", v)
	case "s":
		return fmt.Sprintf("%.1f s", v)
	}
	return fmt.Sprintf("%g %s", v, unit)
}

// fmtChange is now÷then, "–" when either is missing (or not positive, as
// a shrinking RSS can be).
func fmtChange(now, then float64) string {
	if now <= 0 || then <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", now/then)
}
