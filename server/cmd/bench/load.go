package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// maxInFlight bounds the load phase's outstanding requests: past it the
// server is hopelessly behind, and a request due is counted as an error
// instead of piling up goroutines.
const maxInFlight = 4096

// LoadResult is the open-loop phase: requests sent on a fixed schedule,
// whatever the answers' pace, as independent clients would.
type LoadResult struct {
	DurationSeconds float64 `json:"duration_seconds"`
	Rate            float64 `json:"rate_per_second"`
	CachedShare     float64 `json:"cached_share"`
	Sent            int     `json:"sent"`
	UncachedSent    int     `json:"uncached_sent"`
	// ForecastsComputed is the server's count of LSTM runs over the phase:
	// one per uncached request, none for a cached one.
	ForecastsComputed int      `json:"forecasts_computed"`
	Errors            int      `json:"errors"`
	ErrorSamples      []string `json:"error_samples,omitempty"`
	// Latencies count from each request's scheduled time, so a late send
	// shows as latency rather than hiding it.
	All      Latency `json:"latency"`
	Cached   Latency `json:"latency_cached"`
	Uncached Latency `json:"latency_uncached"`
	// MaxSendLagMS is how far behind its schedule the latest request left.
	MaxSendLagMS float64      `json:"max_send_lag_ms"`
	Server       ServerMemory `json:"server"`
}

// ServerMemory is the server's memory and CPU over the load phase.
type ServerMemory struct {
	RSSBeforeBytes  int64   `json:"rss_before_bytes"`
	RSSAfterBytes   int64   `json:"rss_after_bytes"`
	GrowthPercent   float64 `json:"rss_growth_percent"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	GrowthTargetMet bool    `json:"rss_growth_under_5_percent"`
}

// rssGrowthTarget is the largest RSS growth over the load phase we accept.
const rssGrowthTarget = 5.0

// openLoop sends rate requests a second for dur to srv, a share of them
// answered from the cache and the rest with Cache-Control: no-cache,
// interleaved evenly, and reports the server's RSS before and after and how
// many forecasts it computed. It stops sending when ctx ends.
func openLoop(ctx context.Context, c *fasthttp.Client, srv *serverProc, rate, share float64, dur time.Duration) (*LoadResult, error) {
	res := &LoadResult{DurationSeconds: dur.Seconds(), Rate: rate, CachedShare: share}
	calls0, err := srv.predictCalls(c)
	if err != nil {
		return nil, err
	}
	meter := newProcMeter(srv.pid)
	meter.start()
	before := rss(srv.pid)

	interval := time.Duration(float64(time.Second) / rate)
	n := int(dur.Seconds() * rate)
	var (
		mu              sync.Mutex // guards the two slices
		hitLat, missLat []time.Duration
		errs            errorCount
		wg              sync.WaitGroup
		maxLag          time.Duration
		inFlight        = make(chan struct{}, maxInFlight)
		start           = time.Now()
	)
	sent := 0
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		select {
		case <-time.After(time.Until(due)):
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		maxLag = max(maxLag, time.Since(due))
		// Request i is answered from the cache when the running count of cached requests steps up.
		hit := math.Floor(float64(i+1)*share) > math.Floor(float64(i)*share)
		mode := uncached
		if hit {
			mode = cached
		} else {
			res.UncachedSent++
		}
		select {
		case inFlight <- struct{}{}:
		default:
			errs.add(fmt.Errorf("not sent: %d requests already in flight", maxInFlight))
			continue
		}
		wg.Go(func() {
			defer func() { <-inFlight }()
			if err := checkPost(c, srv.base+"/predict-child", predictBody, mode); err != nil {
				errs.add(fmt.Errorf("%s: %w", mode, err))
				return
			}
			d := time.Since(due)
			mu.Lock()
			if hit {
				hitLat = append(hitLat, d)
			} else {
				missLat = append(missLat, d)
			}
			mu.Unlock()
		})
	}
	wg.Wait()

	res.Sent, res.Errors, res.ErrorSamples = sent, errs.n, errs.samples
	res.MaxSendLagMS = ms(maxLag)
	res.All = summarize(append(append([]time.Duration{}, hitLat...), missLat...))
	res.Cached, res.Uncached = summarize(hitLat), summarize(missLat)
	used := meter.stop()
	m := ServerMemory{RSSBeforeBytes: before, RSSAfterBytes: rss(srv.pid), PeakRSSBytes: used.peakRSS, CPUSeconds: used.cpu.Seconds()}
	if m.RSSBeforeBytes > 0 {
		m.GrowthPercent = 100 * float64(m.RSSAfterBytes-m.RSSBeforeBytes) / float64(m.RSSBeforeBytes)
	}
	m.GrowthTargetMet = m.GrowthPercent < rssGrowthTarget
	res.Server = m
	calls1, err := srv.predictCalls(c)
	res.ForecastsComputed = calls1 - calls0
	return res, err
}
