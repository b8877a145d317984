package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"stockagent/server/store/storetest"
)

// With REDIS_URL a conversation follows its caller: a follow-up asked of another replica
// is answered on the thread the first replica wrote, whose checkpoints are in Redis and in
// neither replica's data folder.
func TestThreadFollowsTheCallerToAnotherReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real models")
	}
	redisURL := storetest.StartRedis(t)
	stub := startLLMStub(t)
	env := tinyEnv(map[string]string{
		"LLM_BASE_URL": stub.URL, "LLM_MODEL": "stub", "API_KEYS": "alice-key", "REDIS_URL": redisURL, "RATE_LIMITS": "off",
	})
	dirA, dirB := withTrainedAAPL(t), withTrainedAAPL(t)
	a, b := startServer(t, dirA, env), startServer(t, dirB, env)
	defer a.cmd.Process.Kill()
	defer b.cmd.Process.Kill()
	alice := map[string]string{"X-API-Key": "alice-key"}
	ask := func(s *server, body string) analysisAnswer {
		t.Helper()
		res := s.send(t, context.Background(), "/analyze", body, alice)
		if res.err != nil || res.status != 200 {
			t.Fatalf("%s: %d %v %.300s", body, res.status, res.err, res.body)
		}
		var out analysisAnswer
		if err := json.Unmarshal([]byte(res.body), &out); err != nil {
			t.Fatalf("%v: %.300s", err, res.body)
		}
		return out
	}

	const thread = "portfolio-talk"
	first := ask(a, fmt.Sprintf(`{"ticker":"AAPL","thread_id":%q}`, thread))
	follow := ask(b, fmt.Sprintf(`{"ticker":"AAPL","thread_id":%q,"question":"Why?"}`, thread))
	if follow.ThreadID != thread || follow.Answer == "" || follow.FinalReport != first.FinalReport {
		t.Fatalf("the follow-up on b: %+v, want an answer on %q with a's report", follow, thread)
	}
	for _, dir := range []string{dirA, dirB} {
		if _, err := os.Stat(filepath.Join(dir, "agent", "checkpoints.sqlite")); !os.IsNotExist(err) {
			t.Errorf("%s holds SQLite checkpoints (%v): with REDIS_URL they belong in Redis", dir, err)
		}
	}
}
