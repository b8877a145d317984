package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// requestTimeout bounds one HTTP request; a slower answer counts as an error.
const requestTimeout = 30 * time.Second

// Default requests per concurrency level: a cache hit costs about 0.1 ms and
// a miss a few milliseconds on a small machine, so each level takes seconds.
const (
	defaultCachedRequests   = 4000
	defaultUncachedRequests = 600
)

var predictBody = []byte(`{"ticker":"` + benchTicker + `"}`)

// newClient is the load generator: fasthttp, as the server's own benchmarks
// use, for its low cost per request on a machine the server shares.
func newClient() *fasthttp.Client {
	return &fasthttp.Client{MaxConnsPerHost: 4096, MaxConnWaitTimeout: requestTimeout, ReadTimeout: requestTimeout, WriteTimeout: requestTimeout}
}

// cacheMode is how a forecast request treats the prediction cache; it names
// the HTTP workload too.
type cacheMode string

const (
	cached   cacheMode = "cached"   // no header: answered from the cache, filled by the warm-up
	uncached cacheMode = "uncached" // Cache-Control: no-cache: the LSTM runs on every request
)

// post sends body to url and returns the status and, when keep is true, a
// copy of the answer.
func post(c *fasthttp.Client, url string, body []byte, mode cacheMode, keep bool) (int, []byte, error) {
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	if mode == uncached {
		req.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	}
	req.SetBody(body)
	if err := c.DoTimeout(req, res, requestTimeout); err != nil {
		return 0, nil, err
	}
	var out []byte
	if keep || res.StatusCode() != fasthttp.StatusOK {
		out = append(out, res.Body()...)
	}
	return res.StatusCode(), out, nil
}

// errorCount counts failed requests and keeps the first few reasons.
type errorCount struct {
	mu      sync.Mutex
	n       int
	samples []string
}

func (e *errorCount) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.samples) < 5 {
		e.samples = append(e.samples, err.Error())
	}
}

// checkPost is post that turns a non-200 answer into an error.
func checkPost(c *fasthttp.Client, url string, body []byte, mode cacheMode) error {
	status, out, err := post(c, url, body, mode, false)
	if err == nil && status != fasthttp.StatusOK {
		err = fmt.Errorf("status %d: %.200s", status, out)
	}
	return err
}

// closedLoop sends total requests from conc goroutines, each sending its
// next request when the previous one returns.
func closedLoop(c *fasthttp.Client, url string, mode cacheMode, conc, total int) ([]time.Duration, time.Duration, *errorCount) {
	var next atomic.Int64
	lats := make([][]time.Duration, conc)
	errs := &errorCount{}
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(total) {
				t := time.Now()
				if err := checkPost(c, url, predictBody, mode); err != nil {
					errs.add(err)
					continue
				}
				lats[g] = append(lats[g], time.Since(t))
			}
		})
	}
	wg.Wait()
	wall := time.Since(t0)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return all, wall, errs
}

// httpRuns measures /predict-child on srv at each concurrency level, and
// checks with the server's own count that the LSTM ran for every uncached
// request and for no cached one.
func httpRuns(cfg Config, c *fasthttp.Client, srv *serverProc, mode cacheMode, progress io.Writer) ([]Result, Check) {
	total := pick(cfg.HTTPRequests, map[cacheMode]int{cached: defaultCachedRequests, uncached: defaultUncachedRequests}[mode])
	workload := "http " + string(mode)
	calls0, err0 := srv.predictCalls(c)
	var out []Result
	answered := 0
	for _, conc := range cfg.Concurrency {
		fmt.Fprintf(progress, "    http %-8s c=%-3d %6d requests ... ", mode, conc, total)
		server, client := newProcMeter(srv.pid), &selfMeter{}
		server.start()
		client.start()
		lat, wall, errs := closedLoop(c, srv.base+"/predict-child", mode, conc, total)
		used, clientUsed := server.stop(), client.stop()
		answered += len(lat)
		r := Result{
			Workload: workload, Backend: "server", Concurrency: conc, Iterations: total, Errors: errs.n,
			Latency: summarize(lat), WallSeconds: wall.Seconds(), Throughput: float64(len(lat)) / wall.Seconds(),
			CPUSeconds: used.cpu.Seconds(), CallerCPUSeconds: clientUsed.cpu.Seconds(), PeakRSSBytes: used.peakRSS,
		}
		fmt.Fprintf(progress, "p50 %s, %.0f req/s", fmtMS(r.P50), r.Throughput)
		if errs.n > 0 {
			fmt.Fprintf(progress, ", %d errors (first: %s)", errs.n, errs.samples[0])
		}
		fmt.Fprintln(progress)
		out = append(out, r)
	}

	calls1, err1 := srv.predictCalls(c)
	want := 0
	if mode == uncached {
		want = answered
	}
	check := Check{Workload: workload, Backend: "server", OK: true,
		Detail: fmt.Sprintf("the LSTM ran %d times for %d answered requests", calls1-calls0, answered)}
	switch err := errors.Join(err0, err1); {
	case err != nil:
		check.OK, check.Detail = false, "counting the forecasts computed: "+err.Error()
	case calls1-calls0 != want:
		check.OK = false
		check.Detail += fmt.Sprintf(", want %d", want)
	}
	return out, check
}
