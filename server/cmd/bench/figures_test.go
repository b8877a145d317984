package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tableCells reads a Markdown table's body rows into cells, keyed by the
// first three (workload, mode, metric).
func tableCells(t *testing.T, text string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows[strings.Join(cells[:3], " / ")] = cells[3:]
	}
	return rows
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Two canned results files: the previous run's figures sit beside this
// run's, with this run's divided by them; a figure the previous run lacks
// shows as "–".
func TestFigureTableComparesWithThePreviousRun(t *testing.T) {
	dir := t.TempDir()
	started := time.Date(2026, 11, 27, 3, 9, 0, 0, time.UTC)
	// A results file from before figures were saved: its figures come from its results.
	old := Report{Started: started, Results: []Result{
		{Workload: "forecast", Backend: "embedded", Latency: Latency{P50: 2, P99: 4}},
		{Workload: "http uncached", Backend: "server", Concurrency: 1, Latency: Latency{P50: 2.5, P99: 5}, Throughput: 400},
	}}
	writeJSON(t, filepath.Join(dir, "results.json"), old)
	prev, err := loadPrevious(dir)
	if err != nil || prev == nil {
		t.Fatalf("loadPrevious: %v, %v", prev, err)
	}

	now := &Report{
		Results: []Result{
			{Workload: "forecast", Backend: "embedded", Latency: Latency{P50: 1, P99: 4}},
			{Workload: "http uncached", Backend: "server", Concurrency: 1, Latency: Latency{P50: 2, P99: 6}, Throughput: 500},
		},
		Redis:    &RedisResult{Concurrency: 64, InProcess: Result{Throughput: 20000}, Redis: Result{Throughput: 18000}, Ratio: 0.9},
		Training: &TrainingResult{Epochs: 3, Idle: Latency{P99: 4}, During: Latency{P99: 6}, P99Ratio: 1.5},
		Analyze:  &AnalyzeResult{Analyses: 3, Latency: Latency{P50: 9000}, FirstToken: Latency{P50: 1200}, TokensPerAnalysis: 420, PromptEvaluatedPerAnalysis: 810},
		LLM:      &LLMResult{Threads: 1, PromptTokensPerSecond: 150, GenerationTokensPerSec: 75},
	}
	now.Figures = now.figures()
	var out bytes.Buffer
	now.figureTable(&out, prev)
	text := out.String()
	if !strings.Contains(text, "Previous run: 2026-11-27 03:09 UTC") {
		t.Errorf("the previous run's date is missing:\n%s", text)
	}
	rows := tableCells(t, text)
	want := map[string][]string{
		"workload / back-end or mode / metric":                       {"previous", "now", "now÷previous"},
		"forecast / embedded / p50":                                  {"2.00 ms", "1.00 ms", "0.50×"},
		"forecast / embedded / p99":                                  {"4.00 ms", "4.00 ms", "1.00×"},
		"http / uncached c=1 / throughput":                           {"400", "500", "1.25×"},
		"http / uncached c=1 / p99":                                  {"5.00 ms", "6.00 ms", "1.20×"},
		"redis / Redis ÷ in-process / throughput ratio":              {"–", "0.90×", "–"},
		"training / during ÷ idle / p99 ratio":                       {"–", "1.50×", "–"},
		"analyze / cache miss / first token p50":                     {"–", "1.20 s", "–"},
		"analyze / cache miss / tokens generated per analysis":       {"–", "420", "–"},
		"analyze / cache miss / prompt tokens computed per analysis": {"–", "810", "–"},
		"llm / llama.cpp alone, 1 thread(s) / generation":            {"–", "75.0 tokens/s", "–"},
	}
	for k, cells := range want {
		if got := rows[k]; strings.Join(got, " | ") != strings.Join(cells, " | ") {
			t.Errorf("%s: got %q, want %q\n%s", k, got, cells, text)
		}
	}

	// This run's file, read as the next run's previous one, keeps its figures.
	if _, err := now.write(dir, prev); err != nil {
		t.Fatal(err)
	}
	again, err := loadPrevious(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Figures["training\x00during ÷ idle\x00p99 ratio"]; got != 1.5 {
		t.Errorf("saved figure: %v", got)
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil || !bytes.Contains(md, []byte("| training ")) {
		t.Errorf("results.md lacks the figures: %v", err)
	}
}

// With a baseline, each server figure shows before, after and their ratio.
func TestFigureTableShowsTheBaseline(t *testing.T) {
	rep := &Report{
		Results:  []Result{{Workload: "http cached", Backend: "server", Concurrency: 64, Throughput: 19000}},
		Training: &TrainingResult{Idle: Latency{P99: 4}, During: Latency{P99: 8}, P99Ratio: 2},
		Baseline: &Baseline{Checkout: "/src/old", ServerSide: ServerSide{
			Results:  []Result{{Workload: "http cached", Backend: "server", Concurrency: 64, Throughput: 9500}},
			Training: &TrainingResult{Idle: Latency{P99: 4}, During: Latency{P99: 40}, P99Ratio: 10},
		}},
	}
	rep.Figures = rep.figures()
	var out bytes.Buffer
	rep.figureTable(&out, nil)
	text := out.String()
	rows := tableCells(t, text)
	for k, cells := range map[string][]string{
		"workload / back-end or mode / metric":           {"before", "after", "after÷before", "previous", "now", "now÷previous"},
		"http / cached c=64 / throughput":                {"9500", "19000", "2.00×", "–", "19000", "–"},
		"training / during ÷ idle / p99 ratio":           {"10.00×", "2.00×", "0.20×", "–", "2.00×", "–"},
		"training / uncached c=1, during training / p99": {"40.0 ms", "8.00 ms", "0.20×", "–", "8.00 ms", "–"},
	} {
		if got := rows[k]; strings.Join(got, " | ") != strings.Join(cells, " | ") {
			t.Errorf("%s: got %q, want %q\n%s", k, got, cells, text)
		}
	}
	if !strings.Contains(text, "No previous run") || !strings.Contains(text, "/src/old") {
		t.Errorf("header:\n%s", text)
	}
}

func TestLoadPreviousWithoutOne(t *testing.T) {
	dir := t.TempDir()
	if prev, err := loadPrevious(dir); prev != nil || err != nil {
		t.Errorf("no file: %v, %v", prev, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadPrevious(dir); err == nil {
		t.Error("a broken file read without an error")
	}
}
