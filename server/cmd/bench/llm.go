package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"stockagent/server/cmd/bench/pyproc"
)

// LLMResult is the in-process model's raw speed, measured by llama.cpp
// alone (python -m stockagent.llm.speed): the limit the analyses' generation
// is compared with.
type LLMResult struct {
	Model                  string  `json:"model"`
	Threads                int     `json:"threads"`
	LoadSeconds            float64 `json:"load_seconds"`
	PromptTokens           int     `json:"prompt_tokens"`
	PromptTokensPerSecond  float64 `json:"prompt_tokens_per_second"`
	GeneratedTokens        int     `json:"generated_tokens"`
	GenerationTokensPerSec float64 `json:"generation_tokens_per_second"`
}

// llmThreads is the thread count the server gives the in-process model:
// LLM_THREADS, else the agent lane's budget, TRAINING_THREADS (default 1).
func llmThreads() int {
	for _, k := range []string{"LLM_THREADS", "TRAINING_THREADS"} {
		if n, err := strconv.Atoi(os.Getenv(k)); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

// llmSpeed runs the measurement in a process of its own, so the model's
// memory stays out of this process.
func llmSpeed(ctx context.Context, python string, env []string, progress io.Writer) (*LLMResult, error) {
	threads := llmThreads()
	fmt.Fprintf(progress, "==> the model's raw speed (llama.cpp alone, %d thread(s)) ... ", threads)
	sub := &pyproc.Subprocess{Python: python, Module: "stockagent.llm.speed", Threads: threads, Env: env}
	out, _, err := sub.Run(ctx, "--threads", strconv.Itoa(threads))
	if err != nil {
		fmt.Fprintln(progress, "failed")
		return nil, err
	}
	var r LLMResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("stockagent.llm.speed: %w: %.300s", err, out)
	}
	fmt.Fprintf(progress, "prompt %.0f tokens/s, generation %.1f tokens/s\n", r.PromptTokensPerSecond, r.GenerationTokensPerSec)
	return &r, nil
}
