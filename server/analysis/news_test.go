package analysis

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"stockagent/pybridge"
	"stockagent/server/metrics"
	"stockagent/server/pyapi"
	"stockagent/server/store"
)

// newsCalls records the requests of the news entry point and answers each with Finnhub's
// headlines when it may use Finnhub, else Yahoo's, as the Python side does with a key set.
type newsCalls struct{ asked []pyapi.NewsRequest }

func (n *newsCalls) Call(_ context.Context, _ pybridge.Lane, fn string, req, resp any, _ ...pybridge.CallOption) error {
	r := req.(pyapi.NewsRequest)
	n.asked = append(n.asked, r)
	source := "yahoo"
	if r.UseFMI == nil || *r.UseFMI {
		source = "finnhub"
	}
	b, _ := json.Marshal(news{Ticker: r.Ticker, Source: source, Headlines: []Headline{{Title: "from " + source}}})
	*resp.(*json.RawMessage) = b
	return nil
}

type quiet struct{}

func (quiet) CacheHit(string)                   {}
func (quiet) CacheMiss(string)                  {}
func (quiet) LLM(time.Duration, int, int)       {}
func (quiet) LLMNode(metrics.AgentNode)         {}
func (quiet) Relayed(bool)                      {}
func (quiet) StreamFirst(string, time.Duration) {}

// With a Finnhub key and NEWS_SOURCE=auto the Python side uses Finnhub unless the request
// says use_fmi: false; a request that says nothing (the zero Request, as the old service's
// clients and the scheduled monitoring send) must not opt out.
func TestNewsUsesFinnhubUnlessTheRequestOptsOut(t *testing.T) {
	calls := &newsCalls{}
	s := New(Config{}, calls, nil, store.NewMemory(), quiet{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()

	n, err := s.news(ctx, "AAPL", Request{Ticker: "AAPL"}.SkipFMI)
	if err != nil || n.Source != "finnhub" {
		t.Fatalf("a request without use_fmi: %+v %v", n, err)
	}
	if len(calls.asked) != 1 || calls.asked[0].UseFMI == nil || !*calls.asked[0].UseFMI {
		t.Fatalf("the news entry point was asked %+v, want use_fmi true", calls.asked)
	}
	// The opt-out is cached apart: it neither reuses nor overwrites Finnhub's headlines.
	if n, err = s.news(ctx, "AAPL", Request{Ticker: "AAPL", SkipFMI: true}.SkipFMI); err != nil || n.Source != "yahoo" {
		t.Fatalf("use_fmi: false: %+v %v", n, err)
	}
	if n, err = s.news(ctx, "AAPL", false); err != nil || n.Source != "finnhub" || len(calls.asked) != 2 {
		t.Fatalf("cached Finnhub headlines: %+v %v after %d calls", n, err, len(calls.asked))
	}
}
