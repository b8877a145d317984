package analysis

import (
	"encoding/json"
	"slices"
	"testing"
)

// forecastView lifts a forecast's views beside its history, and leaves an
// answer already in that shape (a report the semantic cache kept) as it is.
func TestForecastView(t *testing.T) {
	var fc map[string]any
	if err := json.Unmarshal(forecastJSON(3), &fc); err != nil {
		t.Fatal(err)
	}
	fc["model_version"] = "v1"
	view := forecastView(fc)
	var got []string
	for k := range view {
		got = append(got, k)
	}
	slices.Sort(got)
	if want := []string{"data_as_of", "full_forecast", "history", "model_version", "ticker"}; !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	if rows, _ := view["full_forecast"].([]any); len(rows) != 63 {
		t.Fatalf("full_forecast has %d rows, want 63", len(rows))
	}
	again, _ := json.Marshal(forecastView(view))
	once, _ := json.Marshal(view)
	if string(again) != string(once) {
		t.Fatalf("a second view changed the answer:\n%s\n%s", once, again)
	}
}
