// Package servertest holds what tests of the server and of its harnesses
// share: loopback ports and the server binary.
package servertest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// FreePort asks the kernel for a loopback port that nobody listens on. The
// port is free when FreePort returns; another process may take it later.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Port is FreePort for a test: it fails t when no port is to be had.
func Port(t testing.TB) int {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	return port
}

// Binary returns the server binary: $STOCKAGENT_SERVER_BIN (make test sets
// it) as an absolute path, else a fresh build in t's temporary folder.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("STOCKAGENT_SERVER_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	bin := filepath.Join(t.TempDir(), "stockagent-server")
	if out, err := exec.Command("go", "build", "-o", bin, "stockagent/server").CombinedOutput(); err != nil {
		t.Fatalf("build the server: %v\n%s", err, out)
	}
	return bin
}
