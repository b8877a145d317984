// Package preflight tests .ci/preflight, the check that make setup, make run and make test run
// before building anything: on a machine that lacks a tool it must stop at once, saying how to
// install each one, instead of failing dozens of tests later.
package preflight

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The bound for a machine that cannot run the tests: stop within this, one line per tool.
const deadline = 10 * time.Second

var repoRoot = filepath.Join("..", "..")

// run runs .ci/preflight goal with the given PATH (the machine's when empty) and the build's
// interpreter, and returns its exit code and output.
func run(t *testing.T, goal, path string) (int, string) {
	t.Helper()
	python, err := filepath.Abs(filepath.Join(repoRoot, ".venv", "bin", "python"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("no %s: the preflight checks the build's interpreter, so run make setup first", python)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, ".ci", "preflight"), goal)
	cmd.Env = append(os.Environ(), "PYTHON="+python, "CHROMIUM=", "NETNS_TESTS=")
	if path != "" {
		cmd.Env = append(cmd.Env, "PATH="+path)
		cmd.Path = filepath.Join(path, "bash")
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("preflight %s still running after %v:\n%s", goal, deadline, out)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// A machine with the build's tools but without redis-server, Chromium and ip (and without
// apt-get, so nothing can be installed), as the README's make test met it: the test goal stops
// with one line per missing tool naming the command that installs it; setup needs none and passes.
func TestFinding01FreshMachine(t *testing.T) {
	bin := t.TempDir()
	for _, tool := range []string{"bash", "go", "gcc", "g++", "pkg-config", "cmake", "node", "npm"} {
		target, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("%s is not on PATH: the preflight below would report it (and make test installs it when it can)", tool)
		}
		if err := os.Symlink(target, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}

	code, out := run(t, "test", bin)
	if code == 0 {
		t.Fatalf("preflight test passed without redis-server, chromium and ip:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := map[string]string{
		"redis-server": "apt-get install -y redis-server",
		"chromium":     "apt-get install -y chromium",
		"ip":           "apt-get install -y iproute2",
	}
	if len(lines) != len(want) {
		t.Fatalf("want %d lines, one per missing tool; got:\n%s", len(want), out)
	}
	for tool, install := range want {
		found := false
		for _, line := range lines {
			found = found || strings.Contains(line, "missing "+tool+":") && strings.Contains(line, install)
		}
		if !found {
			t.Errorf("no line names %s and %q:\n%s", tool, install, out)
		}
	}

	if code, out := run(t, "setup", bin); code != 0 {
		t.Errorf("preflight setup needs none of redis-server, chromium and ip, yet failed (%d):\n%s", code, out)
	}
	if code, out := run(t, "test", ""); code != 0 {
		t.Errorf("preflight test failed on this machine's PATH (%d):\n%s", code, out)
	}
}
