package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRotationAndTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "server.log")
	w, err := Open(path, 1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		fmt.Fprintf(w, "line %03d %s\n", i, strings.Repeat("x", 40))
	}
	w.Close()
	for _, name := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(name)
		if err != nil || st.Size() > 1000 {
			t.Fatalf("%s: %v, size %d", name, err, st.Size())
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Fatal("kept more old files than asked")
	}
	got, err := Tail(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "line 099") || !strings.HasPrefix(lines[0], "line 097") {
		t.Fatalf("tail: %q", got)
	}
	if all, _ := Tail(path, 10000); strings.Count(all, "\n") > 100 {
		t.Fatalf("tail returned more lines than exist")
	}
}

func TestTailReadsFromTheEndOfALargeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.log")
	f, _ := os.Create(path)
	for i := range 200000 {
		fmt.Fprintf(f, "entry %d\n", i)
	}
	f.Close()
	got, err := Tail(path, 2)
	if err != nil || got != "entry 199998\nentry 199999\n" {
		t.Fatalf("%q %v", got, err)
	}
}
