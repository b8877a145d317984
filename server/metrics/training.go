package metrics

import (
	"math"
	"sync"
	"time"
)

// The values of training_status{kind}.
const (
	TrainingIdle      = 0 // no training of the kind has run since the process started
	TrainingRunning   = 1 // at least one training of the kind is running
	TrainingCompleted = 2 // none runs; the last one to finish completed
	TrainingFailed    = 3 // none runs; the last one failed (or ended with an unknown status)
	TrainingCancelled = 4 // none runs; the last one was cancelled
)

// trainingStates is what training_status is computed from: per kind, the
// trainings running and the status value of the last one to finish.
type trainingStates struct {
	mu    sync.Mutex // guards kinds
	kinds map[string]*trainingState
}

type trainingState struct {
	running int
	last    float64 // TrainingIdle until one finishes
}

// stateLocked returns the state of kind, made on first use; mu must be held.
func (ts *trainingStates) stateLocked(kind string) *trainingState {
	if ts.kinds == nil {
		ts.kinds = make(map[string]*trainingState)
	}
	s, ok := ts.kinds[kind]
	if !ok {
		s = &trainingState{}
		ts.kinds[kind] = s
	}
	return s
}

// TrainingStarted records that a training of kind "parent" or "child"
// (anything else is "other") began: training_status{kind} becomes
// TrainingRunning until every training of the kind has finished.
func (m *Metrics) TrainingStarted(kind string) {
	if m == nil {
		return
	}
	k := pick(kind, trainingKinds)
	m.training.mu.Lock()
	defer m.training.mu.Unlock()
	m.training.stateLocked(k).running++
	m.trainingStatus.WithLabelValues(k).Set(TrainingRunning)
}

// TrainingFinished records the end of a training of kind after d, with status
// "completed", "failed" or "cancelled" (anything else counts as "other" in
// stockagent_trainings_total and as failed in training_status). Every end is
// observed in training_duration_seconds. lastValLoss, the validation loss of
// the last epoch, is recorded in stockagent_training_last_val_loss for a
// completed training only, and only when it is a finite number: pass NaN when
// there is none.
//
// When no other training of the kind still runs, training_status{kind}
// becomes TrainingCompleted, TrainingFailed or TrainingCancelled.
func (m *Metrics) TrainingFinished(kind string, d time.Duration, status string, lastValLoss float64) {
	if m == nil {
		return
	}
	k, st := pick(kind, trainingKinds), pick(status, trainingStatuses)
	m.trainingDuration.WithLabelValues(k).Observe(d.Seconds())
	m.trainings.WithLabelValues(k, st).Inc()
	if st == "completed" && !math.IsNaN(lastValLoss) && !math.IsInf(lastValLoss, 0) {
		m.lastValLoss.WithLabelValues(k).Set(lastValLoss)
	}

	m.training.mu.Lock()
	defer m.training.mu.Unlock()
	s := m.training.stateLocked(k)
	if s.running > 0 { // a training started before a restart was never counted
		s.running--
	}
	switch st {
	case "completed":
		s.last = TrainingCompleted
	case "cancelled":
		s.last = TrainingCancelled
	default:
		s.last = TrainingFailed
	}
	if s.running == 0 {
		m.trainingStatus.WithLabelValues(k).Set(s.last)
	}
}

// TaskQueue sets the task manager's current numbers of queued and running
// tasks (stockagent_tasks{state}).
func (m *Metrics) TaskQueue(queued, running int) {
	if m == nil {
		return
	}
	m.tasksQueued.Set(float64(queued))
	m.tasksRunning.Set(float64(running))
}

// RedisUp sets stockagent_redis_up and redis_up to 1 when up, else 0.
func (m *Metrics) RedisUp(up bool) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.redisUp.Set(v)
	m.redisUpKept.Set(v)
}

// RateLimited records a request refused by the rate-limit policy named
// policy (stockagent_rate_limited_total{policy}). At most MaxPolicyLabels
// distinct names are recorded; later ones count as "other".
func (m *Metrics) RateLimited(policy string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(m.policies.value(policy)).Inc()
}
