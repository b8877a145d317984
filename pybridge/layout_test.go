package pybridge

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The bridge sits below the server: nothing in pybridge or native, tests
// included, may import a server package (DESIGN.md, the layout).
func TestBridgeImportsNothingFromServer(t *testing.T) {
	files := 0
	for _, dir := range []string{".", "../native"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			files++
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "stockagent/server" || strings.HasPrefix(p, "stockagent/server/") {
					t.Errorf("%s imports %s: the bridge must not depend on the server", path, p)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 10 {
		t.Fatalf("found only %d Go files under pybridge and native: the walk is looking in the wrong place", files)
	}
}
