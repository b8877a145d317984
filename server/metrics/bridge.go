package metrics

import (
	"context"
	"errors"
	"time"

	"stockagent/pybridge"
	"stockagent/server/pyapi"
)

// QueueWait records how long a call waited for a worker of lane
// (stockagent_bridge_queue_wait_seconds). It implements pybridge.Metrics.
func (m *Metrics) QueueWait(lane pybridge.Lane, d time.Duration) {
	if m == nil {
		return
	}
	m.bridgeQueueWait.WithLabelValues(lane.String()).Observe(d.Seconds())
}

// CallDone records one finished call of fn, its time in Python and its
// outcome: "ok", "cancelled" (the context ended: context.Canceled,
// context.DeadlineExceeded or Python's Cancelled, pyapi.ErrCancelled) or
// "error" (stockagent_bridge_calls_total, stockagent_bridge_call_duration_seconds).
// At most MaxFunctionLabels distinct function names are recorded; later ones
// count as "other". It implements pybridge.Metrics.
func (m *Metrics) CallDone(lane pybridge.Lane, fn string, d time.Duration, err error) {
	if m == nil {
		return
	}
	l, f := lane.String(), m.functions.value(fn)
	m.bridgeCalls.WithLabelValues(l, f, outcome(err)).Inc()
	m.bridgeDuration.WithLabelValues(l, f).Observe(d.Seconds())
}

// Busy adds delta (+1 or -1) to the busy workers of lane
// (stockagent_bridge_busy_workers). It implements pybridge.Metrics.
func (m *Metrics) Busy(lane pybridge.Lane, delta int) {
	if m == nil {
		return
	}
	m.bridgeBusy.WithLabelValues(lane.String()).Add(float64(delta))
}

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, pyapi.ErrCancelled) {
		return "cancelled"
	}
	return "error"
}
