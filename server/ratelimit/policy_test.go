package ratelimit_test

import (
	"strings"
	"testing"
	"time"

	"stockagent/server/ratelimit"
)

func TestParseRate(t *testing.T) {
	cases := map[string]struct {
		in      string
		limit   int
		window  time.Duration
		wantErr string // a substring of the error; "" when parsing must succeed
	}{
		"per hour":             {in: "40/hour", limit: 40, window: time.Hour},
		"short unit":           {in: "5/h", limit: 5, window: time.Hour},
		"per minute":           {in: "100/minute", limit: 100, window: time.Minute},
		"plural and case":      {in: "3/Seconds", limit: 3, window: time.Second},
		"min":                  {in: "7/min", limit: 7, window: time.Minute},
		"day":                  {in: "1000/d", limit: 1000, window: 24 * time.Hour},
		"go duration":          {in: "10/90s", limit: 10, window: 90 * time.Second},
		"compound duration":    {in: "10/1h30m", limit: 10, window: 90 * time.Minute},
		"spaces":               {in: "  40 / hour ", limit: 40, window: time.Hour},
		"zero is off":          {in: "0", limit: 0, window: 0},
		"zero per hour is off": {in: "0/hour", limit: 0, window: 0},
		"empty":                {in: "", wantErr: "empty"},
		"blank":                {in: "   ", wantErr: "empty"},
		"no period":            {in: "40", wantErr: "no period"},
		"not a number":         {in: "forty/hour", wantErr: `limit "forty"`},
		"negative":             {in: "-1/hour", wantErr: `limit "-1"`},
		"fraction":             {in: "1.5/hour", wantErr: `limit "1.5"`},
		"unknown unit":         {in: "40/fortnight", wantErr: `period "fortnight"`},
		"empty period":         {in: "40/", wantErr: `period ""`},
		"zero period":          {in: "40/0s", wantErr: "must be positive"},
		"negative period":      {in: "40/-1h", wantErr: "must be positive"},
		"off with bad period":  {in: "0/banana", wantErr: `period "banana"`},
		"too fast":             {in: "2000000/s", wantErr: "more than 1000000 calls per second"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			limit, window, err := ratelimit.ParseRate(c.in)
			if c.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseRate(%q) = %d, %v; want an error", c.in, limit, window)
				}
				if !strings.Contains(err.Error(), c.wantErr) || !strings.HasPrefix(err.Error(), "ratelimit: parse rate ") {
					t.Fatalf("ParseRate(%q) error %q, want one mentioning %q", c.in, err, c.wantErr)
				}
				return
			}
			if err != nil || limit != c.limit || window != c.window {
				t.Fatalf("ParseRate(%q) = %d, %v, %v; want %d, %v", c.in, limit, window, err, c.limit, c.window)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ratelimit.ParsePolicy("training", "5/hour")
	if err != nil || p != (ratelimit.Policy{Name: "training", Limit: 5, Window: time.Hour}) {
		t.Fatalf("ParsePolicy = %+v, %v", p, err)
	}
	if p.String() != "5/1h0m0s" {
		t.Fatalf("String = %q", p.String())
	}
	if _, err := ratelimit.ParsePolicy("", "5/hour"); err == nil {
		t.Fatal("empty name accepted")
	}
	if _, err := ratelimit.ParsePolicy("training", "5/fortnight"); err == nil {
		t.Fatal("bad rate accepted")
	}
}
