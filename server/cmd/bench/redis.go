package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"stockagent/server/servertest"
)

// redisConcurrency is the concurrency of the Redis comparison, where the
// prediction cache's round trips to Redis weigh most.
const redisConcurrency = 64

// defaultRedisRequests per store: a cached answer takes tens of
// microseconds, so each store gets a second or two.
const defaultRedisRequests = 20000

// RedisResult is cached /predict-child at concurrency 64 from the server's
// in-process store and from a server on a real redis-server, one after the
// other in the same run.
type RedisResult struct {
	Concurrency int    `json:"concurrency"`
	InProcess   Result `json:"in_process"`
	Redis       Result `json:"redis"`
	// Ratio is Redis's throughput divided by the in-process store's.
	Ratio float64 `json:"ratio"`
}

// redisProc is a redis-server without persistence on a free loopback port.
type redisProc struct {
	cmd  *exec.Cmd
	addr string
}

// startRedis starts redis-server (from PATH) in dir and waits until it
// answers PING.
func startRedis(ctx context.Context, dir string) (*redisProc, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server is not on PATH (the redis workload needs it): install it with: apt-get install -y redis-server")
	}
	port, err := servertest.FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, //nolint:gosec,noctx // G204: redis-server from PATH, killed at the end of its workload
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	r := &redisProc{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r.ping(ctx) {
			return r, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server did not answer PING within 10 s; log: %s", filepath.Join(dir, "redis.log"))
		}
	}
}

func (r *redisProc) ping(ctx context.Context) bool {
	conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", r.addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second)) // a failure shows as a failed read below
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

func (r *redisProc) url() string { return "redis://" + r.addr + "/0" }

func (r *redisProc) stop() {
	_ = r.cmd.Process.Kill() // an error means it has exited already
	_ = r.cmd.Wait()         // killed: its exit error is expected
}

// cachedAt64 measures cached /predict-child on srv at redisConcurrency,
// after a warm-up that fills the cache.
func cachedAt64(c *fasthttp.Client, srv *serverProc, n int) (Result, error) {
	url := srv.base + "/predict-child"
	for range 20 {
		if err := checkPost(c, url, predictBody, cached); err != nil {
			return Result{}, fmt.Errorf("warming the server up: %w", err)
		}
	}
	meter := newProcMeter(srv.pid)
	meter.start()
	lat, wall, errs := closedLoop(c, url, cached, redisConcurrency, n)
	used := meter.stop()
	r := Result{
		Workload: "redis", Backend: "server", Concurrency: redisConcurrency, Iterations: n, Errors: errs.n,
		Latency: summarize(lat), WallSeconds: wall.Seconds(), Throughput: float64(len(lat)) / wall.Seconds(),
		CPUSeconds: used.cpu.Seconds(), PeakRSSBytes: used.peakRSS,
	}
	if errs.n > 0 {
		return r, fmt.Errorf("%d of %d requests failed (first: %s)", errs.n, n, errs.samples[0])
	}
	return r, nil
}

// redisBeside measures cached forecasts at concurrency 64 on srv (its
// in-process store), then on a server started from the same binary with
// REDIS_URL pointing at a redis-server of its own.
func redisBeside(ctx context.Context, cfg Config, t target, srv *serverProc, dataDir string, progress io.Writer) (*RedisResult, error) {
	n := pick(cfg.HTTPRequests, defaultRedisRequests)
	c := newClient()
	fmt.Fprintf(progress, "    cached c=%d, in-process store, %d requests ... ", redisConcurrency, n)
	in, err := cachedAt64(c, srv, n)
	if err != nil {
		fmt.Fprintln(progress, "failed")
		return nil, err
	}
	fmt.Fprintf(progress, "%.0f req/s\n", in.Throughput)

	dir, err := os.MkdirTemp("", "stockagent-bench-redis-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rd, err := startRedis(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer rd.stop()
	fmt.Fprintf(progress, "    cached c=%d, Redis (%s), %d requests ... ", redisConcurrency, rd.addr, n)
	rsrv, err := startServer(ctx, cfg.OutDir, t, dataDir, "redis", "REDIS_URL="+rd.url())
	if err != nil {
		fmt.Fprintln(progress, "failed")
		return nil, err
	}
	rr, err := cachedAt64(c, rsrv, n)
	err = errors.Join(err, rsrv.stop())
	if err != nil {
		fmt.Fprintln(progress, "failed")
		return nil, fmt.Errorf("with Redis: %w", err)
	}
	res := &RedisResult{Concurrency: redisConcurrency, InProcess: in, Redis: rr}
	if in.Throughput > 0 {
		res.Ratio = rr.Throughput / in.Throughput
	}
	fmt.Fprintf(progress, "%.0f req/s (%.2f× the in-process store)\n", rr.Throughput, res.Ratio)
	return res, nil
}
