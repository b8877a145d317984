package storetest

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stockagent/pybridge/pybridgetest"
	"stockagent/server/servertest"
)

// startTimeout bounds how long a new redis-server may take to answer PING; it starts in
// milliseconds, so this only matters on a badly overloaded machine.
const startTimeout = 10 * time.Second

// MissingRedis is how a test fails when redis-server is not on PATH.
const MissingRedis = "storetest: redis-server is not on PATH: install it with: apt-get install -y redis-server"

// Server is a redis-server process owned by one test. Stop and Start let a test take it
// away and bring it back on the same port. Its methods are safe for concurrent use;
// they report failures through the test that created it.
type Server struct {
	t     testing.TB
	bin   string
	dir   string
	port  int
	place Place
	args  []string // extra arguments from NewServer

	mu   sync.Mutex
	cmd  *exec.Cmd            // guarded by mu; nil while stopped
	done chan struct{}        // guarded by mu; closed when cmd has exited
	log  *pybridgetest.Buffer // guarded by mu; the current process's output
}

// NewServer starts redis-server on a free loopback port, in a temporary directory, with
// no persistence (--save "" --appendonly no) and KEYS renamed away, plus extraArgs
// (e.g. "--maxmemory", "1mb"). It waits until the server answers PING, and kills it in
// t's cleanup. It ignores REDIS_URL_TEST: use it when the test must control the process.
// Without redis-server on PATH it fails t: a test that cannot run is not a pass.
func NewServer(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	return NewServerAt(t, Place{}, extraArgs...)
}

// Place is where a server runs: Wrap goes before the redis-server command (e.g. ip netns
// exec NS), Host is the address it binds ("": 127.0.0.1) and Password, when set, its
// requirepass (a server listening beyond loopback needs one).
type Place struct {
	Wrap     []string
	Host     string
	Password string
}

// NewServerAt is NewServer at place.
func NewServerAt(t testing.TB, place Place, extraArgs ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(MissingRedis)
	}
	if place.Host == "" {
		place.Host = "127.0.0.1"
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir(), place: place, args: extraArgs}
	t.Cleanup(s.Stop)
	// A free port can be taken between our probe and redis-server's bind: try a few.
	var last error
	for range 3 {
		if s.port, err = servertest.FreePort(); err != nil {
			t.Fatalf("storetest: find a free port: %v", err)
		}
		if last = s.start(); last == nil {
			return s
		}
	}
	t.Fatalf("storetest: start redis-server: %v", last)
	return nil
}

// URL is the server's address as store.Open takes it, with its password.
func (s *Server) URL() string {
	u := url.URL{Scheme: "redis", Host: s.Addr(), Path: "/0"}
	if s.place.Password != "" {
		u.User = url.UserPassword("", s.place.Password)
	}
	return u.String()
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.place.Host, strconv.Itoa(s.port)) }

// Stop kills the server and waits for it to exit; a stopped server stays stopped.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Start starts a stopped server again on the same port, with an empty data set, and
// waits until it answers PING. Starting a running server is a no-op.
func (s *Server) Start() {
	s.t.Helper()
	var err error
	// The port was ours a moment ago; redis-server binds with SO_REUSEADDR, but give a
	// lingering socket a few tries.
	for range 5 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("storetest: restart redis-server on port %d: %v", s.port, err)
}

// start runs redis-server on s.port and waits for PING.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	args := append([]string{
		"--port", strconv.Itoa(s.port),
		"--bind", s.place.Host,
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--rename-command", "KEYS", "",
		"--loglevel", "warning",
	}, s.args...)
	if s.place.Password != "" {
		args = append(args, "--requirepass", s.place.Password)
	}
	argv := append(append(append([]string(nil), s.place.Wrap...), s.bin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	log := &pybridgetest.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		if ping(s.Addr(), s.place.Password) == nil {
			s.cmd, s.done, s.log = cmd, done, log
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server exited early: %s", strings.TrimSpace(log.String()))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("no answer to PING on %s after %v: %s", s.Addr(), startTimeout, strings.TrimSpace(log.String()))
		}
	}
}

// ping sends one PING over a fresh connection (after AUTH with password, when set) and
// expects +PONG.
func ping(addr, password string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	r := bufio.NewReader(c)
	if password != "" {
		if _, err := fmt.Fprintf(c, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(password), password); err != nil {
			return err
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if line != "+OK\r\n" {
			return fmt.Errorf("AUTH answered %q", line)
		}
	}
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
