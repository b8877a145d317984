package pybridge

import (
	"bytes"
	"context"
	"os/exec"
	"testing"
	"time"

	"stockagent/pybridge/pybridgetest"
)

var payload = []byte(`{"ticker":"AAPL","horizon":63,"features":["open","high","low","close","volume","rsi14","macd"]}`)

// The bridge's own overhead: Python hands its input bytes straight back.
func BenchmarkEchoRaw(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		if _, err := interp.CallRaw(ctx, Inference, diag+"echo", payload); err != nil {
			b.Fatal(err)
		}
	}
}

// The same call from 8 goroutines at once, spread over the lane's workers.
func BenchmarkEchoRawParallel(b *testing.B) {
	ctx := context.Background()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := interp.CallRaw(ctx, Inference, diag+"echo", payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// A small JSON request and response, encoded and decoded on both sides.
func BenchmarkEchoJSON(b *testing.B) {
	ctx := context.Background()
	type req struct {
		Ticker   string   `json:"ticker"`
		Horizon  int      `json:"horizon"`
		Features []string `json:"features"`
	}
	in := req{"AAPL", 63, []string{"open", "high", "low", "close", "volume", "rsi14", "macd"}}
	for b.Loop() {
		var out req
		if err := interp.Call(ctx, Inference, diag+"echo_json", in, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// How long a cooperative loop takes to answer once its context is cancelled while it
// runs: the flag is read at the loop's next check, every 10 ms here.
func BenchmarkCancelCooperativeLoop(b *testing.B) {
	req := map[string]float64{"interval": 0.01, "limit": 60}
	var stopping time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- interp.Call(ctx, Long, diag+"wait_cancelled", req, nil) }()
		waitLaneBusy(b, Long)
		start := time.Now()
		cancel()
		if err := <-done; err == nil {
			b.Fatal("a cancelled loop answered without an error")
		}
		stopping += time.Since(start)
	}
	b.ReportMetric(float64(stopping.Nanoseconds())/float64(b.N), "ns/cancel")
}

// The design the bridge replaces: a fresh python process per call, before any import.
func BenchmarkEchoSubprocess(b *testing.B) {
	python, err := pybridgetest.Python()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cmd := exec.Command(python, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())")
		cmd.Stdin = bytes.NewReader(payload)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, payload) {
			b.Fatalf("subprocess: %v, %q", err, out)
		}
	}
	perCall := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	// Side by side with the embedded call, measured in the same run.
	b.StopTimer()
	const n = 20000
	start := time.Now()
	for range n {
		if _, err := interp.CallRaw(context.Background(), Inference, diag+"echo", payload); err != nil {
			b.Fatal(err)
		}
	}
	embedded := float64(time.Since(start).Nanoseconds()) / n
	b.ReportMetric(embedded, "embedded-ns/call")
	b.ReportMetric(perCall/embedded, "x-slower")
}
