package httpapi

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/tasks"
	"stockagent/server/tickers"
)

// GET /tasks: recent and running tasks, newest first.
func (h *handlers) ListTasks(c *fiber.Ctx) error {
	recs, err := h.d.Forecast.Tasks().List(c.UserContext())
	if err != nil {
		return err
	}
	for i := range recs {
		recs[i] = visible(c, recs[i])
	}
	return c.JSON(fiber.Map{"tasks": recs, "count": len(recs)})
}

// visible is rec as the caller may see it: the owner's identity only for admins.
func visible(c *fiber.Ctx, rec tasks.Record) tasks.Record {
	if !callerOf(c).Can(RoleAdmin) {
		rec.Owner = ""
	}
	return rec
}

// DELETE /tasks/{task_id}: cancel a queued or running task; only its owner
// (the caller who started it) or an admin may. Cancellation is cooperative:
// the training stops at its next batch and its status turns failed. The
// cancel names the task's current run: it never reaches a later one.
func (h *handlers) CancelTask(c *fiber.Ctx, taskID string) error {
	rec, id, err := h.task(c, taskID)
	if err != nil {
		return err
	}
	if caller := callerOf(c); rec.Owner != caller.ID && !caller.Can(RoleAdmin) {
		return fiber.NewError(fiber.StatusForbidden, fmt.Sprintf("Task '%s' was started by another caller: only its owner or an admin may cancel it.", id))
	}
	if !rec.Active() {
		return fiber.NewError(fiber.StatusConflict, fmt.Sprintf("Task '%s' already %s.", id, rec.Status))
	}
	rec, err = h.d.Forecast.Tasks().Cancel(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "cancelling", "task_id": id,
		"detail": "the task stops at its next safe point (batch or epoch); poll /status/" + id, "task": visible(c, rec)})
}

// task reads the task the URL's task_id names ("parent" means
// "parent_training"): 404 with docs/api.md's detail for an unknown or malformed id.
// raw is copied: the id outlives the handler in the answer and the cancel.
func (h *handlers) task(c *fiber.Ctx, raw string) (tasks.Record, string, error) {
	raw = strings.Clone(raw)
	id, err := tickers.FromTaskID(raw)
	if err != nil {
		return tasks.Record{}, raw, fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("Task '%s' not found.", raw))
	}
	rec, err := h.d.Forecast.Tasks().Get(c.UserContext(), id)
	if errors.Is(err, tasks.ErrNotFound) {
		return rec, id, fiber.NewError(fiber.StatusNotFound, fmt.Sprintf("Task '%s' not found.", id))
	}
	return rec, id, err
}
