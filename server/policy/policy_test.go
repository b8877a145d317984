package policy

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/go-python/gpython/compile"
	"github.com/go-python/gpython/py"
)

// oldDrift is docs/api.md's drift rule transcribed in Go: the reference the
// default policy must reproduce.
func oldDrift(score, ratio float64) string {
	switch {
	case score > 2.0 || ratio > 2.5 || ratio < 0.4:
		return DriftCritical
	case score > 1.0 || ratio > 1.5 || ratio < 0.6:
		return Degraded
	}
	return Healthy
}

func above(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }
func below(x float64) float64 { return math.Nextafter(x, math.Inf(-1)) }

func TestDefaultDriftThresholds(t *testing.T) {
	cases := map[string]struct {
		score, ratio float64
		want         string
	}{
		"calm":                     {0.0, 1.0, Healthy},
		"score exactly 1.0":        {1.0, 1.0, Healthy},
		"score just above 1.0":     {above(1.0), 1.0, Degraded},
		"score exactly 2.0":        {2.0, 1.0, Degraded},
		"score just above 2.0":     {above(2.0), 1.0, DriftCritical},
		"ratio exactly 1.5":        {0.5, 1.5, Healthy},
		"ratio just above 1.5":     {0.5, above(1.5), Degraded},
		"ratio exactly 2.5":        {0.5, 2.5, Degraded},
		"ratio just above 2.5":     {0.5, above(2.5), DriftCritical},
		"ratio exactly 0.6":        {0.5, 0.6, Healthy},
		"ratio just below 0.6":     {0.5, below(0.6), Degraded},
		"ratio exactly 0.4":        {0.5, 0.4, Degraded},
		"ratio just below 0.4":     {0.5, below(0.4), DriftCritical},
		"critical score, calm":     {3.0, 1.0, DriftCritical},
		"calm score, low ratio":    {0.1, 0.1, DriftCritical},
		"degraded score and ratio": {1.5, 1.6, Degraded},
		"infinite score":           {math.Inf(1), 1.0, DriftCritical},
		"zero ratio":               {0.0, 0.0, DriftCritical},
	}
	p := Default()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if ref := oldDrift(tc.score, tc.ratio); ref != tc.want {
				t.Fatalf("case disagrees with docs/api.md: reference says %q", ref)
			}
			health, action, err := p.DriftHealth(tc.score, tc.ratio, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantAction := ""
			if tc.want == DriftCritical {
				wantAction = ActionRetrain
			}
			if health != tc.want || action != wantAction {
				t.Errorf("DriftHealth(%v, %v) = %q, %q; want %q, %q", tc.score, tc.ratio, health, action, tc.want, wantAction)
			}
		})
	}
}

// TestDefaultDriftGrid sweeps a grid, every threshold and its neighbours
// included, against the Go transcription of docs/api.md.
func TestDefaultDriftGrid(t *testing.T) {
	var scores, ratios []float64
	for i := 0; i <= 60; i++ {
		scores = append(scores, float64(i)*0.05)
		ratios = append(ratios, float64(i)*0.05)
	}
	for _, x := range []float64{1.0, 2.0} {
		scores = append(scores, x, above(x), below(x))
	}
	for _, x := range []float64{0.4, 0.6, 1.5, 2.5} {
		ratios = append(ratios, x, above(x), below(x))
	}
	p := Default()
	for _, s := range scores {
		for _, r := range ratios {
			got, _, err := p.DriftHealth(s, r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := oldDrift(s, r); got != want {
				t.Errorf("DriftHealth(%v, %v) = %q, want %q", s, r, got, want)
			}
		}
	}
}

func TestDefaultEvalStatus(t *testing.T) {
	cases := map[string]struct {
		score float64
		want  string
	}{
		"exactly 0.6":    {0.6, Questionable},
		"just above 0.6": {above(0.6), Trustworthy},
		"just below 0.6": {below(0.6), Questionable},
		"0.61":           {0.61, Trustworthy},
		"0.59":           {0.59, Questionable},
		"perfect":        {1.0, Trustworthy},
		"zero":           {0.0, Questionable},
	}
	p := Default()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := p.EvalStatus(tc.score, map[string]any{"checks_failed": 1, "checks_total": 3})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("EvalStatus(%v) = %q, want %q", tc.score, got, tc.want)
			}
		})
	}
}

func TestDefaultAccuracyHealth(t *testing.T) {
	cases := map[string]struct {
		lstm, naive float64
		want        string
	}{
		"beats baseline":         {0.8, 1.0, Healthy},
		"equal to baseline":      {1.0, 1.0, Healthy},
		"5% worse":               {1.05, 1.0, Degraded},
		"10% worse exactly":      {1.1, 1.0, Degraded},
		"just over 10% worse":    {above(1.1), 1.0, AccuracyCritical},
		"much worse":             {2.0, 1.0, AccuracyCritical},
		"both perfect":           {0.0, 0.0, Healthy},
		"perfect baseline only":  {0.5, 0.0, AccuracyCritical},
		"perfect model only":     {0.0, 1.0, Healthy},
		"coverage passed freely": {0.9, 1.0, Healthy},
	}
	p := Default()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := p.AccuracyHealth(tc.lstm, tc.naive, map[string]any{"interval_coverage": 0.9, "ticker": "AAPL"})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("AccuracyHealth(%v, %v) = %q, want %q", tc.lstm, tc.naive, got, tc.want)
			}
		})
	}
}

func TestHelpersRefuseNaNAndOverrides(t *testing.T) {
	p := Default()
	if _, _, err := p.DriftHealth(math.NaN(), 1, nil); !errors.Is(err, ErrNaN) {
		t.Errorf("NaN score: err = %v, want ErrNaN", err)
	}
	if _, err := p.EvalStatus(math.NaN(), nil); !errors.Is(err, ErrNaN) {
		t.Errorf("NaN overall: err = %v, want ErrNaN", err)
	}
	if _, _, err := p.DriftHealth(1, 1, map[string]any{"drift_score": 3.0}); err == nil {
		t.Error("extra overriding drift_score: no error")
	}
	if _, _, err := p.DriftHealth(1, 1, map[string]any{"max_psi": "high"}); !errors.Is(err, ErrInputType) {
		t.Errorf("string max_psi: err = %v, want ErrInputType", err)
	}
}

func TestDefaultRules(t *testing.T) {
	p, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{RuleDriftHealth, RuleDriftAction, RuleEvalStatus, RuleAccuracyHealth}
	if got := p.Rules(); !slices.Equal(got, want) {
		t.Errorf("Rules() = %v, want %v", got, want)
	}
	expr, ok := p.Expr(RuleDriftHealth)
	if !ok || !strings.Contains(expr, "drift_score > 2.0") || strings.HasPrefix(expr, "drift_health") {
		t.Errorf("Expr(drift_health) = %q, %v", expr, ok)
	}
	needs, _ := p.Needs(RuleDriftAction)
	if !slices.Equal(needs, []string{"drift_score", "volatility_ratio"}) {
		t.Errorf("Needs(drift_action) = %v", needs)
	}
	if p.Name() != DefaultName {
		t.Errorf("Name() = %q", p.Name())
	}
	// Every input a group receives is documented in the default file.
	for _, g := range []Group{GroupDrift, GroupEval, GroupAccuracy} {
		for _, in := range Inputs(g) {
			if !strings.Contains(DefaultSource(), "#     "+in.Name+" ") {
				t.Errorf("default_policy.py does not document input %s", in.Name)
			}
		}
	}
}

// wrap puts a line after the three required rules, so it is line 5.
func wrap(lines ...string) string {
	return "# test policy\n" +
		"drift_health = \"Healthy\"\n" +
		"eval_status = \"Trustworthy\"\n" +
		"accuracy_health = \"Healthy\"\n" +
		strings.Join(lines, "\n") + "\n"
}

func TestRefusals(t *testing.T) {
	cases := map[string]struct {
		src    string
		line   int
		reason string
	}{
		"import statement":      {wrap("import os"), 5, "statements are not allowed (import)"},
		"from import":           {wrap("from os import path"), 5, "statements are not allowed (importfrom)"},
		"def":                   {wrap("def f(): pass"), 5, "statements are not allowed (functiondef)"},
		"for loop":              {wrap("for i in range(3): pass"), 5, "statements are not allowed (for)"},
		"augmented assignment":  {wrap("x += 1"), 5, "statements are not allowed (augassign)"},
		"attribute assignment":  {wrap("x.y = 1"), 5, "only `name = expression`"},
		"bare expression":       {wrap("drift_score > 1"), 5, "bare expression is not a rule"},
		"__import__":            {wrap(`x = __import__("os")`), 5, "dunder name __import__ is not allowed"},
		"__builtins__":          {wrap(`x = __builtins__`), 5, "dunder name __builtins__ is not allowed"},
		"open":                  {wrap(`x = open("/etc/passwd")`), 5, "calling open is not allowed"},
		"eval":                  {wrap(`x = eval("1")`), 5, "calling eval is not allowed"},
		"exec":                  {wrap(`x = exec("import os")`), 5, "calling exec is not allowed"},
		"compile":               {wrap(`x = compile("1", "f", "eval")`), 5, "calling compile is not allowed"},
		"globals":               {wrap(`x = globals()`), 5, "calling globals is not allowed"},
		"locals":                {wrap(`x = locals()`), 5, "calling locals is not allowed"},
		"getattr":               {wrap(`x = getattr(1, "real")`), 5, "calling getattr is not allowed"},
		"type":                  {wrap(`x = type(1)`), 5, "calling type is not allowed"},
		"range":                 {wrap(`x = len(range(3))`), 5, "calling range is not allowed"},
		"round":                 {wrap(`x = round(drift_score, 2)`), 5, "round floors"},
		"list comprehension":    {wrap(`x = [i for i in range(3)]`), 5, "comprehensions are not allowed (list comprehension)"},
		"generator":             {wrap(`x = max(i for i in (1, 2))`), 5, "generator expressions are not allowed"},
		"dict comprehension":    {wrap(`x = {k: 1 for k in (1, 2)}`), 5, "comprehensions are not allowed (dict comprehension)"},
		"set comprehension":     {wrap(`x = {k for k in (1, 2)}`), 5, "comprehensions are not allowed (set comprehension)"},
		"lambda":                {wrap(`x = lambda: 1`), 5, "lambda is not allowed"},
		"yield":                 {wrap(`x = (yield 1)`), 5, "yield is not allowed"},
		"class escape":          {wrap(`x = ().__class__.__bases__`), 5, "dunder attribute __class__ is not allowed"},
		"method call":           {wrap(`x = ticker.lower()`), 5, "attribute access (.lower) is not allowed"},
		"star arguments":        {wrap(`x = max(*(1, 2))`), 5, "star arguments are not allowed"},
		"builtin as value":      {wrap(`x = abs`), 5, "builtin abs may only be called"},
		"syntax error":          {wrap(`x = 1 +`), 5, "syntax error"},
		"unknown name":          {wrap(`x = drift_scor > 1`), 5, "unknown name drift_scor"},
		"later rule":            {wrap(`x = y`, `y = 1`), 5, "y is defined later, on line 6"},
		"itself":                {wrap(`x = x + 1`), 5, "may not use itself"},
		"string repetition":     {wrap(`x = "ab" * 1000000000`), 5, "* needs numbers, not a string"},
		"container repetition":  {wrap(`x = [0] * 10`), 5, "* needs numbers, not a container"},
		"string concatenation":  {wrap(`x = ticker + ticker`), 5, "+ needs numbers, not a string"},
		"rule string growth":    {wrap(`x = str(drift_score)`, `y = x * 3`), 6, "* needs numbers, not a string"},
		"variable exponent":     {wrap(`x = 2 ** drift_score`), 5, "** needs a number literal"},
		"large exponent":        {wrap(`x = 10 ** 100`), 5, "** needs a number literal"},
		"nested power":          {wrap(`x = (2 ** 8) ** 8`), 5, "nested ** is not allowed"},
		"shift":                 {wrap(`x = 1 << 64`), 5, "bit shifts (<<) are not allowed"},
		"indented line":         {wrap(`  x = 1`), 5, "unexpected indentation"},
		"duplicate rule":        {wrap(`drift_health = "Healthy"`), 5, "already defined on line 2"},
		"rule shadows builtin":  {wrap(`abs = 1`), 5, "shadows a builtin"},
		"rule shadows input":    {wrap(`drift_score = 1`), 5, "shadows an input"},
		"dunder rule name":      {wrap(`__x = 1`), 5, "dunder name __x cannot name a rule"},
		"keyword rule name":     {wrap(`None = 1`), 5, "keyword"},
		"error on second line":  {wrap("x = (", "    [i for i in (1, 2)]", ")"), 6, "comprehensions are not allowed"},
		"syntax on second line": {wrap("x = (1,", "    2 +)"), 6, "syntax error"},
		"missing rule":          {"drift_health = \"Healthy\"\naccuracy_health = \"Healthy\"\n", 0, "missing rule eval_status"},
		"input of another group": {strings.Replace(wrap(), `eval_status = "Trustworthy"`,
			`eval_status = "Trustworthy" if drift_score < 1 else "Questionable"`, 1), 3, "uses input drift_score"},
		"input through a helper rule": {strings.Replace(wrap(), `eval_status = "Trustworthy"`,
			`calm = drift_score < 1`+"\n"+`eval_status = "Trustworthy" if calm else "Questionable"`, 1), 4, "uses input drift_score"},
		"unknown health string": {strings.Replace(wrap(), `drift_health = "Healthy"`, `drift_health = "Fine"`, 1), 2,
			`unexpected result "Fine"`},
		"raises on typical inputs": {strings.Replace(wrap(), `drift_health = "Healthy"`, `drift_health = "Healthy" if drift_score > "1" else "Healthy"`, 1), 2,
			"TypeError"},
		"container rule": {wrap(`x = ("Trustworthy",)`), 5, "must produce None, bool, int, float or str, not a container"},
		"container result": {strings.Replace(wrap(), `eval_status = "Trustworthy"`, `eval_status = {"a": ("Trustworthy",)}["a"]`, 1), 3,
			"must return None, bool, int, float or str, not tuple"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("test.py", []byte(tc.src))
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Parse: err = %v, want a *LoadError", err)
			}
			if le.File != "test.py" || le.Line != tc.line || !strings.Contains(le.Reason, tc.reason) {
				t.Errorf("got %s:%d %q, want test.py:%d containing %q", le.File, le.Line, le.Reason, tc.line, tc.reason)
			}
			prefix := "policy: test.py: "
			if tc.line > 0 {
				prefix = fmt.Sprintf("policy: test.py:%d: ", tc.line)
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("Error() = %q, want prefix %q", err.Error(), prefix)
			}
		})
	}
}

func TestAccepted(t *testing.T) {
	cases := map[string]struct {
		lines  []string
		inputs map[string]any
		want   any
	}{
		"continuation in brackets": {[]string{"x = (", "    1 +  # comment inside", "    2", ")"}, nil, 3},
		"backslash continuation":   {[]string{"x = 1 + \\", "    2"}, nil, 3},
		"brackets inside strings":  {[]string{`x = "(#" if ticker == "a)" else ")"`}, map[string]any{"ticker": "a)"}, "(#"},
		"trailing comment":         {[]string{"x = 2 * 3  # six"}, nil, 6},
		"earlier rule":             {[]string{"x = drift_score * 2", "y = x + 1"}, map[string]any{"drift_score": 1.5}, 4.0},
		"membership":               {[]string{`x = ticker in ("AAPL", "MSFT")`}, map[string]any{"ticker": "MSFT"}, true},
		"subscript":                {[]string{`x = {"AAPL": 2.5}[ticker]`}, map[string]any{"ticker": "AAPL"}, 2.5},
		"float escape hatch":       {[]string{`x = float({"AAPL": 2.5}[ticker]) * 2`}, map[string]any{"ticker": "AAPL"}, 5.0},
		"small power":              {[]string{"x = drift_score ** 2 + 2 ** -1"}, map[string]any{"drift_score": 3.0}, 9.5},
		"builtins":                 {[]string{"x = abs(min(-3, max(1, 2))) + len(str(12)) + int(2.9) + float(1)"}, nil, 8.0},
		"none input":               {[]string{"x = max_psi is None"}, map[string]any{"max_psi": nil}, true},
		"int input for float":      {[]string{"x = drift_score / 2"}, map[string]any{"drift_score": 3}, 1.5},
		"chained comparison":       {[]string{"x = 0.4 <= volatility_ratio <= 2.5"}, map[string]any{"volatility_ratio": 2.5}, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := Parse("test.py", []byte(wrap(tc.lines...)))
			if err != nil {
				t.Fatal(err)
			}
			rules := p.Rules()
			got, err := p.Eval(rules[len(rules)-1], tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestEvalErrors(t *testing.T) {
	p, err := Parse("test.py", []byte(wrap(
		"div = 1 / (drift_score - drift_score)",
		"after = div + 1",
		`pair = {"a": (1, 2)}["a"]`,
		"huge = 10 ** 8 * 10 ** 8 * 10 ** 8",
		"psi = max_psi > 0.2",
	)))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		rule     string
		inputs   map[string]any
		is       error
		evalRule string // the rule an *EvalError should name; "" for none
		msg      string
	}{
		"division by zero":     {"div", map[string]any{"drift_score": 1.0}, nil, "div", "ZeroDivisionError"},
		"error in a used rule": {"after", map[string]any{"drift_score": 1.0}, nil, "div", "ZeroDivisionError"},
		"missing input":        {"div", nil, ErrMissingInput, "div", "missing input drift_score"},
		"type error on None":   {"psi", map[string]any{"max_psi": nil}, nil, "psi", "TypeError"},
		"container result":     {"pair", nil, ErrResultType, "pair", "not tuple"},
		"integer overflow":     {"huge", nil, ErrResultType, "huge", "beyond 64 bits"},
		"unknown rule":         {"nope", nil, ErrUnknownRule, "", "nope"},
		"unknown input":        {"div", map[string]any{"drift": 1.0}, ErrUnknownInput, "", "drift"},
		"wrong input type":     {"div", map[string]any{"drift_score": "1"}, ErrInputType, "", "drift_score must be a number"},
		"wrong go type":        {"div", map[string]any{"drift_score": []float64{1}}, ErrInputType, "", "[]float64"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v, err := p.Eval(tc.rule, tc.inputs)
			if err == nil {
				t.Fatalf("Eval = %#v, want an error", v)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
			var ee *EvalError
			if got := errors.As(err, &ee); got != (tc.evalRule != "") || (got && ee.Rule != tc.evalRule) {
				t.Errorf("err = %#v, want an *EvalError for %q", err, tc.evalRule)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to contain %q", err, tc.msg)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.py")
	if err := os.WriteFile(bad, []byte(wrap(`x = [i for i in range(3)]`)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad)
	if want := "policy: " + bad + ":5: x: comprehensions are not allowed"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load(bad) = %v, want prefix %q", err, want)
	}

	// A stricter custom policy changes the answer.
	custom := filepath.Join(dir, "custom.py")
	src := strings.Replace(DefaultSource(), "drift_score > 2.0", "drift_score > 1.8", 1)
	if err := os.WriteFile(custom, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(custom)
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := p.DriftHealth(1.9, 1, nil); h != DriftCritical {
		t.Errorf("custom policy: DriftHealth(1.9, 1) = %q", h)
	}
	if h, _, _ := Default().DriftHealth(1.9, 1, nil); h != Degraded {
		t.Errorf("default policy changed: DriftHealth(1.9, 1) = %q", h)
	}

	if _, err := Load(filepath.Join(dir, "missing.py")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestPolicyWithoutAction(t *testing.T) {
	p, err := Parse("t.py", []byte(wrap()))
	if err != nil {
		t.Fatal(err)
	}
	h, a, err := p.DriftHealth(5, 1, nil)
	if err != nil || h != Healthy || a != "" {
		t.Errorf("DriftHealth = %q, %q, %v", h, a, err)
	}
}

// TestSandboxBuiltins checks the second line of defence: code that skipped
// the load-time checks still finds no dangerous builtin and cannot import.
func TestSandboxBuiltins(t *testing.T) {
	var names []string
	for n := range theSandbox.Store().Builtins.Globals {
		if !strings.HasPrefix(n, "__") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, builtinNames()) {
		t.Errorf("sandbox builtins = %v, want %v", names, builtinNames())
	}
	for _, src := range []string{
		`open("/etc/passwd")`, `__import__("os")`, `eval("1")`, `exec("x = 1")`, `globals()`, `getattr(1, "real")`,
	} {
		code, err := compile.Compile(src, "unchecked", py.EvalMode, 0, true)
		if err != nil {
			t.Fatal(err)
		}
		res, err := run(code, py.StringDict{})
		if err == nil || !strings.Contains(err.Error(), "NameError") {
			t.Errorf("%s in the sandbox = %v, %v; want a NameError", src, res, err)
		}
	}
	code, err := compile.Compile("import os", "unchecked", py.ExecMode, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(code, py.StringDict{}); err == nil {
		t.Error("import os in the sandbox succeeded")
	}
}

func TestConcurrentEvaluation(t *testing.T) {
	p := Default()
	type tc struct{ score, ratio float64 }
	cases := []tc{{0, 1}, {1, 1}, {1.5, 1}, {2, 1}, {2.5, 1}, {0, 0.3}, {0, 0.5}, {0, 1.6}, {0, 3}, {above(2), 1}}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 100; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				c := cases[(g+i)%len(cases)]
				h, a, err := p.DriftHealth(c.score, c.ratio, map[string]any{"ticker": "AAPL", "is_parent": g%2 == 0})
				if err != nil {
					errs <- err
					return
				}
				if want := oldDrift(c.score, c.ratio); h != want || (a == ActionRetrain) != (want == DriftCritical) {
					errs <- fmt.Errorf("goroutine %d: DriftHealth(%v, %v) = %q, %q; want %q", g, c.score, c.ratio, h, a, want)
					return
				}
				overall := float64((g+i)%11) / 10
				s, err := p.EvalStatus(overall, nil)
				if err != nil {
					errs <- err
					return
				}
				if want := map[bool]string{true: Trustworthy, false: Questionable}[overall > 0.6]; s != want {
					errs <- fmt.Errorf("goroutine %d: EvalStatus(%v) = %q, want %q", g, overall, s, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConcurrentAllFeatures runs every allowed construct, and a rule that
// raises, from many goroutines at once; with -race it checks that nothing in
// gpython's VM writes state the evaluations share.
func TestConcurrentAllFeatures(t *testing.T) {
	p, err := Parse("test.py", []byte(wrap(
		`limit = float({"AAPL": 2.5, "MSFT": 2.0}[ticker]) if ticker in ("AAPL", "MSFT") else 1.5`,
		`x = abs(-drift_score) ** 2 + min(1, 2) + max(0.5, float(len(str(int(drift_score))))) - limit // 1 % 3`,
		`y = "hot" if x > limit and not is_parent or ticker[0] == "M" else None`,
		`boom = 1 / (drift_score - drift_score)`,
	)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 100; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			score := float64(g%7) + 0.5
			in := map[string]any{"drift_score": score, "ticker": []string{"AAPL", "MSFT", "IBM"}[g%3], "is_parent": g%2 == 0}
			for i := 0; i < 20; i++ {
				limit := map[string]float64{"AAPL": 2.5, "MSFT": 2.0, "IBM": 1.5}[in["ticker"].(string)]
				wantX := score*score + 1 + max(0.5, float64(len(strconv.Itoa(int(score))))) - math.Mod(math.Floor(limit/1), 3)
				got, err := p.Eval("x", in)
				if err != nil || got != wantX {
					t.Errorf("goroutine %d: x = %#v, %v; want %v", g, got, err, wantX)
					return
				}
				if _, err := p.Eval("y", in); err != nil {
					t.Errorf("goroutine %d: y: %v", g, err)
					return
				}
				if _, err := p.Eval("boom", in); err == nil || !strings.Contains(err.Error(), "ZeroDivisionError") {
					t.Errorf("goroutine %d: boom: %v", g, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
