package forecast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"stockagent/pybridge"
	"stockagent/server/tasks"
	"stockagent/server/tickers"
)

// Python exception types the flows below branch on (stockagent/errors.py).
const (
	errModelMissing = "stockagent.errors.ModelMissing"
)

// IsPy reports whether err is a Python exception of the given type.
func IsPy(err error, typ string) bool {
	var pe *pybridge.PyError
	return errors.As(err, &pe) && pe.Type == typ
}

// Service combines forecasts with the training tasks that make them possible.
type Service struct {
	client *Client
	tasks  *tasks.Manager
}

// NewService returns a Service.
func NewService(c *Client, m *tasks.Manager) *Service { return &Service{client: c, tasks: m} }

// Client returns the underlying entry-point client.
func (s *Service) Client() *Client { return s.client }

// Training says which training a request started or joined.
type Training struct {
	// Status is "started", "already running", "completed" or "started_parent" (API.md).
	Status string `json:"status"`
	TaskID string `json:"task_id"`
	Detail string `json:"detail,omitempty"`
}

// Predict returns the forecast of model, or, when the model does not exist
// yet, starts its training (the parent's first when that is missing too) and
// returns the training that will make it.
func (s *Service) Predict(ctx context.Context, model string) (json.RawMessage, *Training, error) {
	pred, err := s.client.Predict(ctx, model)
	if err == nil {
		return pred, nil, nil
	}
	if !IsPy(err, errModelMissing) {
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
	if rec, err := s.tasks.Get(id); err == nil && rec.Active() {
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
			if _, err := s.submit(tickers.Parent, TrainParams{}, ""); err != nil {
				return nil, err
			}
			after, status = tickers.ParentTaskID, "started_parent"
		}
	}
	started, err := s.submit(model, p, after)
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

func (s *Service) submit(model string, p TrainParams, after string) (bool, error) {
	kind := "train_child"
	if model == tickers.Parent {
		kind = "train_parent"
	}
	_, started, err := s.tasks.Submit(tickers.TaskID(model), kind, after, func(ctx context.Context, progress func(json.RawMessage)) (json.RawMessage, error) {
		return s.client.Train(ctx, model, p, progress)
	})
	return started, err
}
