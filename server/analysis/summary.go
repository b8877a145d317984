package analysis

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// prediction is the part of a forecast the analysis flow reads.
type prediction struct {
	Ticker      string `json:"ticker"`
	Predictions struct {
		Full []struct {
			Date  string  `json:"date"`
			Close float64 `json:"close"`
		} `json:"full_forecast"`
	} `json:"predictions"`
	History []struct {
		Date  string  `json:"date"`
		Close float64 `json:"close"`
	} `json:"history"`
	ModelVersion string `json:"model_version"`
	DataAsOf     string `json:"data_as_of"`
}

func parsePrediction(raw json.RawMessage) (prediction, error) {
	var p prediction
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("analysis: forecast: %w", err)
	}
	if len(p.History) == 0 || len(p.Predictions.Full) < 63 {
		return p, fmt.Errorf("analysis: forecast of %s is incomplete", p.Ticker)
	}
	return p, nil
}

// lastPrice is the last close the forecast rests on.
func (p prediction) lastPrice() float64 { return p.History[len(p.History)-1].Close }

// move is the forecast's change in percent after h trading days.
func (p prediction) move(h int) float64 {
	return 100 * (p.Predictions.Full[h-1].Close/p.lastPrice() - 1)
}

// bucket names a move coarsely, so forecasts that differ by noise share a
// cache text while a change of direction or size does not.
func bucket(pct float64) string {
	dir := "up"
	if pct < 0 {
		dir = "down"
	}
	switch a := math.Abs(pct); {
	case a < 1:
		return "flat"
	case a < 3:
		return dir + " 1-3%"
	case a < 7:
		return dir + " 3-7%"
	case a < 15:
		return dir + " 7-15%"
	default:
		return dir + " over 15%"
	}
}

// CacheText is what the semantic cache embeds: the ticker, the serving model
// version, the date the data runs to, the forecast in buckets (direction and
// size of the move at 5, 21 and 63 days) and the headlines. Two requests with
// the same text in substance find each other's report; the version and the
// date are also matched exactly (vectorstore.Scope), because two texts that
// differ only there embed almost alike.
func CacheText(ticker string, p prediction, headlines []Headline) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Ticker %s. Model version %s. Data as of %s. Forecast: 5 days %s; 21 days %s; 63 days %s.",
		ticker, p.ModelVersion, p.DataAsOf, bucket(p.move(5)), bucket(p.move(21)), bucket(p.move(63)))
	if len(headlines) == 0 {
		b.WriteString(" News: none.")
	}
	for i, h := range headlines {
		if i == 10 {
			break
		}
		fmt.Fprintf(&b, " News: %s.", strings.TrimSpace(h.Title))
	}
	return b.String()
}
