package forecast_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"stockagent/pybridge"
	"stockagent/server/cache"
	"stockagent/server/forecast"
	"stockagent/server/pyapi"
	"stockagent/server/store"
	"stockagent/server/tasks"
)

// loader answers load_serving as Python does: a version named "…-bad" cannot be
// loaded, and the one loaded before keeps serving; one named "…-crash" makes the
// call itself fail.
type loader struct{ serving map[string]string }

func (l *loader) Call(_ context.Context, _ pybridge.Lane, fn string, req, resp any, _ ...pybridge.CallOption) error {
	r := req.(pyapi.SetServingRequest)
	out := resp.(*pyapi.LoadServingResponse)
	*out = pyapi.LoadServingResponse{Ticker: r.Ticker, Version: r.Version}
	if fn != pyapi.FuncLoadServing {
		return &pybridge.PyError{Type: "unexpected", Message: fn}
	}
	if strings.HasSuffix(r.Version, "-crash") {
		*out = pyapi.LoadServingResponse{}
		return &pybridge.PyError{Type: "RuntimeError", Message: "interpreter stopped"}
	}
	if strings.HasSuffix(r.Version, "-bad") {
		out.Error = "UnpicklingError: invalid load key"
	} else {
		l.serving[r.Ticker] = r.Version
	}
	out.Serving = l.serving[r.Ticker]
	return nil
}

// notices is a store.Notifier within the process: one subscriber, told at once.
type notices chan []byte

func (n notices) Publish(_ context.Context, _ string, msg []byte) error { n <- msg; return nil }

func (n notices) Subscribe(ctx context.Context, channels []string, h store.Listener) error {
	h.Subscribed()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-n:
			h.Message(channels[0], m)
		}
	}
}

func TestFollowLoadsFirstAndKeepsTheLoadedVersion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a timing
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := store.NewMemory()
	m := tasks.New(st, tasks.Config{Logger: quiet})
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	svc := forecast.NewService(forecast.NewClient(&loader{serving: map[string]string{}}), m,
		cache.NewPredictions(st, forecast.ServingVersions(st), 0), nil, quiet)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if svc.Serving() != nil {
		t.Fatal("a process that follows no shared pointers reports serving states")
	}
	ptr, _ := json.Marshal(forecast.ServingPointer{Version: "v1", Updated: time.Now()})
	if err := st.Set(ctx, "serving:AAPL", ptr, 0); err != nil {
		t.Fatal(err)
	}
	n := make(notices)
	svc.Follow(ctx, st, n, time.Hour)

	await := func(what string, ok func(forecast.ServingState) bool) {
		t.Helper()
		for {
			for _, s := range svc.Serving() {
				if s.Model == "AAPL" && ok(s) {
					return
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: never; states %+v", what, svc.Serving())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	await("the pointer read on subscription is loaded", func(s forecast.ServingState) bool { return s.Version == "v1" })
	n <- []byte(`{"model":"AAPL","version":"v2-bad"}`)
	await("a version that cannot be loaded is refused", func(s forecast.ServingState) bool {
		return s.Version == "v1" && s.Refused == "v2-bad" && strings.Contains(s.Reason, "UnpicklingError")
	})
	n <- []byte(`{"model":"AAPL","version":"v3"}`)
	await("the next good version serves", func(s forecast.ServingState) bool { return s.Version == "v3" && s.Refused == "" })
	n <- []byte(`{"model":"AAPL","version":"v4-crash"}`)
	await("a failed call keeps the served version", func(s forecast.ServingState) bool {
		return s.Version == "v3" && s.Refused == "v4-crash" && strings.Contains(s.Reason, "call failed")
	})
}
