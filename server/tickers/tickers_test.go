package tickers

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// table is testdata/canonical.json, which Python's tests read too.
type table struct {
	IndexStems   []string `json:"index_stems"`
	ParentSymbol string   `json:"parent_symbol"`
	Cases        []struct {
		In                          string
		Symbol, Model, Folder, Task *string
	} `json:"cases"`
}

func readTable(t testing.TB) table {
	b, err := os.ReadFile("testdata/canonical.json")
	if err != nil {
		t.Fatal(err)
	}
	var tb table
	if err := json.Unmarshal(b, &tb); err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestCanonicalTable(t *testing.T) {
	tb := readTable(t)
	if !slices.Equal(IndexStems, tb.IndexStems) {
		t.Fatalf("IndexStems %v, the shared table says %v", IndexStems, tb.IndexStems)
	}
	if ParentSymbol() != tb.ParentSymbol {
		t.Fatalf("parent symbol %q (PARENT_TICKER=%q); the table assumes %q: unset PARENT_TICKER",
			ParentSymbol(), os.Getenv("PARENT_TICKER"), tb.ParentSymbol)
	}
	str := func(p *string) string {
		if p == nil {
			return "<refused>"
		}
		return *p
	}
	for _, c := range tb.Cases {
		sym, err := Normalize(c.In)
		if err != nil {
			sym = "<refused>"
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Normalize(%q): %v does not wrap ErrInvalid", c.In, err)
			}
		}
		model, folder, task := "<refused>", "<refused>", "<refused>"
		if m, err := Model(c.In); err == nil {
			model, folder, task = m, Stem(m), TaskID(m)
		}
		got := []string{sym, model, folder, task}
		want := []string{str(c.Symbol), str(c.Model), str(c.Folder), str(c.Task)}
		if !slices.Equal(got, want) {
			t.Errorf("%q: symbol, model, folder, task = %q, want %q", c.In, got, want)
		}
	}
}

func TestTaskIDs(t *testing.T) {
	for in, want := range map[string]string{
		"parent": "parent_training", "parent_training": "parent_training", "AAPL": "aapl", "brk.b": "brk.b",
		"^aapl": "aapl", "^gspc": "parent_training", "gspc": "parent_training", "dji": "^dji", "^DJI": "^dji",
		"backtest_MSFT": "backtest_msft", "backtest_parent": "backtest_parent_training", "backtest_%5Egspc": "backtest_parent_training",
	} {
		if got, err := FromTaskID(in); err != nil || got != want {
			t.Errorf("FromTaskID(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"../x", "a^b", "parent_trainingx", "", "backtest_", "backtest_backtest_aapl", "backtest_../x"} {
		if _, err := FromTaskID(bad); err == nil {
			t.Errorf("FromTaskID accepted %q", bad)
		}
	}
	for _, m := range []string{Parent, "AAPL", "^DJI", "BRK.B"} {
		if got := ModelOfTask(TaskID(m)); got != m {
			t.Errorf("ModelOfTask(TaskID(%q)) = %q", m, got)
		}
	}
}

// FuzzCanonicalTicker: Model never panics, is idempotent, yields only valid
// tickers with safe file stems, and spellings that differ only in carets or
// case name the same model.
func FuzzCanonicalTicker(f *testing.F) {
	for _, c := range readTable(f).Cases {
		f.Add(c.In)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := Model(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Model(%q): %v does not wrap ErrInvalid", raw, err)
			}
			return
		}
		if again, err := Model(m); err != nil || again != m {
			t.Fatalf("Model(%q) = %q, but Model(%q) = %q, %v", raw, m, m, again, err)
		}
		if m != Parent {
			if n, err := Normalize(m); err != nil || n != m {
				t.Fatalf("canonical %q of %q does not validate as itself: %q, %v", m, raw, n, err)
			}
			if strings.HasPrefix(m, "^") != isIndex[Stem(m)] {
				t.Fatalf("canonical %q of %q: caret and index list disagree", m, raw)
			}
		}
		stem := Stem(m)
		if stem == "" || stem[0] == '.' || strings.Contains(stem, "..") || strings.ContainsAny(stem, "/\\\x00^") ||
			(m != Parent && strings.EqualFold(stem, Parent)) {
			t.Fatalf("Model(%q) = %q has an unsafe file stem %q", raw, m, stem)
		}
		if id, err := FromTaskID(TaskID(m)); err != nil || ModelOfTask(id) != m {
			t.Fatalf("task id %q of %q reads back as %q, %v", TaskID(m), m, id, err)
		}
		trimmed := strings.Trim(raw, space)
		for _, v := range []string{strings.ToLower(raw), strings.ToUpper(raw), "^" + trimmed, "^^" + trimmed, strings.TrimLeft(trimmed, "^")} {
			if vm, err := Model(v); err == nil && vm != m {
				t.Fatalf("%q and %q differ only in carets or case but name %q and %q", raw, v, m, vm)
			}
		}
	})
}
