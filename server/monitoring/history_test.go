package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"stockagent/pybridge"
	"stockagent/server/pyapi"
)

// logs answers the two history calls as the Python side does: newest first, only
// records stamped before the request's before, at most limit of them.
type logs struct {
	drift, evals []time.Time // oldest first
}

func (l logs) Call(_ context.Context, _ pybridge.Lane, fn string, req, resp any, _ ...pybridge.CallOption) error {
	r := req.(pyapi.PagedHistoryRequest)
	var before time.Time
	if r.Before != "" {
		var err error
		if before, err = time.Parse(time.RFC3339Nano, r.Before); err != nil {
			return err
		}
	}
	var times []time.Time
	switch fn {
	case pyapi.FuncDriftHistory:
		times = l.drift
	case pyapi.FuncEvalHistory:
		times = l.evals
	default:
		return fmt.Errorf("logs: unexpected call %s", fn)
	}
	history := []map[string]any{}
	for i := len(times) - 1; i >= 0 && len(history) < r.Limit; i-- {
		if before.IsZero() || times[i].Before(before) {
			stamp := times[i].Format(time.RFC3339)
			if fn == pyapi.FuncDriftHistory {
				history = append(history, map[string]any{"timestamp": stamp})
			} else {
				history = append(history, map[string]any{"metrics": map[string]any{"timestamp": stamp}})
			}
		}
	}
	b, _ := json.Marshal(map[string]any{"ticker": r.Ticker, "history": history})
	return json.Unmarshal(b, resp)
}

func hour(h int) time.Time { return time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC) }

// Paging with next_before visits every record of both kinds once, newest first.
func TestHistoryPagesBothKindsWithOneCursor(t *testing.T) {
	l := logs{drift: []time.Time{hour(1), hour(2), hour(3), hour(5), hour(8)}, evals: []time.Time{hour(4), hour(6), hour(7)}}
	s := New(Config{}, Deps{Python: l})
	var drift, evals []string
	var pages []int
	before := ""
	for range 10 { // far more pages than the records need: a cursor that stalls fails below
		page, err := s.History(context.Background(), "AAPL", 2, before)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(page.Drift)+len(page.Evals))
		for _, r := range page.Drift {
			drift = append(drift, string(r))
		}
		for _, r := range page.Evals {
			evals = append(evals, string(r))
		}
		if page.NextBefore == nil {
			break
		}
		before = *page.NextBefore
	}
	stamps := func(ts []time.Time, eval bool) []string {
		var out []string
		for i := len(ts) - 1; i >= 0; i-- {
			if eval {
				out = append(out, fmt.Sprintf(`{"metrics":{"timestamp":%q}}`, ts[i].Format(time.RFC3339)))
			} else {
				out = append(out, fmt.Sprintf(`{"timestamp":%q}`, ts[i].Format(time.RFC3339)))
			}
		}
		return out
	}
	if fmt.Sprint(drift) != fmt.Sprint(stamps(l.drift, false)) || fmt.Sprint(evals) != fmt.Sprint(stamps(l.evals, true)) {
		t.Fatalf("pages lost or repeated records:\ndrift %v\nevals %v", drift, evals)
	}
	t.Logf("records per page: %v", pages)
	if len(pages) < 3 {
		t.Errorf("%d pages of at most 2 records of each kind for 8 records", len(pages))
	}
}

func TestHistoryLastPageHasNoCursor(t *testing.T) {
	page, err := New(Config{}, Deps{Python: logs{drift: []time.Time{hour(1)}}}).History(context.Background(), "AAPL", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	if page.NextBefore != nil || len(page.Drift) != 1 || len(page.Evals) != 0 {
		t.Fatalf("%+v", page)
	}
	b, _ := json.Marshal(page)
	if want := `{"ticker":"AAPL","drift":[{"timestamp":"2026-01-01T01:00:00Z"}],"evals":[],"next_before":null}`; string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}
