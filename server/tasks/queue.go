package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"stockagent/server/store"
)

// Job is one entry of the work queue: a run of a task. Its record (in the
// store) holds everything needed to run it.
type Job struct {
	TaskID string
	RunID  string
}

// Delivery is a job as one process claimed it.
type Delivery struct {
	Job
	ID string // the queue's own id of the entry
}

// Queue hands runs from the processes that accept them to the processes that
// run them (package queue: a Redis Stream with a consumer group; LocalQueue
// within one process). Delivery is at least once: a job may be claimed again
// after its claimer went silent, so the Manager keys everything it does by
// the run, never by the delivery.
type Queue interface {
	// Enqueue adds job for any process that takes work.
	Enqueue(ctx context.Context, job Job) error
	// Claim waits a moment for a job: first one whose claimer has been silent
	// for longer than the lease (it died), else a new one. ok is false when
	// there was none.
	Claim(ctx context.Context) (d Delivery, ok bool, err error)
	// Renew tells the queue that d's claimer is alive; the Manager calls it with
	// each renewal of the run's lease, so a long run is never reclaimed.
	Renew(ctx context.Context, d Delivery) error
	// Done removes d: its result is in the task record.
	Done(ctx context.Context, d Delivery) error
	// Requeue puts d's job back for another process at once (a draining
	// process hands its runs back).
	Requeue(ctx context.Context, d Delivery) error
}

// activePrefix + task id holds the run id of the task's active run while the
// run is queued or running: the key that makes a second submission of an
// active task add nothing. It expires with the record.
const activePrefix = "task_active:"

// enqueue is the body of Submit: the record is written queued and the job
// added to the queue; a process that takes work runs it (work).
func (m *Manager) enqueue(ctx context.Context, rec Record) (Record, bool, error) {
	id := rec.TaskID
	key := activePrefix + id
	for {
		got, err := m.st.SetNX(ctx, key, []byte(rec.RunID), m.cfg.Retention)
		if err != nil {
			return Record{}, false, fmt.Errorf("tasks: submit %s: %w", id, err)
		}
		if got {
			break
		}
		cur, err := m.Get(ctx, id)
		if errors.Is(err, ErrNotFound) { // its record is being written
			return Record{TaskID: id, Kind: rec.Kind, Status: Queued}, false, nil
		}
		if err != nil || cur.Active() {
			return cur, false, err
		}
		// The run finished and its process has not removed the key yet (or
		// stopped before it could): the key is stale once it names that
		// finished run. Gone already, or naming a newer run: try again.
		if _, err := m.st.CompareAndDelete(ctx, key, []byte(cur.RunID)); err != nil {
			return Record{}, false, fmt.Errorf("tasks: submit %s: %w", id, err)
		}
	}
	b, err := json.Marshal(rec)
	if err == nil {
		err = m.st.Set(ctx, recordPrefix+id, b, m.cfg.Retention)
	}
	if err == nil {
		err = m.cfg.Queue.Enqueue(ctx, Job{TaskID: id, RunID: rec.RunID})
	}
	if err != nil {
		// Nothing runs it: the next submission may start it again.
		m.unmark(id, rec.RunID)
		_ = m.st.Delete(ctx, recordPrefix+id)
		return Record{}, false, fmt.Errorf("tasks: queue %s: %w", id, err)
	}
	return rec, true, nil
}

// unmark deletes task id's active key if it still names run runID.
func (m *Manager) unmark(id, runID string) {
	if _, err := m.st.CompareAndDelete(context.Background(), activePrefix+id, []byte(runID)); err != nil {
		m.cfg.Logger.Warn("task active key not removed; the next submission removes it", "task_id", id, "error", err)
	}
}

// work claims jobs from the queue until Shutdown, each only once a slot is
// free: the run it claims starts at once (unless it waits for its parent,
// which frees the slot meanwhile). A process never holds entries it cannot
// start while another could.
func (m *Manager) work() {
	defer close(m.worked)
	// Shutdown cuts a waiting claim short rather than waiting it out.
	stopped, unstop := context.WithCancel(context.Background())
	defer unstop()
	go func() { <-m.stop; unstop() }()
	for {
		select {
		case <-m.stop:
			return
		case m.slot <- struct{}{}:
		}
		ctx, cancel := context.WithTimeout(stopped, m.cfg.Lease)
		d, ok, err := m.cfg.Queue.Claim(ctx)
		cancel()
		if err == nil && ok {
			select {
			case <-m.stop: // claimed while shutting down: another process takes it
				m.queueLogged("requeue", d, m.cfg.Queue.Requeue)
				<-m.slot
				return
			default:
			}
			go func() {
				if !m.runDelivery(d) {
					<-m.slot
				}
			}()
			continue
		}
		<-m.slot
		if err != nil && stopped.Err() == nil {
			m.cfg.Logger.Warn("work queue unavailable; retrying", "error", err)
			select {
			case <-m.stop:
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// runDelivery starts the run d names, handing it the slot the claim took;
// false when it started none (the slot is still the caller's). A run found
// running was interrupted (its process died): it starts its next attempt,
// which resumes from the run's checkpoint, or fails after its last.
func (m *Manager) runDelivery(d Delivery) bool {
	ctx := context.Background()
	rec, err := m.read(ctx, d.TaskID)
	if stale(rec, err, d) {
		m.queueLogged("done", d, m.cfg.Queue.Done) // its run is over
		return false
	}
	if err != nil {
		m.cfg.Logger.Warn("queued task unreadable; it is claimed again after its lease", "task_id", d.TaskID, "error", err)
		return false
	}
	t, err := m.acquireWaiting(ctx, rec)
	if t == nil {
		if err != nil {
			m.cfg.Logger.Warn("queued task not taken", "task_id", d.TaskID, "error", err)
		}
		return false
	}
	// Read again under the lock: a cancel or another claimer may have ended
	// the run while the lock was out of reach.
	rec, err = m.read(ctx, d.TaskID)
	if err != nil || stale(rec, nil, d) {
		m.release(t)
		if err == nil {
			m.queueLogged("done", d, m.cfg.Queue.Done)
		}
		return false
	}
	t.rec, t.delivery = rec, d
	t.rec.Worker = m.proc
	interrupted, prev := rec.Status == Running, rec.Worker
	h := m.handler(rec.Kind)
	now := time.Now().UTC()
	why := ""
	switch _, cerr := m.st.Get(ctx, cancelKey(rec.TaskID, rec.RunID)); {
	case cerr == nil:
		why = "cancelled while queued"
	case h == nil:
		why = fmt.Sprintf("this process cannot run a %q task", rec.Kind)
	case interrupted && rec.Attempt >= MaxAttempts:
		why = fmt.Sprintf("interrupted: the process running it (%s) stopped before it finished (attempt %d of %d)", prev, rec.Attempt, MaxAttempts)
	}
	if why != "" {
		t.update(func(r *Record) { r.Status, r.FailedAt, r.Detail, r.Error = Failed, &now, "", why })
		m.writeLogged(t)
		m.queueLogged("done", d, m.cfg.Queue.Done)
		m.release(t)
		m.unmark(rec.TaskID, rec.RunID)
		return false
	}
	if interrupted {
		t.update(func(r *Record) {
			r.Attempt++
			r.Status, r.StartedAt = Queued, nil
			r.Detail = fmt.Sprintf("re-queued (attempt %d of %d): the process running it (%s) stopped before it finished", r.Attempt, MaxAttempts, prev)
		})
		m.cfg.Logger.Warn("task reclaimed after an interruption", "task_id", rec.TaskID, "run_id", rec.RunID, "worker", prev)
	}
	if err := m.write(ctx, t); err != nil {
		m.cfg.Logger.Warn("queued task not started", "task_id", rec.TaskID, "error", err)
		m.release(t)
		return false
	}
	m.start(t, h(rec.Params))
	return true
}

// stale reports whether the entry d names a run that is over (or gone).
func stale(rec Record, err error, d Delivery) bool {
	return errors.Is(err, ErrNotFound) || err == nil && (rec.RunID != d.RunID || !rec.Active())
}

// acquireWaiting takes rec's lock, waiting up to a lease for a dead holder's
// lock to lapse (the queue's idle time and the lock's lease run out together).
// Nil: a live process holds it.
func (m *Manager) acquireWaiting(ctx context.Context, rec Record) (*task, error) {
	deadline := time.Now().Add(m.cfg.Lease)
	for {
		t, got, err := m.acquire(ctx, rec)
		if err != nil || got || time.Now().After(deadline) {
			return t, err
		}
		select {
		case <-m.stop:
			return nil, nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// queueLogged calls op on d, logging a failure: the entry stays pending and
// is claimed again after the lease, which the Manager treats as a duplicate.
func (m *Manager) queueLogged(what string, d Delivery, op func(context.Context, Delivery) error) {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Lease)
	defer cancel()
	if err := op(ctx, d); err != nil && !errors.Is(err, store.ErrClosed) {
		m.cfg.Logger.Warn("work queue "+what+" failed", "task_id", d.TaskID, "entry", d.ID, "error", err)
	}
}
