package analysis

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestBucket(t *testing.T) {
	for pct, want := range map[float64]string{0: "flat", 0.99: "flat", -0.5: "flat", 1.5: "up 1-3%", -2.9: "down 1-3%",
		5: "up 3-7%", -10: "down 7-15%", 40: "up over 15%"} {
		if got := bucket(pct); got != want {
			t.Errorf("bucket(%v) = %q, want %q", pct, got, want)
		}
	}
}

// forecastJSON builds a forecast whose close moves by pct over 63 days.
func forecastJSON(pct float64) json.RawMessage {
	var rows []string
	for i := 1; i <= 63; i++ {
		rows = append(rows, fmt.Sprintf(`{"date":"d%d","close":%f}`, i, 100*(1+pct/100*float64(i)/63)))
	}
	return json.RawMessage(`{"ticker":"AAPL","data_as_of":"2024-12-31","history":[{"date":"2024-12-31","close":100}],` +
		`"predictions":{"full_forecast":[` + strings.Join(rows, ",") + `]}}`)
}

func TestCacheTextChangesWithDirectionNotNoise(t *testing.T) {
	text := func(pct float64, news ...string) string {
		p, err := parsePrediction(forecastJSON(pct))
		if err != nil {
			t.Fatal(err)
		}
		var hs []Headline
		for _, n := range news {
			hs = append(hs, Headline{Title: n})
		}
		return CacheText("AAPL", p, hs)
	}
	if text(4.1) != text(4.4) {
		t.Error("forecasts that differ by noise give different cache texts")
	}
	if text(4) == text(-4) {
		t.Error("opposite forecasts give the same cache text")
	}
	if text(4) == text(4, "Apple beats estimates") || !strings.Contains(text(4), "News: none") {
		t.Error("headlines do not reach the cache text")
	}
	if _, err := parsePrediction(json.RawMessage(`{"ticker":"X","history":[]}`)); err == nil {
		t.Error("an incomplete forecast was accepted")
	}
}
