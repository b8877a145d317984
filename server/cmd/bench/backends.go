package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"stockagent/pybridge"
	"stockagent/server/cmd/bench/pyproc"
	"stockagent/server/policy"
)

// backend runs one workload call at a time and says which process(es) do
// the work, for the CPU and memory figures.
type backend interface {
	name() string
	runs(wl workload) bool
	call(ctx context.Context, wl workload) ([]byte, error)
	meter() meter
	// inProcess is true when the work runs in this process, so the caller's
	// CPU is not reported apart.
	inProcess() bool
}

// embeddedBackend is the product: the interpreter in this process, called
// through its inference lane.
type embeddedBackend struct{ in *pybridge.Interpreter }

func (embeddedBackend) name() string          { return "embedded" }
func (embeddedBackend) runs(wl workload) bool { return wl.fn != "" }
func (embeddedBackend) meter() meter          { return &selfMeter{} }
func (embeddedBackend) inProcess() bool       { return true }
func (b embeddedBackend) call(ctx context.Context, wl workload) ([]byte, error) {
	return b.in.CallRaw(ctx, pybridge.Inference, wl.fn, wl.body)
}

// workerBackend is a persistent Python process over pipes.
type workerBackend struct{ w *pyproc.Workers }

func (workerBackend) name() string          { return "worker" }
func (workerBackend) runs(wl workload) bool { return wl.fn != "" }
func (b workerBackend) meter() meter        { return newProcMeter(b.w.PIDs()...) }
func (workerBackend) inProcess() bool       { return false }
func (b workerBackend) call(ctx context.Context, wl workload) ([]byte, error) {
	return b.w.CallRaw(ctx, wl.fn, wl.body)
}

// subprocessBackend is a Python process per call, as the old system ran:
// its meter adds up each process's own accounting.
type subprocessBackend struct {
	sub  *pyproc.Subprocess
	used usage // since the meter started
}

func (*subprocessBackend) name() string          { return "subprocess" }
func (*subprocessBackend) runs(wl workload) bool { return wl.cli != nil }
func (b *subprocessBackend) meter() meter        { return b }
func (*subprocessBackend) inProcess() bool       { return false }
func (b *subprocessBackend) start()              { b.used = usage{} }
func (b *subprocessBackend) stop() usage         { return b.used }
func (b *subprocessBackend) call(ctx context.Context, wl workload) ([]byte, error) {
	out, use, err := b.sub.Run(ctx, wl.cli...)
	b.used.cpu += use.CPU
	b.used.peakRSS = max(b.used.peakRSS, use.MaxRSS)
	if err != nil || !wl.cliResult {
		return bytes.TrimSpace(out), err
	}
	var body struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(out, &body); err != nil {
		return nil, fmt.Errorf("%s: %w: %.200s", strings.Join(wl.cli, " "), err, out)
	}
	if body.Result == nil {
		return nil, fmt.Errorf("%s: no result in %.200s", strings.Join(wl.cli, " "), out)
	}
	return body.Result, nil
}

// gpythonBackend evaluates policy rules with gpython inside this process, as
// the server does; its answer has eval_expr's shape, for the comparison.
type gpythonBackend struct{ p *policy.Policy }

func (gpythonBackend) name() string          { return "gpython" }
func (gpythonBackend) runs(wl workload) bool { return wl.rule != "" }
func (gpythonBackend) meter() meter          { return &selfMeter{} }
func (gpythonBackend) inProcess() bool       { return true }
func (b gpythonBackend) call(_ context.Context, wl workload) ([]byte, error) {
	v, err := b.p.Eval(wl.rule, wl.inputs)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"value": v})
}
