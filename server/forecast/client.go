// Package forecast is the server's side of the forecasting core: calls into
// the forecasting entry points through the bridge (server/pyapi), and the
// flows that combine them with training tasks (predict, or start the
// training that makes prediction possible).
package forecast

import (
	"context"
	"encoding/json"

	"stockagent/pybridge"
	"stockagent/server/pyapi"
)

// Client calls the forecasting core's entry points.
type Client struct{ py *pyapi.Client }

// NewClient returns a Client calling through py.
func NewClient(py pyapi.Caller) *Client { return &Client{py: pyapi.New(py)} }

// Predict returns the forecast of model ("parent" or a validated ticker):
// docs/api.md's <prediction> object.
func (c *Client) Predict(ctx context.Context, model string) (json.RawMessage, error) {
	return c.py.Predict(ctx, pyapi.TickerRequest{Ticker: model})
}

// PredictBatch returns the forecasts of many tickers from one call: one LSTM
// forward per shared LSTM, threads torch threads for it. The answer is
// {"results": [{ticker, result} | {ticker, error, detail}], answered, failed,
// lstm_forwards}; a ticker that fails does not fail the others.
func (c *Client) PredictBatch(ctx context.Context, tickers []string, threads int) (json.RawMessage, error) {
	return c.py.PredictBatch(ctx, pyapi.PredictBatchRequest{Tickers: tickers, Threads: threads})
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

// Train trains and saves a new version of model on the long-work lane,
// reporting each progress event (epoch, losses) to progress as it comes. The
// version is saved without serving: the answer's version and promotion say
// whether it should (SetServing, after the fenced commit). The run writes an
// epoch checkpoint under runID; resumeRunID names a checkpoint to resume from.
// Force is not sent: Go decides whether to train; Python trains when asked.
func (c *Client) Train(ctx context.Context, model string, p TrainParams, runID, resumeRunID string, progress func(json.RawMessage)) (json.RawMessage, error) {
	req := pyapi.TrainRequest{
		Ticker: model, Epochs: p.Epochs, StartDate: p.StartDate, Strategy: p.Strategy,
		LearningRate: p.LearningRate, Promote: p.Promote, RunID: runID, ResumeRunID: resumeRunID,
	}
	return c.py.Train(ctx, req, pybridge.WithEvents(func(b []byte) { progress(b) }))
}

// SetServing points model's serving.json at version (a derived copy of the
// store's serving pointer); it reports whether the file changed.
func (c *Client) SetServing(ctx context.Context, model, version string) (bool, error) {
	out, err := c.py.SetServing(ctx, pyapi.SetServingRequest{Ticker: model, Version: version})
	return out.Changed, err
}

// LoadServing makes this process's Python side load version of model and serve
// it; the answer's Error says why it could not (the previous version keeps serving).
func (c *Client) LoadServing(ctx context.Context, model, version string) (pyapi.LoadServingResponse, error) {
	return c.py.LoadServing(ctx, pyapi.SetServingRequest{Ticker: model, Version: version})
}

// State reports whether model exists and which version serves.
func (c *Client) State(ctx context.Context, model string) (pyapi.ModelState, error) {
	return c.py.ModelState(ctx, pyapi.TickerRequest{Ticker: model})
}

// Models lists every model with its versions and held-out metrics.
func (c *Client) Models(ctx context.Context) (json.RawMessage, error) {
	return c.py.Models(ctx)
}

// Model describes one model (NotFound when it has none).
func (c *Client) Model(ctx context.Context, model string) (json.RawMessage, error) {
	return c.py.Model(ctx, pyapi.TickerRequest{Ticker: model})
}

// Tickers lists the symbols that can be forecast without a download.
func (c *Client) Tickers(ctx context.Context) (json.RawMessage, error) {
	return c.py.Tickers(ctx)
}

// PastForecasts is what model's serving version forecast at held-out cut-offs
// of its evaluation, with the closes that followed.
func (c *Client) PastForecasts(ctx context.Context, model string) (json.RawMessage, error) {
	return c.py.PastForecasts(ctx, pyapi.TickerRequest{Ticker: model})
}

// Runs lists the training runs of model from the run log, newest first.
func (c *Client) Runs(ctx context.Context, model string, limit int) (json.RawMessage, error) {
	return c.py.Runs(ctx, pyapi.HistoryRequest{Ticker: model, Limit: limit})
}
