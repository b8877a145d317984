package httpapi

import (
	"bufio"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/analysis"
	"stockagent/server/forecast"
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
	req := analysis.Request{Ticker: ticker, ThreadID: threadID, SkipFMI: skipFMI, Question: question, Owner: callerOf(c).ID}
	if wantsStream(c) {
		return h.analyzeStream(c, req)
	}
	// The analysis has its own, longer deadline (ANALYZE_TIMEOUT) inside the
	// service; a client that leaves stops waiting, and its run stops when
	// nobody else waits for it.
	ctx, cancel := untilClientGone(c)
	defer cancel()
	answer, tr, err := h.d.Analysis.Analyze(ctx, req)
	if err != nil {
		return err
	}
	if tr != nil {
		return c.Status(fiber.StatusAccepted).JSON(trainingBody(ticker, tr))
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(answer)
}

func trainingBody(ticker string, tr *forecast.Training) fiber.Map {
	return fiber.Map{"status": "training", "detail": tr.Detail, "ticker": ticker, "task_id": tr.TaskID}
}

// MIMEEventStream is the media type of server-sent events.
const MIMEEventStream = "text/event-stream"

// wantsStream says whether the client asked for the analysis as events.
func wantsStream(c *fiber.Ctx) bool {
	return strings.Contains(strings.ToLower(c.Get(fiber.HeaderAccept)), MIMEEventStream)
}

// Stream timings: a comment line every keepAlive while nothing else is sent
// (proxies close a silent connection); streamBuffer events wait for a slow
// reader before its token events are dropped and its other events make the
// run wait.
const (
	keepAlive    = 15 * time.Second
	streamBuffer = 256
)

// analyzeStream answers POST /analyze as server-sent events
// (docs/api.md, "The analysis stream"): the flow's stages, the analyst's
// text as it is written (provisional), each report field once it passed its
// checks, then the report (the JSON body of the plain call), the training
// that must come first, or an error. A client that goes away, or a write
// that fails, cancels the request's context: its run stops when nobody else
// waits for it.
func (h *handlers) analyzeStream(c *fiber.Ctx, req analysis.Request) error {
	ctx, cancel := untilClientGone(c)
	events := make(chan analysis.Event, streamBuffer)
	req.Events = func(e analysis.Event) {
		if e.Name == analysis.EventToken {
			select {
			case events <- e:
			default: // provisional text: dropped for a slow reader rather than stall the run
			}
			return
		}
		select {
		case events <- e:
		case <-ctx.Done():
		}
	}
	log, path, reqID := h.d.Logger, c.Path(), requestID(c)
	go func() {
		defer close(events)
		answer, tr, err := h.d.Analysis.Analyze(ctx, req)
		last := analysis.Event{Name: analysis.EventReport, Data: answer}
		switch {
		case err != nil:
			status, detail, _ := errorStatus(log, err, path, reqID)
			last = analysis.NewEvent(analysis.EventError, fiber.Map{"detail": detail, "status": status})
		case tr != nil:
			last = analysis.NewEvent(analysis.EventTraining, trainingBody(req.Ticker, tr))
		}
		select {
		case events <- last:
		case <-ctx.Done():
		}
	}()
	c.Set(fiber.HeaderContentType, MIMEEventStream)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no") // a proxy that buffers would hold every event until the end
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		tick := time.NewTicker(keepAlive)
		defer tick.Stop()
		for {
			select {
			case e, ok := <-events:
				if !ok {
					return
				}
				_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Name, e.Data)
				tick.Reset(keepAlive)
			case <-tick.C:
				_, _ = w.WriteString(": keep-alive\n\n")
			case <-ctx.Done():
				return
			}
			if err := w.Flush(); err != nil {
				return // the client is gone: cancel (deferred) ends the request's part in the run
			}
		}
	})
	return nil
}
