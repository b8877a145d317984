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
// records stamped before the request's before and numbered below its
// before_seq, at most limit of them. A record's seq is its place, from 1.
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
		if (before.IsZero() || times[i].Before(before)) && (r.BeforeSeq == 0 || i+1 < r.BeforeSeq) {
			history = append(history, record(fn == pyapi.FuncEvalHistory, times[i], i+1))
		}
	}
	b, _ := json.Marshal(map[string]any{"ticker": r.Ticker, "history": history})
	return json.Unmarshal(b, resp)
}

// record is a drift report or an evaluation as stored, with its time and seq.
func record(eval bool, at time.Time, seq int) map[string]any {
	stamp := at.Format(time.RFC3339)
	if eval {
		return map[string]any{"metrics": map[string]any{"timestamp": stamp}, "seq": seq}
	}
	return map[string]any{"timestamp": stamp, "seq": seq}
}

func hour(h int) time.Time { return time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC) }

// pageThrough reads every page of s's history of AAPL, limit records of each
// kind at a time, and returns the records of each kind in the order read.
func pageThrough(t *testing.T, s *Service, limit int, between func()) (drift, evals []string, pages []int) {
	t.Helper()
	var from *Cursor
	for range 100 { // far more pages than the records need: a cursor that stalls fails below
		page, err := s.History(context.Background(), "AAPL", limit, "", from)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(page.Drift)+len(page.Evals))
		if page.Drift == nil || page.Evals == nil {
			t.Errorf("page %d: a kind is null, not a list: %+v", len(pages), page)
		}
		for _, r := range page.Drift {
			drift = append(drift, string(r))
		}
		for _, r := range page.Evals {
			evals = append(evals, string(r))
		}
		if page.NextCursor == nil {
			return drift, evals, pages
		}
		c, ok := ParseCursor(*page.NextCursor)
		if !ok {
			t.Fatalf("next_cursor %q does not parse", *page.NextCursor)
		}
		from = &c
		if between != nil {
			between()
		}
	}
	t.Fatalf("still paging after 100 pages: %v", pages)
	return nil, nil, nil
}

// newestFirst is what paging through times must read: each record once, newest first.
func newestFirst(times []time.Time, eval bool) []string {
	var out []string
	for i := len(times) - 1; i >= 0; i-- {
		b, _ := json.Marshal(record(eval, times[i], i+1))
		out = append(out, string(b))
	}
	return out
}

// Paging with next_cursor visits every record of both kinds once, newest first.
func TestHistoryPagesBothKindsWithOneCursor(t *testing.T) {
	l := logs{drift: []time.Time{hour(1), hour(2), hour(3), hour(5), hour(8)}, evals: []time.Time{hour(4), hour(6), hour(7)}}
	drift, evals, pages := pageThrough(t, New(Config{}, Deps{Python: l}), 2, nil)
	if fmt.Sprint(drift) != fmt.Sprint(newestFirst(l.drift, false)) || fmt.Sprint(evals) != fmt.Sprint(newestFirst(l.evals, true)) {
		t.Fatalf("pages lost or repeated records:\ndrift %v\nevals %v", drift, evals)
	}
	t.Logf("records per page: %v", pages)
	if len(pages) < 3 {
		t.Errorf("%d pages of at most 2 records of each kind for 8 records", len(pages))
	}
}

// Many records stamped in one second, across page boundaries: the cursor holds
// their numbers, so each is read once, though records saved between the pages
// (stamped in that same second) come first in the history.
func TestHistoryPagesExactlyThroughOneSecond(t *testing.T) {
	second := hour(9)
	l := &logs{}
	for range 11 {
		l.drift = append(l.drift, second)
	}
	for range 7 {
		l.evals = append(l.evals, second)
	}
	l.drift = append([]time.Time{hour(1), hour(2)}, l.drift...)
	want, wantEvals := newestFirst(l.drift, false), newestFirst(l.evals, true)
	s := New(Config{}, Deps{Python: l})
	drift, evals, pages := pageThrough(t, s, 3, func() {
		l.drift = append(l.drift, second)
		l.evals = append(l.evals, second)
	})
	t.Logf("records per page: %v", pages)
	if fmt.Sprint(drift) != fmt.Sprint(want) || fmt.Sprint(evals) != fmt.Sprint(wantEvals) {
		t.Fatalf("pages lost or repeated records:\ndrift %v\nwant  %v\nevals %v\nwant  %v", drift, want, evals, wantEvals)
	}
}

func TestCursorRoundTripsAndRefusesOthers(t *testing.T) {
	for _, c := range []Cursor{{}, {Drift: 120, Evals: 37}, {Drift: 1, Evals: 0}} {
		if got, ok := ParseCursor(c.String()); !ok || got != c {
			t.Errorf("ParseCursor(%q) = %v, %v", c.String(), got, ok)
		}
	}
	for _, bad := range []string{"", "d1", "e1d1", "d-1e2", "d01e2", "d1e2 ", "D1E2", "2026-01-01T00:00:00Z", "d99999999999999999e1"} {
		if c, ok := ParseCursor(bad); ok {
			t.Errorf("ParseCursor(%q) = %v, want a refusal", bad, c)
		}
	}
}

func TestHistoryLastPageHasNoCursor(t *testing.T) {
	page, err := New(Config{}, Deps{Python: logs{drift: []time.Time{hour(1)}}}).History(context.Background(), "AAPL", 2, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if page.NextCursor != nil || len(page.Drift) != 1 || len(page.Evals) != 0 {
		t.Fatalf("%+v", page)
	}
	b, _ := json.Marshal(page)
	if want := `{"ticker":"AAPL","drift":[{"seq":1,"timestamp":"2026-01-01T01:00:00Z"}],"evals":[],"next_cursor":null}`; string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}
