// Package forecast is the server's side of the forecasting core: calls into
// stockagent.entry through the bridge, and the flows that combine them with
// training tasks (predict, or start the training that makes prediction
// possible).
package forecast

import (
	"context"
	"encoding/json"

	"stockagent/pybridge"
)

// Python is the part of the bridge this package uses.
type Python interface {
	Call(ctx context.Context, lane pybridge.Lane, fn string, req, resp any, opts ...pybridge.CallOption) error
}

const entry = "stockagent.entry:"

// Client calls the forecasting core's entry points.
type Client struct{ py Python }

// NewClient returns a Client calling through py.
func NewClient(py Python) *Client { return &Client{py: py} }

type tickerReq struct {
	Ticker string `json:"ticker"`
}

// Predict returns the forecast of model ("parent" or a validated ticker):
// docs/api.md's <prediction> object.
func (c *Client) Predict(ctx context.Context, model string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.py.Call(ctx, pybridge.Inference, entry+"predict", tickerReq{model}, &out)
	return out, err
}

type batchReq struct {
	Tickers []string `json:"tickers"`
	Threads int      `json:"threads"`
}

// PredictBatch returns the forecasts of many tickers from one call: one LSTM
// forward per shared LSTM, threads torch threads for it. The answer is
// {"results": [{ticker, result} | {ticker, error, detail}], answered, failed,
// lstm_forwards}; a ticker that fails does not fail the others.
func (c *Client) PredictBatch(ctx context.Context, tickers []string, threads int) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.py.Call(ctx, pybridge.Inference, entry+"predict_batch", batchReq{tickers, threads}, &out)
	return out, err
}

// TrainParams are the optional hyper-parameters of a training request
// (docs/api.md, "Training"); zero values leave the server-wide defaults.
type TrainParams struct {
	Epochs       int     `json:"epochs,omitempty"`
	StartDate    string  `json:"start_date,omitempty"`
	Strategy     string  `json:"strategy,omitempty"`
	LearningRate float64 `json:"learning_rate,omitempty"`
	Promote      string  `json:"promote,omitempty"`
	Force        bool    `json:"force,omitempty"`
	// Owner is the identity of the caller who asked (the task record's owner).
	Owner string `json:"-"`
}

type trainReq struct {
	Ticker string `json:"ticker"`
	TrainParams
	RunID       string `json:"run_id,omitempty"`
	ResumeRunID string `json:"resume_run_id,omitempty"`
}

// Train trains and saves a new version of model on the long-work lane,
// reporting each progress event (epoch, losses) to progress as it comes. The
// version is saved without serving: the answer's version and promotion say
// whether it should (SetServing, after the fenced commit). The run writes an
// epoch checkpoint under runID; resumeRunID names a checkpoint to resume from.
func (c *Client) Train(ctx context.Context, model string, p TrainParams, runID, resumeRunID string, progress func(json.RawMessage)) (json.RawMessage, error) {
	var out json.RawMessage
	p.Force = false // Go decides whether to train; Python always trains when asked
	opts := []pybridge.CallOption{pybridge.WithEvents(func(b []byte) { progress(b) })}
	err := c.py.Call(ctx, pybridge.Long, entry+"train", trainReq{model, p, runID, resumeRunID}, &out, opts...)
	return out, err
}

// SetServing points model's serving.json at version (a derived copy of the
// store's serving pointer); it reports whether the file changed.
func (c *Client) SetServing(ctx context.Context, model, version string) (bool, error) {
	var out struct {
		Changed bool `json:"changed"`
	}
	err := c.py.Call(ctx, pybridge.Inference, entry+"set_serving", map[string]string{"ticker": model, "version": version}, &out)
	return out.Changed, err
}

// State is what the server needs to know of a model cheaply.
type State struct {
	Exists         bool   `json:"exists"`
	ServingVersion string `json:"serving_version"`
	DataAsOf       string `json:"data_as_of"`
}

// State reports whether model exists and which version serves.
func (c *Client) State(ctx context.Context, model string) (State, error) {
	var s State
	err := c.py.Call(ctx, pybridge.Inference, entry+"model_state", tickerReq{model}, &s)
	return s, err
}

// Models lists every model with its versions and held-out metrics.
func (c *Client) Models(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.py.Call(ctx, pybridge.Inference, entry+"models", nil, &out)
	return out, err
}

// Model describes one model (NotFound when it has none).
func (c *Client) Model(ctx context.Context, model string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.py.Call(ctx, pybridge.Inference, entry+"model", tickerReq{model}, &out)
	return out, err
}

// Tickers lists the symbols that can be forecast without a download.
func (c *Client) Tickers(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.py.Call(ctx, pybridge.Inference, entry+"tickers", nil, &out)
	return out, err
}

// Runs lists the training runs of model from the run log, newest first.
func (c *Client) Runs(ctx context.Context, model string, limit int) (json.RawMessage, error) {
	var out json.RawMessage
	req := map[string]any{"ticker": model, "limit": limit}
	err := c.py.Call(ctx, pybridge.Inference, entry+"runs", req, &out)
	return out, err
}
