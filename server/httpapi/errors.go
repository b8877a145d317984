package httpapi

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"stockagent/pybridge"
	"stockagent/server/analysis"
	"stockagent/server/pyapi"
	"stockagent/server/redact"
	"stockagent/server/store"
	"stockagent/server/tasks"
	"stockagent/server/tickers"
)

// pyStatus maps the error kinds of the Python contract (stockagent/errors.py)
// to statuses; a test checks that every kind has one.
var pyStatus = map[pyapi.ErrorKind]int{
	pyapi.ErrBadRequest:       fiber.StatusBadRequest,
	pyapi.ErrInvalidParameter: fiber.StatusUnprocessableEntity,
	pyapi.ErrNotFound:         fiber.StatusNotFound,
	pyapi.ErrModelMissing:     fiber.StatusNotFound,
	pyapi.ErrConflict:         fiber.StatusConflict,
	pyapi.ErrUnavailable:      fiber.StatusServiceUnavailable,
	pyapi.ErrCancelled:        fiber.StatusGatewayTimeout,
}

// DefaultRetryAfter is the Retry-After, in seconds, of a 503 whose cause names none.
const DefaultRetryAfter = 10

// errorHandler is the one place where errors become responses: a status and
// {"detail": …}. Tracebacks and internal messages go to the log only.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, detail, own := errorStatus(log, err, c.Path(), requestID(c))
		if errors.Is(err, pybridge.ErrLaneFull) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(LaneFullRetryAfter))
		}
		if own {
			return c.Status(status).JSON(fiber.Map{"detail": detail})
		}
		if status == fiber.StatusServiceUnavailable && len(c.Response().Header.Peek(fiber.HeaderRetryAfter)) == 0 {
			// Every 503 says when to try again (openapi.json); a part that knows better sets its own.
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(DefaultRetryAfter))
		}
		secure(c)
		return c.Status(status).JSON(fiber.Map{"detail": detail})
	}
}

// errorStatus is the status and the client's detail of err (also the error
// event of a streamed analysis), logging what the client is not told. own
// is true for the analyst's own errors (analysisError).
func errorStatus(log *slog.Logger, err error, path, reqID string) (status int, detail string, own bool) {
	if status, detail, ok := analysisError(err); ok {
		return status, detail, true
	}
	status, detail = fiber.StatusInternalServerError, "internal error"
	var fe *fiber.Error
	var pe *pybridge.PyError
	switch {
	case errors.As(err, &fe):
		status, detail = fe.Code, fe.Message
	case errors.Is(err, tickers.ErrInvalid):
		status, detail = fiber.StatusBadRequest, err.Error()
	case errors.Is(err, tasks.ErrNotFound):
		status, detail = fiber.StatusNotFound, err.Error()
	case errors.Is(err, pybridge.ErrPoolClosed):
		status, detail = fiber.StatusServiceUnavailable, "the server is shutting down"
	case errors.Is(err, store.ErrUnavailable):
		status, detail = fiber.StatusServiceUnavailable, "the shared store (Redis) is unavailable; retry shortly"
		log.Warn("store unavailable", "error", err, "path", path, "request_id", reqID)
	case errors.As(err, &pe):
		if kind, ok := pyapi.KindOf(err); ok {
			status, detail = pyStatus[kind], pe.Message
		} else {
			log.Error("python error", "func", pe.Func, "type", pe.Type, "message", pe.Message,
				"traceback", pe.Traceback, "request_id", reqID)
		}
	}
	if status == fiber.StatusInternalServerError && pe == nil {
		log.Error("request failed", "error", err, "path", path, "request_id", reqID)
	}
	if status == fiber.StatusInternalServerError {
		detail = "internal error (request id " + reqID + "); see the server log"
	}
	return status, redact.Text(detail), false
}

// LaneFullRetryAfter is the Retry-After, in seconds, of a 503 for a full
// agent lane: about one analysis on a small machine, after which a place in
// the queue is likely free.
const LaneFullRetryAfter = 30

// analysisError is the status and detail errorHandler gives the analyst's
// own errors; ok is false for other errors.
func analysisError(err error) (status int, detail string, ok bool) {
	switch {
	case errors.Is(err, pybridge.ErrLaneFull):
		return fiber.StatusServiceUnavailable, "the analyst is busy: too many analyses are waiting; retry later", true
	case errors.Is(err, analysis.ErrThreadNotFound):
		return fiber.StatusNotFound, "no such thread", true
	case errors.Is(err, analysis.ErrTimeout):
		return fiber.StatusGatewayTimeout, strings.TrimPrefix(err.Error(), "analysis: "), true
	}
	return 0, "", false
}

// badRequest, unprocessable and notFound are the errors handlers return for
// input they refuse themselves.
func badRequest(msg string) error    { return fiber.NewError(fiber.StatusBadRequest, msg) }
func unprocessable(msg string) error { return fiber.NewError(fiber.StatusUnprocessableEntity, msg) }
