package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A policy past MaxBytes or MaxLines is refused with a LoadError naming the file, before any
// rule is parsed.
func TestSizeLimits(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"long.py":  DefaultSource() + strings.Repeat("# a comment\n", MaxLines),
		"large.py": DefaultSource() + "# " + strings.Repeat("x", MaxBytes) + "\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		var le *LoadError
		if !errors.As(err, &le) || le.File != path || !strings.Contains(le.Reason, "a policy is a few dozen rules") {
			t.Errorf("%s: %v, want a refusal for its size", name, err)
		}
	}
	if _, err := Parse("default", []byte(DefaultSource())); err != nil {
		t.Errorf("the default policy: %v", err)
	}
}
