package vectorstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"stockagent/pybridge/pybridgetest"
	"stockagent/server/vectorstore"
)

// runExpire starts Expire on s and returns a function that stops it and waits for it.
func runExpire(t *testing.T, s vectorstore.Store, every, maxAge time.Duration, log *slog.Logger) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		vectorstore.Expire(ctx, s, every, maxAge, log)
	}()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Expire did not return after its context ended")
		}
	}
}

func TestExpire(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := b.open(t, dim)
		now := time.Now()
		mustUpsert(t, s,
			point("AAPL", axis0(), now.Add(-25*time.Hour), "expired"),
			point("AAPL", axis0(), now.Add(-time.Hour), "fresh"),
		)
		var log pybridgetest.Buffer
		stop := runExpire(t, s, 10*time.Millisecond, 24*time.Hour, slog.New(slog.NewTextHandler(&log, nil)))
		deadline := time.Now().Add(5 * time.Second)
		for {
			n, err := s.Count(context.Background())
			if err == nil && n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Count = %d, %v after 5s of Expire; want 1", n, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		// A point written later and already past the horizon goes at a later tick.
		mustUpsert(t, s, point("MSFT", axis0(), now.Add(-48*time.Hour), "late"))
		for {
			n, err := s.Count(context.Background())
			if err == nil && n == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Count = %d, %v; the late expired point was not deleted", n, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		stop()
		h, ok := mustSearch(t, s, "AAPL", axis0(), time.Time{}, 0.95)
		wantHit(t, h, ok, "fresh", 1)
		if !strings.Contains(log.String(), "expired old reports") || !strings.Contains(log.String(), "deleted=1") {
			t.Errorf("log = %q; want the deletions reported", log.String())
		}
	})
}

func TestExpireLogsFailures(t *testing.T) {
	s, err := vectorstore.Open("", "", dim)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close() // every sweep now fails
	var log pybridgetest.Buffer
	stop := runExpire(t, s, 5*time.Millisecond, time.Hour, slog.New(slog.NewTextHandler(&log, nil)))
	deadline := time.Now().Add(2 * time.Second)
	for strings.Count(log.String(), "level=WARN") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("log = %q; want a warning per failed sweep, and sweeps to go on", log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if !strings.Contains(log.String(), "closed") {
		t.Errorf("log = %q; want the error", log.String())
	}
}

func TestExpireNilLogger(t *testing.T) {
	s, err := vectorstore.Open("", "", dim)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustUpsert(t, s, point("AAPL", axis0(), time.Now().Add(-2*time.Hour), "old"))
	stop := runExpire(t, s, time.Hour, time.Hour, nil) // the first sweep runs at once
	deadline := time.Now().Add(2 * time.Second)
	for n, _ := s.Count(context.Background()); n != 0; n, _ = s.Count(context.Background()) {
		if time.Now().After(deadline) {
			t.Fatal("the first sweep did not run at once")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
}
