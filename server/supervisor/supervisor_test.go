package supervisor_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"stockagent/server/supervisor"
)

// run supervises a shell script (with $1 a file in a fresh folder) and returns its exit
// status and the supervisor's log.
func run(t *testing.T, script string, maxQuick int) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	var log bytes.Buffer
	code := supervisor.Run(supervisor.Config{
		Path: "/bin/sh", Args: []string{"-c", script, "sh", filepath.Join(dir, "runs")},
		Logger:  slog.New(slog.NewTextHandler(&log, nil)),
		Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, MaxQuickExits: maxQuick,
	})
	return code, log.String(), dir
}

// A child killed by SIGSEGV, then one that exits 2, are restarted; the third exits 0
// and the supervisor stops with it.
func TestRestartsAfterSignalAndFailure(t *testing.T) {
	code, log, dir := run(t, `echo run >> "$1"; n=$(wc -l < "$1")
case $n in 1) kill -SEGV $$;; 2) exit 2;; *) [ "$SUPERVISE" = off ] || exit 9; exit 0;; esac`, 5)
	if code != 0 {
		t.Fatalf("exit status %d, want 0\n%s", code, log)
	}
	runs, _ := os.ReadFile(filepath.Join(dir, "runs"))
	if n := strings.Count(string(runs), "run"); n != 3 {
		t.Fatalf("%d runs, want 3\n%s", n, log)
	}
	for _, want := range []string{`how="signal: segmentation fault"`, `how="exit status 2"`, `msg="server exited"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if pids := regexp.MustCompile(`msg="server started" pid=\d+`).FindAllString(log, -1); len(pids) != 3 {
		t.Errorf("%d start lines, want 3:\n%s", len(pids), log)
	}
}

// A child that dies at once every time is a crash loop: the supervisor gives up with its
// status after MaxQuickExits restarts.
func TestGivesUpOnCrashLoop(t *testing.T) {
	code, log, dir := run(t, `echo run >> "$1"; exit 3`, 2)
	if code != 3 {
		t.Fatalf("exit status %d, want 3\n%s", code, log)
	}
	runs, _ := os.ReadFile(filepath.Join(dir, "runs"))
	if n := strings.Count(string(runs), "run"); n != 3 {
		t.Fatalf("%d runs, want 3 (the first and 2 restarts)\n%s", n, log)
	}
	if !strings.Contains(log, "giving up") {
		t.Errorf("log does not say it gave up:\n%s", log)
	}
}

// SIGTERM to the supervisor goes to the child; once the child has stopped (by its own
// handler, or killed by the signal while it had none yet) the supervisor stops with 0 and
// starts nothing more.
func TestPassesSIGTERM(t *testing.T) {
	for name, script := range map[string]string{
		"handled":   `trap 'echo stopped >> "$1"; exit 0' TERM; echo run >> "$1"; while :; do sleep 0.05; done`,
		"unhandled": `echo run >> "$1"; while :; do sleep 0.05; done`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			runs := filepath.Join(dir, "runs")
			var log bytes.Buffer
			done := make(chan int, 1)
			go func() {
				done <- supervisor.Run(supervisor.Config{
					Path: "/bin/sh", Args: []string{"-c", script, "sh", runs},
					Logger: slog.New(slog.NewTextHandler(&log, nil)), Backoff: 10 * time.Millisecond,
				})
			}()
			// The child runs only once Run listens for signals: now SIGTERM cannot end the test.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if b, _ := os.ReadFile(runs); len(b) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the child never ran")
				}
			}
			if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit status %d after SIGTERM, want 0", code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the supervisor did not stop on SIGTERM")
			}
			b, _ := os.ReadFile(runs)
			if got := string(b); strings.Count(got, "run") != 1 || (name == "handled") != strings.Contains(got, "stopped") {
				t.Fatalf("child's record %q: want one run, stopped by its handler only when it has one", got)
			}
		})
	}
}

func TestEnabled(t *testing.T) {
	for v, want := range map[string]bool{"": false, "off": false, "0": false, "on": true, "ON": true, "1": true, "true": true} {
		got, err := supervisor.Enabled(func(string) string { return v })
		if err != nil || got != want {
			t.Errorf("SUPERVISE=%q: %v, %v; want %v", v, got, err, want)
		}
	}
	if _, err := supervisor.Enabled(func(string) string { return "yes please" }); err == nil {
		t.Error(`SUPERVISE="yes please": no error`)
	}
}
