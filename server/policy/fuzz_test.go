package policy

import (
	"strings"
	"testing"
)

// FuzzParse: no policy text makes Parse or an evaluation panic, and
// whatever loads evaluates without panicking.
func FuzzParse(f *testing.F) {
	f.Add(DefaultSource())
	for _, s := range []string{
		"x = (\n 1,\n", "x = '''\n", `x = "\`, "x = )", "x = [i for i in range(3)]", "import os",
		`x = ().__class__.__bases__`, "x = 1 if ticker else None", `x = {"a": 1}[ticker]`, "x = ticker[::-1]",
		`x = f"{ticker.__class__}"`, "x = 1e999 - 1e999", "x = -9223372036854775808 // -1",
	} {
		f.Add(wrap(s))
	}
	inputs := map[string]any{"drift_score": 1.0, "volatility_ratio": 1.0, "ticker": "AAPL", "is_parent": true, "max_psi": nil}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse("fuzz.py", []byte(src))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "policy: fuzz.py") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, r := range p.Rules() {
			_, _ = p.Eval(r, inputs) // only panics matter here
		}
	})
}
