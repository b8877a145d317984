//go:build linux || darwin

package httpapi

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

// serveWaiting serves one route whose handler waits up to wait on
// untilClientGone's context and reports how the wait ended on ended. The
// server's ReadTimeout is much shorter than the wait, as CALL_TIMEOUT is
// shorter than an analysis.
func serveWaiting(t *testing.T, wait time.Duration) (url string, ended <-chan string) {
	t.Helper()
	out := make(chan string, 1)
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadTimeout: 200 * time.Millisecond})
	app.Get("/wait", func(c *fiber.Ctx) error {
		ctx, cancel := untilClientGone(c)
		defer cancel()
		select {
		case <-ctx.Done():
			out <- "client gone"
		case <-time.After(wait):
			out <- "waited"
		}
		return c.SendString("done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String() + "/wait", out
}

// A client that stays is waited for past the server's read deadline; one
// that leaves ends the wait.
func TestUntilClientGone(t *testing.T) {
	url, ended := serveWaiting(t, 1500*time.Millisecond)
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got := <-ended; got != "waited" || string(body) != "done" {
		t.Fatalf("a client that stayed: the handler saw %q, the client got %q", got, body)
	}

	url, ended = serveWaiting(t, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	go func() { time.Sleep(300 * time.Millisecond); cancel() }() // the client leaves
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the cancelled request got an answer")
	}
	select {
	case got := <-ended:
		if got != "client gone" {
			t.Fatalf("a client that left: the handler saw %q", got)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a timing
		t.Fatal("the handler never saw the client leave")
	}
}
