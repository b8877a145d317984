package httpapi

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/tickers"
)

// GET /tasks: recent and running tasks, newest first.
func (h *handlers) listTasks(c *fiber.Ctx) error {
	recs, err := h.d.Forecast.Tasks().List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tasks": recs, "count": len(recs)})
}

// DELETE /tasks/{task_id}: cancel a queued or running task. Cancellation is
// cooperative: the training stops at its next batch and its status turns
// failed.
func (h *handlers) cancelTask(c *fiber.Ctx) error {
	raw := strings.Clone(c.Params("task_id"))
	id, err := tickers.FromTaskID(raw)
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("Task '%s' not found.", raw))
	}
	rec, err := h.d.Forecast.Tasks().Get(c.UserContext(), id)
	if err != nil {
		return fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("Task '%s' not found.", id))
	}
	if !rec.Active() {
		return fiber.NewError(fiber.StatusConflict, fmt.Sprintf("Task '%s' already %s.", id, rec.Status))
	}
	rec, err = h.d.Forecast.Tasks().Cancel(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "cancelling", "task_id": id,
		"detail": "the task stops at its next safe point (batch or epoch); poll /status/" + id, "task": rec})
}
