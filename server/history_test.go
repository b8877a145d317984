package main

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// GET /monitor/{ticker}/history through the real server and interpreter: drift
// reports and evaluations stamped in one second, across page boundaries, are
// each read once, newest first, though a record is saved between two pages;
// drift reports stored before records had a seq are numbered on reading. A
// request without a cursor gets the newest page; a malformed cursor is a 422.
func TestHistoryPagesEveryRecordOnce(t *testing.T) {
	dataDir := t.TempDir()
	folder := filepath.Join(dataDir, "monitoring", "AAPL")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	const second = "2026-11-27T01:47:22+00:00"
	drift := func(i int, seq bool) string {
		r := map[string]any{"ticker": "AAPL", "health": "Healthy", "drift_score": 0.5, "volatility_index": 1.0,
			"feature_metrics": map[string]any{}, "timestamp": second, "status": "ok", "i": i}
		if seq {
			r["seq"] = i + 1
		}
		b, _ := json.Marshal(r)
		return string(b) + "\n"
	}
	eval := func(i int) string {
		b, _ := json.Marshal(map[string]any{"ticker": "AAPL", "output_preview_text": "", "i": i, "seq": i + 1,
			"metrics": map[string]any{"checks": map[string]any{}, "check_details": map[string]any{}, "overall_score": 0.7,
				"status": "Trustworthy", "duration_seconds": 0.1, "timestamp": second}})
		return string(b) + "\n"
	}
	var driftLines, evalLines string
	for i := range 9 {
		driftLines += drift(i, false) // saved before records had a seq
	}
	for i := range 5 {
		evalLines += eval(i)
	}
	write := func(name, text string, flag int) {
		f, err := os.OpenFile(filepath.Join(folder, name), flag|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = f.WriteString(text)
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	write("drift_history.jsonl", driftLines, os.O_CREATE|os.O_TRUNC)
	write("eval_history.jsonl", evalLines, os.O_CREATE|os.O_TRUNC)

	srv := startServer(t, dataDir, map[string]string{"LLM_PROVIDER": "none"})
	srv.checkResponses(t)
	type page struct {
		Drift      []struct{ I, Seq int }
		Evals      []struct{ I, Seq int }
		NextCursor *string `json:"next_cursor"`
	}
	get := func(query string) page {
		t.Helper()
		status, body := srv.get(t, "/monitor/AAPL/history"+query)
		if status != 200 {
			t.Fatalf("GET history%s: %d %s", query, status, body)
		}
		var p page
		mustDecode(t, body, &p)
		return p
	}

	newest := get("?limit=3") // as a client that knows no cursor asks
	if len(newest.Drift) != 3 || newest.Drift[0].I != 8 || len(newest.Evals) != 3 || newest.Evals[0].I != 4 || newest.NextCursor == nil {
		t.Fatalf("the newest page: %+v", newest)
	}
	var drifts, evals []int
	query := "?limit=3"
	for n := 0; ; n++ {
		if n == 20 {
			t.Fatalf("still paging after %d pages: drift %v, evals %v", n, drifts, evals)
		}
		p := get(query)
		for _, r := range p.Drift {
			drifts = append(drifts, r.I)
		}
		for _, r := range p.Evals {
			evals = append(evals, r.I)
		}
		if p.NextCursor == nil {
			t.Logf("page %d: %d drift reports, %d evaluations, the last", n, len(p.Drift), len(p.Evals))
			break
		}
		t.Logf("page %d: %d drift reports, %d evaluations, next %s", n, len(p.Drift), len(p.Evals), *p.NextCursor)
		if n == 0 { // a check stored between pages, in the same second, comes after the ones read
			write("drift_history.jsonl", drift(9, true), os.O_APPEND)
		}
		query = "?limit=3&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if want := []int{8, 7, 6, 5, 4, 3, 2, 1, 0}; !slices.Equal(drifts, want) {
		t.Errorf("drift reports read %v, want %v: each once, newest first", drifts, want)
	}
	if want := []int{4, 3, 2, 1, 0}; !slices.Equal(evals, want) {
		t.Errorf("evaluations read %v, want %v: each once, newest first", evals, want)
	}
	if p := get("?limit=1"); len(p.Drift) != 1 || p.Drift[0].I != 9 || p.Drift[0].Seq != 10 {
		t.Errorf("the newest page after the save: %+v", p)
	}

	for _, bad := range []string{"yesterday", "2026-11-27T01:47:22Z", "d1", "d01e1", "d-1e1", "d1e1x"} {
		status, body := srv.get(t, "/monitor/AAPL/history?cursor="+url.QueryEscape(bad))
		if status != 422 || !strings.Contains(body, "cursor must be") || !strings.Contains(body, bad) {
			t.Errorf("GET history?cursor=%s: %d %s, want a 422 naming it", bad, status, body)
		}
	}
}
