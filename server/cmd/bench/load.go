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
	DurationSeconds float64  `json:"duration_seconds"`
	Rate            float64  `json:"rate_per_second"`
	CachedShare     float64  `json:"cached_share"`
	Sent            int      `json:"sent"`
	Errors          int      `json:"errors"`
	ErrorSamples    []string `json:"error_samples,omitempty"`
	// Latencies count from each request's scheduled time, so a late send
	// shows as latency rather than hiding it.
	All      Latency `json:"latency"`
	Cached   Latency `json:"latency_cached"`
	Uncached Latency `json:"latency_uncached"`
	// MaxSendLagMS is how far behind its schedule the latest request left.
	MaxSendLagMS float64        `json:"max_send_lag_ms"`
	Servers      []ServerMemory `json:"servers"`
}

// ServerMemory is one server's memory and CPU over the load phase.
type ServerMemory struct {
	Name            string  `json:"name"`
	RSSBeforeBytes  int64   `json:"rss_before_bytes"`
	RSSAfterBytes   int64   `json:"rss_after_bytes"`
	GrowthPercent   float64 `json:"rss_growth_percent"`
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	GrowthTargetMet bool    `json:"rss_growth_under_5_percent"`
}

// rssGrowthTarget is the largest RSS growth over the load phase we accept.
const rssGrowthTarget = 5.0

// openLoop sends rate requests a second for dur, a share of them to the
// cached server and the rest to the uncached one, interleaved evenly, and
// reports both servers' RSS before and after. It stops sending when ctx ends.
func openLoop(ctx context.Context, c *fasthttp.Client, cached, uncached *serverProc, rate, share float64, dur time.Duration) *LoadResult {
	res := &LoadResult{DurationSeconds: dur.Seconds(), Rate: rate, CachedShare: share}
	servers := []*serverProc{cached, uncached}
	before := make([]int64, len(servers))
	meters := make([]*procMeter, len(servers))
	for i, s := range servers {
		meters[i] = newProcMeter(s.pid)
		meters[i].start()
		before[i] = rss(s.pid)
	}

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
		// Request i goes to the cache when the running count of cached requests steps up.
		hit := math.Floor(float64(i+1)*share) > math.Floor(float64(i)*share)
		target := uncached
		if hit {
			target = cached
		}
		select {
		case inFlight <- struct{}{}:
		default:
			errs.add(fmt.Errorf("not sent: %d requests already in flight", maxInFlight))
			continue
		}
		wg.Go(func() {
			defer func() { <-inFlight }()
			if err := checkPost(c, target.base+"/predict-child", predictBody); err != nil {
				errs.add(fmt.Errorf("%s server: %w", target.name, err))
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
	for i, s := range servers {
		used := meters[i].stop()
		m := ServerMemory{Name: s.name, RSSBeforeBytes: before[i], RSSAfterBytes: rss(s.pid), PeakRSSBytes: used.peakRSS, CPUSeconds: used.cpu.Seconds()}
		if m.RSSBeforeBytes > 0 {
			m.GrowthPercent = 100 * float64(m.RSSAfterBytes-m.RSSBeforeBytes) / float64(m.RSSBeforeBytes)
		}
		m.GrowthTargetMet = m.GrowthPercent < rssGrowthTarget
		res.Servers = append(res.Servers, m)
	}
	return res
}
