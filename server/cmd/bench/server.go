package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// serverStartTimeout covers the interpreter's start and the imports (torch).
const serverStartTimeout = 90 * time.Second

// serverProc is the real server binary, started on a free loopback port.
type serverProc struct {
	name   string // "cached" or "uncached"
	base   string // http://127.0.0.1:port
	pid    int
	cmd    *exec.Cmd
	log    string // its stdout and stderr
	exited chan error
}

// startServer starts cfg.Server on the data folder with rate limits off and
// env on top, and returns once /health answers 200.
func startServer(cfg Config, name, dataDir string, env ...string) (*serverProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(cfg.OutDir, "server-"+name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(cfg.Server)
	cmd.Env = append(os.Environ(),
		"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port), "DATA_DIR="+dataDir, "PYTHON_EXECUTABLE="+cfg.Python,
		"RATE_LIMITS=off", "LOG_LEVEL=warn", "DATA_SOURCE=bundled", "MLFLOW_DISABLE=1")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Server, err)
	}
	s := &serverProc{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", port), pid: cmd.Process.Pid, cmd: cmd, log: logPath, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	for deadline := time.Now().Add(serverStartTimeout); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-s.exited:
			return nil, fmt.Errorf("the %s server exited during start-up (%v); log: %s", name, err, logPath)
		default:
		}
		if res, err := http.Get(s.base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			return nil, fmt.Errorf("the %s server was not healthy within %s; log: %s", name, serverStartTimeout, logPath)
		}
	}
}

// stop asks the server to shut down gracefully and kills it if it has not
// within its own shutdown budget.
func (s *serverProc) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("the %s server: %w; log: %s", s.name, err, s.log)
		}
		return nil
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("the %s server did not stop within 30 s; killed", s.name)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
