package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"stockagent/server/store/storetest"
)

// servingHealth is /health's serving component, as an admin (a loopback caller) sees it.
type servingHealth struct {
	Status     string `json:"status"`
	Components struct {
		Serving struct {
			Status string `json:"status"`
			Models []struct {
				Model, Version, Refused, Reason string
			} `json:"models"`
		} `json:"serving"`
	} `json:"components"`
}

// startReplicas starts two servers on one new Redis and one shared MODELS_DIR, each with
// its own data folder, as replicas run; it returns them, the Redis URL and the model folder.
func startReplicas(t *testing.T) (a, b *server, redisURL, models string) {
	t.Helper()
	env := crashEnv()
	redisURL = storetest.StartRedis(t)
	models = t.TempDir()
	env["REDIS_URL"], env["MODELS_DIR"], env["RATE_LIMITS"] = redisURL, models, "off"
	return startServer(t, "", env), startServer(t, "", env), redisURL, models
}

// awaitServing polls s until ok holds for its /health and its fresh forecast of model
// (predictPath, body), within a hang guard; it returns how long that took.
func awaitServing(t *testing.T, s *server, predictPath, body, what string, ok func(h servingHealth, version string) bool) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard, not a timing
	defer cancel()
	start := time.Now()
	var health, pred string
	for ctx.Err() == nil {
		var h servingHealth
		_, health = s.get(t, "/health")
		var p struct {
			Result struct {
				Version string `json:"model_version"`
			} `json:"result"`
		}
		_, pred = s.do(t, "POST", predictPath, body, map[string]string{"Cache-Control": "no-cache"})
		if json.Unmarshal([]byte(health), &h) == nil && json.Unmarshal([]byte(pred), &p) == nil && ok(h, p.Result.Version) {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: never; last /health %s, forecast %.300s", what, health, pred)
	return 0
}

func servesVersion(h servingHealth, model, version string) bool {
	for _, m := range h.Components.Serving.Models {
		if m.Model == model && m.Version == version {
			return true
		}
	}
	return false
}

// A new serving version trained through one replica is loaded and served by the
// other, which shares only Redis and MODELS_DIR with it.
func TestServingVersionReachesEveryReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	a, b, _, _ := startReplicas(t)
	if status, body := a.post(t, "/train-child", `{"ticker":"AAPL"}`); status != 200 {
		t.Fatalf("a /train-child: %d %s", status, body)
	}
	first := waitStatus(t, a, "aapl", 5*time.Minute)
	if first.Status != "completed" || first.Result.Version == "" {
		t.Fatalf("first training: %+v", first)
	}
	awaitServing(t, b, "/predict-child", `{"ticker":"AAPL"}`, "b serves the first version", func(h servingHealth, v string) bool {
		return v == first.Result.Version && servesVersion(h, "AAPL", v)
	})

	if status, body := a.post(t, "/train-child", `{"ticker":"AAPL","force":true,"promote":"always"}`); status != 200 || !strings.Contains(body, `"started"`) {
		t.Fatalf("a /train-child (force): %d %s", status, body)
	}
	second := pollTask(t, a, "aapl", 5*time.Minute, "the second training ends", func(r taskStatus) bool {
		return r.Status == "completed" && r.Result.Version != "" && r.Result.Version != first.Result.Version
	})
	// Either replica may have run the training (both take work from the queue): the
	// other one must follow.
	const commitMsg = "model version committed as serving"
	committer, follower, names := a, b, "a, loaded by b"
	if _, ok := logTime(b, commitMsg, second.Result.Version); ok {
		committer, follower, names = b, a, "b, loaded by a"
	}
	took := awaitServing(t, follower, "/predict-child", `{"ticker":"AAPL"}`, "the other replica serves the new version", func(h servingHealth, v string) bool {
		return v == second.Result.Version && servesVersion(h, "AAPL", v)
	})
	committed, loaded := loggedAt(t, committer, commitMsg, second.Result.Version),
		loggedAt(t, follower, "serving version loaded", second.Result.Version)
	t.Logf("version %s: committed by %s %s later (their logs); it served it %s after the training was reported completed",
		second.Result.Version, names, loaded.Sub(committed), took)
}

// loggedAt is when s logged msg about version (the text log's time field).
func loggedAt(t *testing.T, s *server, msg, version string) time.Time {
	t.Helper()
	at, ok := logTime(s, msg, version)
	if !ok {
		t.Fatalf("%q about %s not in the log", msg, version)
	}
	return at
}

// logTime is when s logged msg about version, if it did.
func logTime(s *server, msg, version string) (time.Time, bool) {
	return logTimeOf(s, msg, "version="+version)
}

// logTimeOf is when s first logged msg with field (key=value), if it did.
func logTimeOf(s *server, msg, field string) (time.Time, bool) {
	for _, line := range strings.Split(s.logs(), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.Contains(line, `msg="`+msg+`"`) || !strings.Contains(line, field) {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time=")); err == nil {
			return at, true
		}
	}
	return time.Time{}, false
}

// A version whose files are broken is refused by a replica, which keeps serving the
// previous one and says so in /health.
func TestReplicaRefusesBrokenVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("trains real models")
	}
	a, b, redisURL, models := startReplicas(t)
	if status, body := a.post(t, "/train-parent", `{}`); status != 200 {
		t.Fatalf("a /train-parent: %d %s", status, body)
	}
	good := waitStatus(t, a, "parent", 5*time.Minute)
	if good.Status != "completed" || good.Result.Version == "" {
		t.Fatalf("parent training: %+v", good)
	}
	awaitServing(t, b, "/predict-parent", ``, "b serves the parent", func(h servingHealth, v string) bool {
		return v == good.Result.Version && servesVersion(h, "parent", v)
	})

	// What a committing replica does, with a version whose weights are not a checkpoint.
	broken := "v29991231235959999-beef"
	if err := os.CopyFS(filepath.Join(models, "parent", broken), os.DirFS(filepath.Join(models, "parent", good.Result.Version))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(models, "parent", broken, "weights.pt"), []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	ptr := `{"version":"` + broken + `","updated":"2999-12-31T23:59:59Z","run_id":"0123abcd"}`
	if err := rdb.Set(ctx, "serving:parent", ptr, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Publish(ctx, "serving", `{"model":"parent","version":"`+broken+`"}`).Err(); err != nil {
		t.Fatal(err)
	}

	awaitServing(t, b, "/predict-parent", ``, "b refuses the broken version and keeps the good one", func(h servingHealth, v string) bool {
		for _, m := range h.Components.Serving.Models {
			if m.Model == "parent" && m.Refused == broken && m.Reason != "" && m.Version == good.Result.Version {
				return v == good.Result.Version && h.Status == "degraded" && h.Components.Serving.Status == "stale"
			}
		}
		return false
	})
}
