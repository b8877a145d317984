package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"stockagent/server/cmd/bench/pyproc"
)

// tinyModels are trained when the data folder lacks them: one epoch each, the
// parent on ^GSPC from 2016 (as the server benchmarks do). Forecast timings
// do not depend on how well a model learned.
var tinyModels = []struct {
	ticker string
	train  []string // stockagent.cli arguments
}{
	{"parent", []string{"train-parent", "--epochs", "1", "--start-date", "2016-01-01"}},
	{benchTicker, []string{"train-child", "--ticker", benchTicker, "--epochs", "1"}},
}

// ensureModels trains each of tinyModels that has no serving version in the
// data folder, each in a process of its own: training in the benchmark's
// process would leave its memory there and inflate the embedded back-end's RSS.
func ensureModels(ctx context.Context, cli *pyproc.Subprocess, progress io.Writer) error {
	for _, m := range tinyModels {
		out, _, err := cli.Run(ctx, "model-state", "--ticker", m.ticker)
		if err != nil {
			return fmt.Errorf("model state of %s: %w", m.ticker, err)
		}
		var state struct {
			Exists bool `json:"exists"`
		}
		if err := json.Unmarshal(out, &state); err != nil {
			return fmt.Errorf("model state of %s: %w", m.ticker, err)
		}
		if state.Exists {
			continue
		}
		fmt.Fprintf(progress, "==> training a tiny %s model (1 epoch) ... ", m.ticker)
		t0 := time.Now()
		if _, _, err := cli.Run(ctx, m.train...); err != nil {
			fmt.Fprintln(progress, "failed")
			return fmt.Errorf("training %s: %w", m.ticker, err)
		}
		fmt.Fprintf(progress, "%.1f s\n", time.Since(t0).Seconds())
	}
	return nil
}
