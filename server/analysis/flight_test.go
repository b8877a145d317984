package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// Finding 09: identical analyses share one run, which goes on while one
// caller still waits and is cancelled once every caller has gone; a new
// caller then starts afresh instead of joining the cancelled run.
func TestFinding09SharedRunCancelledWhenAllLeave(t *testing.T) {
	var g flights
	var runs atomic.Int32
	started := make(chan context.Context, 2)
	run := func(ctx context.Context, _ Raw) (json.RawMessage, error) {
		runs.Add(1)
		started <- ctx
		<-ctx.Done()
		return nil, ctx.Err()
	}
	ctxA, leaveA := context.WithCancel(context.Background())
	ctxB, leaveB := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { _, err := g.do(ctxA, "k", time.Minute, nil, run); errs <- err }()
	runCtx := <-started
	go func() { _, err := g.do(ctxB, "k", time.Minute, nil, run); errs <- err }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		waiters := g.m["k"].waiters
		g.mu.Unlock()
		if waiters == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second caller never joined the run")
		}
	}
	leaveA()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left: %v", err)
	}
	if runCtx.Err() != nil {
		t.Fatal("the shared run was cancelled while a caller still waited")
	}
	leaveB()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the second caller that left: %v", err)
	}
	select {
	case <-runCtx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the run went on after every caller left")
	}
	ctxC, leaveC := context.WithCancel(context.Background())
	defer leaveC()
	go func() { _, _ = g.do(ctxC, "k", time.Minute, nil, run) }() // ends with the test; its answer is not the point
	if next := <-started; next == runCtx || runs.Load() != 2 {
		t.Fatalf("a new caller joined the cancelled run (%d runs)", runs.Load())
	}
}

// ANALYZE_TIMEOUT bounds a run whatever its callers do.
func TestFlightTimeout(t *testing.T) {
	var g flights
	_, err := g.do(context.Background(), "k", 50*time.Millisecond, nil, func(ctx context.Context, _ Raw) (json.RawMessage, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the run's deadline, got %v", err)
	}
}
