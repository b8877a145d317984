package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"stockagent/server/pyapi"
	"stockagent/server/store/storetest"
)

const (
	agentRuns     = `stockagent_bridge_calls_total{function="` + pyapi.FuncAnalyze + `",lane="agent",outcome="ok"}`
	promptTokens  = `stockagent_llm_tokens_total{kind="prompt"}`
	relayAnswered = `stockagent_analyses_relayed_total{outcome="answered"}`
)

// With Redis, /analyze on api replicas runs on a trainer and answers through
// its reply stream: the api replicas never call the model; identical
// requests on two replicas share one run; a run whose client left is
// cancelled on the trainer. The real default LLM, one ticker.
func TestAnalysesRelayedToTrainer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real LLM")
	}
	dataDir := withTrainedAAPL(t)
	env := tinyEnv(map[string]string{"REDIS_URL": storetest.StartRedis(t), "RATE_LIMITS": "off", "MODELS_DIR": dataDir + "/models"})
	role := func(r string) map[string]string {
		e := maps.Clone(env)
		e["ROLE"] = r
		return e
	}
	apiA := startServer(t, dataDir, role("api"))
	apiB := startServer(t, "", role("api"))
	trainer := startServer(t, "", role("trainer"))
	analyze := func(ctx context.Context, s *server, question string) answer {
		body := `{"ticker":"AAPL"}`
		if question != "" {
			body = fmt.Sprintf(`{"ticker":"AAPL","question":%q}`, question)
		}
		return s.send(t, ctx, "/analyze", body, nil)
	}
	report := func(a answer) string {
		t.Helper()
		var v struct {
			FinalReport string `json:"final_report"`
		}
		if a.status != 200 || json.Unmarshal([]byte(a.body), &v) != nil || v.FinalReport == "" {
			t.Fatalf("/analyze: %d %v %.500s", a.status, a.err, a.body)
		}
		return v.FinalReport
	}

	t.Run("an api replica relays the trainer's run", func(t *testing.T) {
		start := time.Now()
		report(analyze(context.Background(), apiA, ""))
		t.Logf("relayed analysis in %s", time.Since(start).Round(time.Millisecond))
		if n, tokens := trainer.metric(t, agentRuns), trainer.metric(t, promptTokens); n != 1 || tokens == 0 {
			t.Fatalf("the trainer ran the agent %v times (%v prompt tokens), want once", n, tokens)
		}
		if !strings.Contains(trainer.logs(), "analysis claimed") {
			t.Fatal("the trainer's log does not show the analysis")
		}
		for _, s := range []*server{apiA, apiB} {
			if n := s.metric(t, agentRuns) + s.metric(t, promptTokens); n != 0 {
				t.Fatalf("an api replica called the model (%v)", n)
			}
		}
		if n := apiA.metric(t, relayAnswered); n != 1 {
			t.Fatalf("relayed analyses on the api replica: %v, want 1", n)
		}
	})

	t.Run("a streamed request gets the trainer's events through Redis", func(t *testing.T) {
		st := apiB.streamAnalyze(t, context.Background(), `{"ticker":"AAPL","question":"Is the forecast steady?"}`, nil)
		checkStreamedMiss(t, st, questionStages)
		if n := apiB.metric(t, agentRuns) + apiB.metric(t, promptTokens); n != 0 {
			t.Fatalf("the api replica called the model (%v)", n)
		}
	})

	t.Run("identical requests on two replicas share one run", func(t *testing.T) {
		before := trainer.metric(t, agentRuns)
		answers := make([]answer, 2)
		var wg sync.WaitGroup
		for i, s := range []*server{apiA, apiB} {
			wg.Add(1)
			go func() { defer wg.Done(); answers[i] = analyze(context.Background(), s, "What is the main risk?") }()
		}
		wg.Wait()
		if a, b := report(answers[0]), report(answers[1]); a != b {
			t.Fatalf("two reports for one run:\n%s\n---\n%s", a, b)
		}
		if n := trainer.metric(t, agentRuns) - before; n != 1 {
			t.Fatalf("%v agent runs for two identical requests, want 1", n)
		}
	})

	t.Run("a run whose client left is cancelled", func(t *testing.T) {
		claimed := strings.Count(trainer.logs(), "analysis claimed")
		cancelled := trainer.metric(t, agentCancelled)
		ctx, leave := context.WithCancel(context.Background())
		done := make(chan answer, 1)
		go func() { done <- analyze(ctx, apiA, "Should the forecast be trusted?") }()
		waitFor(t, "the trainer claims the run", 2*time.Minute, func() bool {
			return strings.Count(trainer.logs(), "analysis claimed") > claimed
		})
		leave()
		<-done
		start := time.Now()
		waitFor(t, "the trainer cancels the run", 3*time.Minute, func() bool {
			return trainer.metric(t, agentCancelled) > cancelled
		})
		t.Logf("cancelled %s after the client left", time.Since(start).Round(time.Millisecond))
		if !strings.Contains(trainer.logs(), "no client waits for it") {
			t.Fatal("the trainer's log does not say why the run ended")
		}
	})
}
