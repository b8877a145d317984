package httpapi

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/forecast"
	"stockagent/server/httpapi/api"
	"stockagent/server/tickers"
)

// trainBody is a training request (docs/api.md, "Training"): both trainings decode into
// the child's type, so a ticker or strategy sent to /train-parent is refused with a reason.
// Pointers tell an absent value from a zero one, which is refused.
type trainBody api.TrainChild

// MaxEpochs bounds a request's epochs: more would run for days on a CPU.
const MaxEpochs = 1000

// params validates the hyper-parameters; out-of-range values are a 422.
func (b trainBody) params(child bool) (forecast.TrainParams, error) {
	var p forecast.TrainParams
	if b.Epochs != nil {
		if *b.Epochs < 1 || *b.Epochs > MaxEpochs {
			return p, unprocessable(fmt.Sprintf("epochs must be between 1 and %d, got %d", MaxEpochs, *b.Epochs))
		}
		p.Epochs = *b.Epochs
	}
	if b.LearningRate != nil {
		if lr := *b.LearningRate; !(lr > 0 && lr <= 1) {
			return p, unprocessable(fmt.Sprintf("learning_rate must be in (0, 1], got %g", lr))
		}
		p.LearningRate = *b.LearningRate
	}
	if b.StartDate != nil {
		if _, err := parseDate("start_date", *b.StartDate, time.Now()); err != nil {
			return p, err
		}
		p.StartDate = *b.StartDate
	}
	if b.Strategy != nil {
		if !child {
			return p, unprocessable("strategy applies to child models only")
		}
		if *b.Strategy != api.Freeze && *b.Strategy != api.FineTune {
			return p, unprocessable(fmt.Sprintf(`strategy must be "freeze" or "fine_tune", got %q`, *b.Strategy))
		}
		p.Strategy = string(*b.Strategy)
	}
	if b.Promote != nil {
		if *b.Promote != api.TrainChildPromoteAlways && *b.Promote != api.TrainChildPromoteAuto {
			return p, unprocessable(fmt.Sprintf(`promote must be "always" or "auto", got %q`, *b.Promote))
		}
		p.Promote = string(*b.Promote)
	}
	p.Force = b.Force != nil && *b.Force
	return p, nil
}

// POST /train-parent
func (h *handlers) TrainParent(c *fiber.Ctx) error {
	var b trainBody
	sent, err := decodeBody(c, &b, true)
	if err != nil {
		return err
	}
	if sent["ticker"] {
		return unprocessable("/train-parent takes no ticker; use /train-child")
	}
	p, err := b.params(false)
	if err != nil {
		return err
	}
	return h.train(c, tickers.Parent, p)
}

// POST /train-child
func (h *handlers) TrainChild(c *fiber.Ctx) error {
	var b trainBody
	ticker, err := decodeTickerBody(c, &b, &b.Ticker)
	if err != nil {
		return err
	}
	// The parent's symbol names the parent here too: its training, under its task id.
	p, err := b.params(ticker != tickers.Parent)
	if err != nil {
		return err
	}
	return h.train(c, ticker, p)
}

func (h *handlers) train(c *fiber.Ctx, model string, p forecast.TrainParams) error {
	if p.Promote == "always" || p.Force {
		if err := requireRole(c, RoleAdmin, `"promote":"always" or "force":true`); err != nil {
			return err
		}
	}
	ctx, cancel := h.callCtx(c)
	defer cancel()
	p.Owner = callerOf(c).ID
	tr, err := h.d.Forecast.Train(ctx, model, p)
	if err != nil {
		return err
	}
	return c.JSON(tr)
}

// GET /status/{task_id}
func (h *handlers) GetStatus(c *fiber.Ctx, taskID string) error {
	rec, _, err := h.task(c, taskID)
	if err != nil {
		return err
	}
	return c.JSON(visible(c, rec))
}
