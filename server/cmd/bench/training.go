package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// TrainingResult is the training workload: uncached forecasts one at a time
// while a parent training runs on the same server, then as many with the
// server idle. The goal: p99 during training at most twice the idle p99.
type TrainingResult struct {
	Epochs          int     `json:"epochs"`
	TrainingSeconds float64 `json:"training_seconds"`
	During          Latency `json:"during"`
	DuringRequests  int     `json:"during_requests"`
	Idle            Latency `json:"idle"`
	IdleRequests    int     `json:"idle_requests"`
	// P99Ratio is the p99 during training divided by the idle p99.
	P99Ratio float64 `json:"p99_ratio"`
	Errors   int     `json:"errors"`
}

// Training task states as GET /status/{task_id} names them, as one atomic value.
const (
	taskQueued int32 = iota
	taskRunning
	taskDone
)

// trainingBeside starts a parent training of epochs epochs on srv and sends
// uncached forecasts at concurrency 1 while it runs, then the same number
// (at least minIdle) after it ended.
func trainingBeside(ctx context.Context, c *fasthttp.Client, srv *serverProc, epochs int, progress io.Writer) (*TrainingResult, error) {
	const minIdle = 300
	fmt.Fprintf(progress, "    parent training (%d epochs) beside uncached forecasts at c=1 ... ", epochs)
	body := mustJSON(map[string]any{"epochs": epochs, "force": true, "start_date": "2016-01-01"})
	status, out, err := post(c, srv.base+"/train-parent", body, cached, true)
	if err == nil && status != fasthttp.StatusOK {
		err = fmt.Errorf("status %d: %.300s", status, out)
	}
	if err != nil {
		fmt.Fprintln(progress, "failed")
		return nil, fmt.Errorf("POST /train-parent: %w", err)
	}
	var started struct {
		TaskID string `json:"task_id"`
	}
	if err := json.Unmarshal(out, &started); err != nil || started.TaskID == "" {
		return nil, fmt.Errorf("POST /train-parent answered %.300s", out)
	}

	var state atomic.Int32
	var taskErr atomic.Value
	t0 := time.Now()
	var trainStart, trainEnd time.Time
	pollCtx, stopPoll := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			s, err := taskStatus(c, srv.base, started.TaskID)
			switch {
			case err != nil:
				taskErr.Store(err)
				state.Store(taskDone)
				return
			case s == "running" && state.Load() == taskQueued:
				trainStart = time.Now()
				state.Store(taskRunning)
			case s == "completed" || s == "failed":
				if s == "failed" {
					taskErr.Store(fmt.Errorf("the training failed (GET /status/%s)", started.TaskID))
				}
				trainEnd = time.Now()
				state.Store(taskDone)
				return
			}
			select {
			case <-tick.C:
			case <-pollCtx.Done():
				return
			}
		}
	}()

	res := &TrainingResult{Epochs: epochs}
	url := srv.base + "/predict-child"
	var during []time.Duration
	for state.Load() != taskDone && ctx.Err() == nil {
		if time.Since(t0) > 10*time.Minute {
			stopPoll()
			<-polled
			return nil, fmt.Errorf("the training task %s did not end within 10 minutes", started.TaskID)
		}
		before := state.Load()
		t := time.Now()
		if err := checkPost(c, url, predictBody, uncached); err != nil {
			res.Errors++
			continue
		}
		d := time.Since(t)
		// Only forecasts that ran wholly while the training ran count.
		if before == taskRunning && state.Load() == taskRunning {
			during = append(during, d)
		}
	}
	stopPoll()
	<-polled
	if err, _ := taskErr.Load().(error); err != nil {
		fmt.Fprintln(progress, "failed")
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if !trainStart.IsZero() {
		res.TrainingSeconds = trainEnd.Sub(trainStart).Seconds()
	}
	res.DuringRequests = len(during)
	res.During = summarize(during)

	idle := make([]time.Duration, 0, max(len(during), minIdle))
	for range cap(idle) {
		t := time.Now()
		if err := checkPost(c, url, predictBody, uncached); err != nil {
			res.Errors++
			continue
		}
		idle = append(idle, time.Since(t))
	}
	res.IdleRequests = len(idle)
	res.Idle = summarize(idle)
	if res.Idle.P99 > 0 {
		res.P99Ratio = res.During.P99 / res.Idle.P99
	}
	fmt.Fprintf(progress, "%.1f s of training; p99 %s during, %s idle (%.2f×)\n",
		res.TrainingSeconds, fmtMS(res.During.P99), fmtMS(res.Idle.P99), res.P99Ratio)
	if res.DuringRequests == 0 {
		return res, fmt.Errorf("no forecast ran wholly during the training (%.1f s)", res.TrainingSeconds)
	}
	return res, nil
}

// taskStatus is a task's status from GET /status/{id}.
func taskStatus(c *fasthttp.Client, base, id string) (string, error) {
	status, body, err := c.GetTimeout(nil, base+"/status/"+id, requestTimeout)
	if err == nil && status != fasthttp.StatusOK {
		err = fmt.Errorf("status %d: %.300s", status, body)
	}
	if err != nil {
		return "", fmt.Errorf("GET /status/%s: %w", id, err)
	}
	var rec struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &rec); err != nil {
		return "", fmt.Errorf("GET /status/%s: %w", id, err)
	}
	return rec.Status, nil
}
