package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"stockagent/server/metrics/scrape"
	"stockagent/server/pyapi"
	"stockagent/server/servertest"
)

// serverStartTimeout covers the interpreter's start and the imports (torch).
const serverStartTimeout = 90 * time.Second

// serverProc is the real server binary, started on a free loopback port.
type serverProc struct {
	base   string // http://127.0.0.1:port
	pid    int
	cmd    *exec.Cmd
	log    string // its stdout and stderr
	exited chan error
}

// target is a server binary the server workloads run against, with the
// python whose package it runs: this checkout's ("after"), or the
// baseline's ("before").
type target struct {
	label, server, python string
}

// startServer starts t's server on the data folder with rate limits off and
// no news (analyses read none), plus env, and returns once /health answers
// 200. Its log goes to outDir/server-LABEL[-name].log.
func startServer(ctx context.Context, outDir string, t target, dataDir, name string, env ...string) (*serverProc, error) {
	port, err := servertest.FreePort()
	if err != nil {
		return nil, err
	}
	logName := "server-" + t.label
	if name != "" {
		logName += "-" + name
	}
	logPath := filepath.Join(outDir, logName+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor

	cmd := exec.Command(t.server) //nolint:gosec,noctx // the configured server binary (G204), stopped gracefully by signal, not by a context
	// The TTL outlasts the run whatever the caller's environment says, so a
	// cached request is always a cache hit.
	cmd.Env = append(os.Environ(),
		"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port), "DATA_DIR="+dataDir, "PYTHON_EXECUTABLE="+t.python,
		"RATE_LIMITS=off", "LOG_LEVEL=warn", "DATA_SOURCE=bundled", "MLFLOW_DISABLE=1", "PREDICTION_CACHE_TTL=24h",
		"NEWS_SOURCE=none")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", t.server, err)
	}
	s := &serverProc{base: fmt.Sprintf("http://127.0.0.1:%d", port), pid: cmd.Process.Pid, cmd: cmd, log: logPath, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	for deadline := time.Now().Add(serverStartTimeout); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-s.exited:
			if err == nil {
				err = errors.New("exit status 0")
			}
			return nil, fmt.Errorf("the server exited during start-up (%w); log: %s", err, logPath)
		default:
		}
		if s.healthy(ctx) {
			return s, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			_ = s.cmd.Process.Kill() // an error means it has exited already
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("the server's start-up: %w", err)
			}
			return nil, fmt.Errorf("the server was not healthy within %s; log: %s", serverStartTimeout, logPath)
		}
	}
}

// healthy reports whether the server's /health answers 200.
func (s *serverProc) healthy(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/health", nil)
	if err != nil {
		return false
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// stop asks the server to shut down gracefully and kills it if it has not
// within its own shutdown budget.
func (s *serverProc) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // an error means it has exited already, which s.exited reports
	select {
	case err := <-s.exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("the server: %w; log: %s", err, s.log)
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill() // an error means it has exited meanwhile
		<-s.exited               //nolint:errcheck // killed: its exit error is expected
		return errors.New("the server did not stop within 30 s; killed")
	}
}

// predictCallsSeries counts the forecasts the server computed (the LSTM ran):
// a cache hit does not call Python.
const predictCallsSeries = `stockagent_bridge_calls_total{function="` + pyapi.FuncPredict + `",lane="inference",outcome="ok"}`

// predictCalls reads predictCallsSeries from the server's /metrics; before
// the first forecast the series is absent, which is 0.
func (s *serverProc) predictCalls(c *fasthttp.Client) (int, error) {
	status, body, err := c.GetTimeout(nil, s.base+"/metrics", requestTimeout)
	if err == nil && status != fasthttp.StatusOK {
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	page, err := scrape.Parse(bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	n, _ := page.Value(predictCallsSeries)
	return int(n), nil
}
