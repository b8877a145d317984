package httpapi

import (
	"fmt"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/analysis"
	"stockagent/server/httpapi/api"
)

// MaxQuestion bounds a follow-up question's length in characters. The
// analyst also bounds it in the model's tokens (AGENT_MAX_QUESTION_TOKENS),
// which is the limit that matters for a non-ASCII question.
const MaxQuestion = 2000

// POST /analyze: the analyst's report on a ticker's forecast and news.
func (h *handlers) Analyze(c *fiber.Ctx) error {
	var b api.AnalyzeRequest
	ticker, err := decodeTickerBody(c, &b, &b.Ticker)
	if err != nil {
		return err
	}
	threadID, question := value(b.ThreadId), value(b.Question)
	skipFMI := b.UseFmi != nil && !*b.UseFmi // unset: news as NEWS_SOURCE says
	if len(threadID) > 128 {
		return unprocessable("thread_id is longer than 128 characters")
	}
	if utf8.RuneCountInString(question) > MaxQuestion {
		return unprocessable(fmt.Sprintf("question is longer than %d characters", MaxQuestion))
	}
	if h.d.Analysis == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "the analyst is not configured on this server")
	}
	// The analysis has its own, longer deadline (ANALYZE_TIMEOUT) inside the
	// service; a client that leaves stops waiting, and its run stops when
	// nobody else waits for it.
	ctx, cancel := untilClientGone(c)
	defer cancel()
	answer, tr, err := h.d.Analysis.Analyze(ctx, analysis.Request{
		Ticker: ticker, ThreadID: threadID, SkipFMI: skipFMI, Question: question, Owner: callerOf(c).ID,
	})
	if err != nil {
		return err
	}
	if tr != nil {
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "training", "detail": tr.Detail, "ticker": ticker, "task_id": tr.TaskID})
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(answer)
}
