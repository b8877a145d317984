package httpapi

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"stockagent/server/cache"
	"stockagent/server/forecast"
	"stockagent/server/httpapi/api"
	"stockagent/server/store"
	"stockagent/server/tasks"
)

// TestCancelOwnerOrAdmin: a task records who started it; only that caller or
// an admin may cancel it (others 403), and only admins see the owner.
func TestCancelOwnerOrAdmin(t *testing.T) {
	py := &fakePython{trained: map[string]bool{"parent": true}, release: make(chan struct{})}
	st := store.NewMemory()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := tasks.New(st, tasks.Config{Logger: quiet})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	svc := forecast.NewService(forecast.NewClient(py), m, cache.NewPredictions(st, forecast.ServingVersions(st), 0), nil, quiet)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := &handlers{d: Deps{Logger: quiet, Forecast: svc, Store: st, CallTimeout: DefaultCallTimeout}}
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(quiet)})
	callers := map[string]Caller{
		"alice": {ID: "key:alice", Role: RoleTrain}, "bob": {ID: "key:bob", Role: RoleTrain},
		"root": {ID: "key:root", Role: RoleAdmin},
	}
	app.Use(func(c *fiber.Ctx) error { c.Locals(callerLocal, callers[c.Get("X-Caller")]); return c.Next() })
	api.RegisterHandlers(app, h)

	call := func(who, method, path, body string) (int, map[string]any) {
		t.Helper()
		status, out, _ := request(t, app, method, path, body, map[string]string{"X-Caller": who})
		if out == nil {
			t.Fatalf("%s %s: %d, body is not a JSON object", method, path, status)
		}
		return status, out
	}
	for _, ticker := range []string{"AAPL", "MSFT"} {
		if status, body := call("alice", "POST", "/train-child", `{"ticker":"`+ticker+`"}`); status != 200 || body["status"] != "started" {
			t.Fatalf("alice trains %s: %d %v", ticker, status, body)
		}
	}
	if _, rec := call("root", "GET", "/status/aapl", ""); rec["owner"] != "key:alice" || rec["run_id"] == "" || rec["attempt"] != 1.0 {
		t.Fatalf("the admin's view: %v", rec)
	}
	if _, rec := call("bob", "GET", "/status/aapl", ""); rec["owner"] != nil {
		t.Fatalf("another caller sees the owner: %v", rec)
	}
	status, body := call("bob", "DELETE", "/tasks/aapl", "")
	if status != 403 || !strings.Contains(body["detail"].(string), "owner or an admin") {
		t.Fatalf("bob cancels alice's task: %d %v", status, body)
	}
	if _, rec := call("root", "GET", "/status/aapl", ""); rec["status"] != "running" && rec["status"] != "queued" {
		t.Fatalf("after a refused cancel: %v", rec)
	}
	if status, body := call("alice", "DELETE", "/tasks/aapl", ""); status != 200 || body["task"].(map[string]any)["owner"] != nil {
		t.Fatalf("alice cancels her task: %d %v", status, body)
	}
	if status, body := call("root", "DELETE", "/tasks/msft", ""); status != 200 {
		t.Fatalf("an admin cancels alice's task: %d %v", status, body)
	}
	for _, id := range []string{"aapl", "msft"} {
		rec, err := m.Wait(context.Background(), id)
		if err != nil || rec.Status != tasks.Failed {
			t.Fatalf("%s after the cancel: %+v %v", id, rec, err)
		}
	}
}
