package pybridge

import "time"

// Metrics receives the bridge's measurements. Its methods may be called
// concurrently from every worker and must not block.
type Metrics interface {
	// QueueWait reports how long a call waited for a worker of lane.
	QueueWait(lane Lane, d time.Duration)
	// CallDone reports one finished call of fn: its duration in Python and its error, if any.
	CallDone(lane Lane, fn string, d time.Duration, err error)
	// Busy reports that delta (+1 or -1) workers of lane started or finished a call.
	Busy(lane Lane, delta int)
}

type noMetrics struct{}

func (noMetrics) QueueWait(Lane, time.Duration)               {}
func (noMetrics) CallDone(Lane, string, time.Duration, error) {}
func (noMetrics) Busy(Lane, int)                              {}
