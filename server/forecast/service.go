package forecast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"stockagent/server/cache"
	"stockagent/server/pyapi"
	"stockagent/server/store"
	"stockagent/server/tasks"
	"stockagent/server/tickers"
)

// Observer receives the measurements of the flows below (metrics). Its
// methods must be safe for concurrent use and must not block.
type Observer interface {
	Prediction(kind string, d time.Duration, err error)
	CacheHit(cache string)
	CacheMiss(cache string)
}

type noObserver struct{}

func (noObserver) Prediction(string, time.Duration, error) {}
func (noObserver) CacheHit(string)                         {}
func (noObserver) CacheMiss(string)                        {}

// Service combines forecasts with the prediction cache and the training
// tasks that make forecasts possible.
type Service struct {
	client *Client
	tasks  *tasks.Manager
	cache  *cache.Predictions
	obs    Observer
	log    *slog.Logger
	follow follower // shared serving pointers (follow.go)
}

// Task kinds of trainings.
const (
	kindParent = "train_parent"
	kindChild  = "train_child"
)

// NewService returns a Service, and registers its trainings with m (so any
// process can re-queue an interrupted one). obs and log may be nil.
func NewService(c *Client, m *tasks.Manager, pc *cache.Predictions, obs Observer, log *slog.Logger) *Service {
	if obs == nil {
		obs = noObserver{}
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Service{client: c, tasks: m, cache: pc, obs: obs, log: log}
	m.Handle(kindParent, s.training)
	m.Handle(kindChild, s.training)
	m.Handle(KindBacktest, s.backtest)
	return s
}

// Cache returns the prediction cache.
func (s *Service) Cache() *cache.Predictions { return s.cache }

// Tasks returns the task manager.
func (s *Service) Tasks() *tasks.Manager { return s.tasks }

// Client returns the underlying entry-point client.
func (s *Service) Client() *Client { return s.client }

// Training says which training a request started or joined.
type Training struct {
	// Status is "started", "already running", "completed" or "started_parent" (docs/api.md).
	Status string `json:"status"`
	TaskID string `json:"task_id"`
	Detail string `json:"detail,omitempty"`
}

// PredictBatch forecasts many tickers at once (Client.PredictBatch). It
// neither reads nor fills the prediction cache, whose entries are full
// single answers, and it starts no training: an untrained ticker is reported.
func (s *Service) PredictBatch(ctx context.Context, tickers []string, threads int) (json.RawMessage, error) {
	start := time.Now()
	out, err := s.client.PredictBatch(ctx, tickers, threads)
	s.obs.Prediction("batch", time.Since(start), err)
	return out, err
}

// Predict returns the forecast of model, or, when the model does not exist
// yet, starts its training (the parent's first when that is missing too) and
// returns the training that will make it.
func (s *Service) Predict(ctx context.Context, model string) (json.RawMessage, *Training, error) {
	return s.predict(ctx, model, true)
}

// PredictFresh is Predict without reading the prediction cache: the forecast
// is computed now and replaces the cached one (a request's
// Cache-Control: no-cache).
func (s *Service) PredictFresh(ctx context.Context, model string) (json.RawMessage, *Training, error) {
	return s.predict(ctx, model, false)
}

func (s *Service) predict(ctx context.Context, model string, fromCache bool) (json.RawMessage, *Training, error) {
	kind := "child"
	if model == tickers.Parent {
		kind = "parent"
	}
	start := time.Now()
	if fromCache {
		if pred, ok, err := s.cache.Get(ctx, model); err != nil {
			s.log.Warn("prediction cache unavailable; computing", "model", model, "error", err)
		} else if ok {
			s.obs.CacheHit("prediction")
			s.obs.Prediction(kind, time.Since(start), nil)
			return pred, nil, nil
		}
		s.obs.CacheMiss("prediction")
	}
	var pred json.RawMessage
	var err error
	if fromCache {
		// Identical concurrent misses share one call, across replicas too.
		pred, err = s.cache.Compute(ctx, model, func(ctx context.Context) (json.RawMessage, error) {
			return s.forecast(ctx, model)
		})
	} else {
		pred, err = s.forecast(ctx, model)
	}
	if err == nil || !errors.Is(err, pyapi.ErrModelMissing) {
		s.obs.Prediction(kind, time.Since(start), err)
	}
	if err == nil {
		return pred, nil, nil
	}
	if !errors.Is(err, pyapi.ErrModelMissing) {
		return nil, nil, err
	}
	tr, err := s.Train(ctx, model, TrainParams{})
	if err != nil {
		return nil, nil, err
	}
	// The task of this model is what the client polls, even when the parent trains first.
	tr.TaskID = tickers.TaskID(model)
	tr.Detail = fmt.Sprintf("no model for %s yet; training started (task %s): poll /status/%s", model, tr.TaskID, tr.TaskID)
	return nil, tr, nil
}

// Train starts the training of model unless it is running already or (without
// p.Force) a model exists. A child whose parent is missing waits for the
// parent's training, which starts too.
func (s *Service) Train(ctx context.Context, model string, p TrainParams) (*Training, error) {
	id := tickers.TaskID(model)
	if rec, err := s.tasks.Get(ctx, id); err == nil && rec.Active() {
		return &Training{Status: "already running", TaskID: id, Detail: "a training of this model is " + string(rec.Status)}, nil
	}
	if !p.Force {
		st, err := s.client.State(ctx, model)
		if err != nil {
			return nil, err
		}
		if st.Exists {
			return &Training{Status: "completed", TaskID: id,
				Detail: fmt.Sprintf("model exists (version %s); send \"force\": true to retrain", st.ServingVersion)}, nil
		}
	}
	after, status := "", "started"
	if model != tickers.Parent {
		parent, err := s.client.State(ctx, tickers.Parent)
		if err != nil {
			return nil, err
		}
		if !parent.Exists {
			if _, err := s.submit(ctx, tickers.Parent, TrainParams{Owner: p.Owner}, ""); err != nil {
				return nil, err
			}
			after, status = tickers.ParentTaskID, "started_parent"
		}
	}
	started, err := s.submit(ctx, model, p, after)
	if err != nil {
		return nil, err
	}
	if !started {
		return &Training{Status: "already running", TaskID: id}, nil
	}
	if status == "started_parent" {
		return &Training{Status: status, TaskID: tickers.ParentTaskID,
			Detail: fmt.Sprintf("the parent model is missing: training it first; %s is queued behind it (poll /status/%s)", id, id)}, nil
	}
	return &Training{Status: status, TaskID: id}, nil
}

// forecast computes a forecast through the bridge and caches it; a failed
// call is never cached.
func (s *Service) forecast(ctx context.Context, model string) (json.RawMessage, error) {
	pred, err := s.client.Predict(ctx, model)
	if err != nil {
		return nil, err
	}
	if err := s.cache.Put(ctx, model, pred); err != nil {
		s.log.Warn("forecast not cached", "model", model, "error", err)
	}
	return pred, nil
}

// trainJob is a training task's params, kept in its record.
type trainJob struct {
	Model string `json:"model"`
	TrainParams
}

func (s *Service) submit(ctx context.Context, model string, p TrainParams, after string) (bool, error) {
	kind := kindChild
	if model == tickers.Parent {
		kind = kindParent
	}
	params, err := json.Marshal(trainJob{model, p})
	if err != nil {
		return false, err
	}
	_, started, err := s.tasks.Submit(ctx, tasks.Spec{ID: tickers.TaskID(model), Kind: kind, After: after, Owner: p.Owner, Params: params})
	return started, err
}

// training is the work of a training task: a re-queued run resumes from its
// last epoch checkpoint. The new version serves only once the run's fenced
// commit of the serving pointer succeeds: a run whose lease passed to another
// process leaves its version unserved.
func (s *Service) training(params json.RawMessage) tasks.Func {
	return func(ctx context.Context, progress func(json.RawMessage)) (json.RawMessage, error) {
		var job trainJob
		if err := json.Unmarshal(params, &job); err != nil {
			return nil, fmt.Errorf("training params: %w", err)
		}
		run := tasks.RunOf(ctx)
		resume := ""
		if run.Attempt > 1 {
			resume = run.RunID
		}
		res, err := s.client.Train(ctx, job.Model, job.TrainParams, run.RunID, resume, progress)
		if err != nil {
			return nil, err
		}
		var out struct {
			Version   string `json:"version"`
			Promotion struct {
				Promoted bool `json:"promoted"`
			} `json:"promotion"`
		}
		if err := json.Unmarshal(res, &out); err != nil || out.Version == "" {
			return nil, fmt.Errorf("training of %s answered no version: %.200s", job.Model, res)
		}
		if out.Promotion.Promoted {
			if err := s.commitServing(ctx, job.Model, out.Version, run.RunID); err != nil {
				return nil, err
			}
		}
		// The new version serves from now on: cache its forecast, so the
		// client that waited for this training is answered from the cache.
		if _, err := s.forecast(ctx, job.Model); err != nil {
			s.log.Warn("forecast after training failed", "model", job.Model, "error", err)
		}
		return res, nil
	}
}

// servingPrefix + model is the store's serving pointer of a model: the record
// of which version serves. serving.json in the model's folder is a copy.
const servingPrefix = "serving:"

// ServingPointer is the store's record of the version a model serves.
type ServingPointer struct {
	Version string    `json:"version"`
	Updated time.Time `json:"updated"`
	RunID   string    `json:"run_id"`
}

// ServingVersions reads the serving pointers in st (the store the task
// manager commits to): the prediction cache's check that an entry was made
// by the version that serves.
func ServingVersions(st store.Store) cache.Serving {
	return func(ctx context.Context, model string) (string, bool, error) {
		b, err := st.Get(ctx, servingPrefix+model)
		if errors.Is(err, store.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		var ptr ServingPointer
		if err := json.Unmarshal(b, &ptr); err != nil {
			return "", false, fmt.Errorf("serving pointer of %s: %w", model, err)
		}
		return ptr.Version, true, nil
	}
}

// commitServing moves model's serving pointer to version, fenced by the run's
// lease, writes serving.json from it, then announces the move to the
// processes that share the store (Follow).
func (s *Service) commitServing(ctx context.Context, model, version, runID string) error {
	b, err := json.Marshal(ServingPointer{Version: version, Updated: time.Now().UTC(), RunID: runID})
	if err != nil {
		return err
	}
	// A store outage holds the commit back until the store returns (or the
	// run ends): a version serves only through the fenced pointer.
	for logged := false; ; logged = true {
		err = s.tasks.Commit(ctx, servingPrefix+model, b)
		if err == nil {
			break
		}
		if errors.Is(err, tasks.ErrFenced) {
			s.log.Warn("training fenced: its version stays unserved", "model", model, "version", version, "run_id", runID, "error", err)
			return fmt.Errorf("%w; version %s stays unserved", err, version)
		}
		if !errors.Is(err, store.ErrUnavailable) {
			return err
		}
		if !logged {
			s.log.Warn("serving pointer not committed: the store is unavailable; retrying", "model", model, "version", version)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("version %s of %s not committed: %w", version, model, err)
		case <-time.After(time.Second):
		}
	}
	_, err = s.client.SetServing(ctx, model, version)
	if err == nil {
		s.log.Info("model version committed as serving", "model", model, "version", version, "run_id", runID)
	}
	s.announce(ctx, model, version) // the pointer moved, whether or not its copy was written
	if err != nil {
		return fmt.Errorf("serving pointer of %s committed (version %s) but serving.json not written: %w", model, version, err)
	}
	return nil
}

// Reconcile makes every model's serving.json agree with the serving pointer
// in st (the store holds the truth; a file can lag after a crash between the
// commit and the copy, or on a replica that did not run the training). A
// starting server calls it once.
func (s *Service) Reconcile(ctx context.Context, st store.Store) error {
	return st.Scan(ctx, servingPrefix, func(key string) error {
		b, err := st.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		model := strings.TrimPrefix(key, servingPrefix)
		var ptr ServingPointer
		if err := json.Unmarshal(b, &ptr); err != nil {
			s.log.Warn("serving pointer unreadable", "model", model, "error", err)
			return nil
		}
		changed, err := s.client.SetServing(ctx, model, ptr.Version)
		if err != nil {
			s.log.Warn("serving.json not reconciled with the store", "model", model, "version", ptr.Version, "error", err)
		} else if changed {
			s.log.Warn("serving.json disagreed with the store; rewritten", "model", model, "version", ptr.Version)
		}
		return nil
	})
}
