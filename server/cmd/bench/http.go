package main

import (
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

// post sends body to url and returns the status and, when keep is true, a
// copy of the answer.
func post(c *fasthttp.Client, url string, body []byte, keep bool) (int, []byte, error) {
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
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
func checkPost(c *fasthttp.Client, url string, body []byte) error {
	status, out, err := post(c, url, body, false)
	if err == nil && status != fasthttp.StatusOK {
		err = fmt.Errorf("status %d: %.200s", status, out)
	}
	return err
}

// closedLoop sends total requests from conc goroutines, each sending its
// next request when the previous one returns.
func closedLoop(c *fasthttp.Client, url string, conc, total int) ([]time.Duration, time.Duration, *errorCount) {
	var next atomic.Int64
	lats := make([][]time.Duration, conc)
	errs := &errorCount{}
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(total) {
				t := time.Now()
				if err := checkPost(c, url, predictBody); err != nil {
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

// httpRuns measures /predict-child on srv at each concurrency level.
func httpRuns(cfg Config, c *fasthttp.Client, srv *serverProc, progress io.Writer) []Result {
	total := pick(cfg.HTTPRequests, map[string]int{"cached": defaultCachedRequests, "uncached": defaultUncachedRequests}[srv.name])
	var out []Result
	for _, conc := range cfg.Concurrency {
		fmt.Fprintf(progress, "    http %-8s c=%-3d %6d requests ... ", srv.name, conc, total)
		server, client := newProcMeter(srv.pid), &selfMeter{}
		server.start()
		client.start()
		lat, wall, errs := closedLoop(c, srv.base+"/predict-child", conc, total)
		used, clientUsed := server.stop(), client.stop()
		r := Result{
			Workload: "http " + srv.name, Backend: "server", Concurrency: conc, Iterations: total, Errors: errs.n,
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
	return out
}
