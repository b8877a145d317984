package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stockagent/server/tickers"
)

// Finding 3: AAPL, ^AAPL and ^^AAPL were three tasks and three concurrent
// trainings writing into one model folder. Every spelling is one canonical
// model now, over HTTP too, and the parent's symbol names the parent.
func TestFinding03AliasTickers(t *testing.T) {
	spellings := []string{"AAPL", "^AAPL", "^^aapl"}
	for _, s := range spellings {
		m, err := tickers.Model(s)
		if err != nil || m != "AAPL" || tickers.TaskID(m) != "aapl" || tickers.Stem(m) != "AAPL" {
			t.Fatalf("%q: model %q (%v), task %q, folder %q", s, m, err, tickers.TaskID(m), tickers.Stem(m))
		}
	}
	if testing.Short() {
		t.Skip("trains real models")
	}
	dataDir := t.TempDir()
	s := startServer(t, dataDir, map[string]string{
		"DATA_SOURCE": "bundled", "MLFLOW_DISABLE": "1", "RATE_LIMITS": "off",
		"PARENT_EPOCHS": "1", "CHILD_EPOCHS": "1", "PARENT_START_DATE": "2016-01-01",
	})

	// Three spellings at once: one training of AAPL (behind the parent's).
	bodies := make([]string, len(spellings))
	var wg sync.WaitGroup
	for i, sp := range spellings {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := s.post(t, "/train-child", `{"ticker":"`+sp+`"}`)
			if status != 200 {
				t.Errorf("/train-child %s: %d %s", sp, status, body)
			}
			bodies[i] = body
		}()
	}
	wg.Wait()
	startedN := 0
	for _, b := range bodies {
		if strings.Contains(b, `"status":"started`) {
			startedN++
		} else if !strings.Contains(b, "already running") {
			t.Errorf("neither started nor already running: %s", b)
		}
	}
	if startedN != 1 {
		t.Fatalf("%d of three spellings started a training: %q", startedN, bodies)
	}
	if status, body := s.get(t, "/status/%5Eaapl"); status != 200 || !strings.Contains(body, `"task_id":"aapl"`) {
		t.Fatalf("/status/%%5Eaapl: %d %s", status, body)
	}
	if rec := waitStatus(t, s, "aapl", 4*time.Minute); rec.Status != "completed" {
		t.Fatalf("AAPL training: %+v", rec)
	}
	_, body := s.get(t, "/tasks")
	var list struct {
		Tasks []struct {
			TaskID string `json:"task_id"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("/tasks: %v: %.300s", err, body)
	}
	var ids []string
	for _, r := range list.Tasks {
		ids = append(ids, r.TaskID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"aapl", "parent_training"}) {
		t.Fatalf("tasks %v, want aapl and parent_training", ids)
	}
	entries, err := os.ReadDir(filepath.Join(dataDir, "models"))
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			folders = append(folders, e.Name())
		}
	}
	if !slices.Equal(folders, []string{"AAPL", "parent"}) {
		t.Fatalf("model folders %v, want AAPL and parent", folders)
	}

	// The parent's aliases, wherever a model is named.
	if status, body := s.post(t, "/predict-child", `{"ticker":"^GSPC"}`); status != 200 || !strings.Contains(body, `"model":"parent"`) {
		t.Fatalf(`/predict-child {"ticker":"^GSPC"}: %d %.300s`, status, body)
	}
	if status, body := s.post(t, "/train-child", `{"ticker":"gspc"}`); status != 200 || !strings.Contains(body, `"task_id":"parent_training"`) {
		t.Fatalf(`/train-child {"ticker":"gspc"}: %d %s`, status, body)
	}
	if status, body := s.post(t, "/monitor/%5EGSPC", ``); status != 200 || !strings.Contains(body, `"ticker":"parent"`) {
		t.Fatalf("/monitor/%%5EGSPC: %d %.300s", status, body)
	}
	if status, body := s.get(t, "/models/%5E%5Eaapl"); status != 200 || !strings.Contains(body, `AAPL`) {
		t.Fatalf("/models/%%5E%%5Eaapl: %d %.300s", status, body)
	}
	if status, body := s.get(t, "/models/A%5EB"); status != 400 || !strings.Contains(body, "may only lead") {
		t.Fatalf("/models/A%%5EB: %d %s", status, body)
	}
}
