package policy

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/go-python/gpython/ast"
	"github.com/go-python/gpython/compile"
	"github.com/go-python/gpython/parser"
	"github.com/go-python/gpython/py"
)

//go:embed default_policy.py
var defaultSource string

// DefaultName is the file name the embedded default policy reports in errors.
const DefaultName = "default_policy.py"

// DefaultSource returns the text of the embedded default policy, a starting
// point for operators writing their own.
func DefaultSource() string { return defaultSource }

// Default returns the embedded default policy, loaded once. It panics if the
// embedded file does not load, which the package's tests rule out.
func Default() *Policy { return defaultPolicy() }

var defaultPolicy = sync.OnceValue(func() *Policy {
	p, err := Parse(DefaultName, []byte(defaultSource))
	if err != nil {
		panic(err)
	}
	return p
})

// Policy is a loaded, checked policy. It is immutable, and its methods may be
// called from any number of goroutines at once.
type Policy struct {
	name   string
	rules  []*rule
	byName map[string]*rule

	// Plans of the typed helpers: the well-known rules of a group and every
	// rule they use, in file order. A plan is empty when its rules are absent.
	drift, eval, accuracy plan
}

type rule struct {
	name   string
	line   int      // first line of the rule in its file
	expr   string   // the right-hand side as written
	code   *py.Code // compiled in eval mode
	typ    vtype
	direct []string // inputs the expression names itself, sorted
	needs  []string // inputs it reads directly or through earlier rules, sorted
	plan   plan     // rules to run to evaluate it: its dependencies then itself
}

// plan is a list of rules to run in order against one globals dict.
type plan []*rule

// Load reads and checks the policy file at path; "" means the embedded
// default. Every refusal happens here, so the server calls Load at start-up
// and refuses to start on an error rather than failing at the first request.
// Refusals are *LoadError values naming the file, the line and the reason.
func Load(path string) (*Policy, error) {
	if path == "" {
		return Default(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	// One byte past the limit is enough to refuse: a huge file is never read whole.
	src, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return Parse(path, src)
}

// A policy file is a few dozen rules (the default is 70 lines, 4 KiB). These limits bound the
// time start-up spends checking one, which grows with its size.
const (
	MaxBytes = 64 << 10
	MaxLines = 1000
)

// checkSize refuses a source past MaxBytes or MaxLines.
func checkSize(src []byte) *LoadError {
	if len(src) > MaxBytes {
		return &LoadError{Reason: fmt.Sprintf("larger than %d bytes: a policy is a few dozen rules", MaxBytes)}
	}
	if n := bytes.Count(src, []byte("\n")) + 1; n > MaxLines {
		return &LoadError{Reason: fmt.Sprintf("%d lines, more than %d: a policy is a few dozen rules", n, MaxLines)}
	}
	return nil
}

var ruleHead = regexp.MustCompile(`(?s)^([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(.*)$`)

// keywords cannot name rules.
var keywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true,
	"await": true, "break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true,
	"else": true, "except": true, "finally": true, "for": true, "from": true, "global": true, "if": true,
	"import": true, "in": true, "is": true, "lambda": true, "nonlocal": true, "not": true, "or": true,
	"pass": true, "raise": true, "return": true, "try": true, "while": true, "with": true, "yield": true,
}

// Parse checks a policy held in memory; name is used in error messages.
// See the package documentation for the format and what is refused.
func Parse(name string, src []byte) (_ *Policy, err error) {
	defer func() {
		if r := recover(); r != nil { // gpython's parser or compiler; never seen, but never crash start-up
			err = &LoadError{File: name, Reason: fmt.Sprintf("gpython failed: %v", r)}
		}
	}()
	lerr := checkSize(src)
	var p *Policy
	if lerr == nil {
		p, lerr = parse(name, string(src))
	}
	if lerr != nil {
		lerr.File = name
		return nil, lerr
	}
	return p, nil
}

func parse(name, src string) (*Policy, *LoadError) {
	lines, lerr := splitLines(src)
	if lerr != nil {
		return nil, lerr
	}
	p := &Policy{name: name, byName: map[string]*rule{}}
	index := map[string]int{}

	// Pass 1: every rule's name and line, so that a reference to a later rule
	// can say where that rule is.
	for _, ll := range lines {
		m := ruleHead.FindStringSubmatch(ll.text)
		if m == nil || strings.HasPrefix(m[2], "=") {
			return nil, notARule(name, ll)
		}
		r := &rule{name: m[1], line: ll.line, expr: strings.TrimSpace(m[2])}
		switch {
		case strings.HasPrefix(r.name, "__"):
			return nil, &LoadError{Line: r.line, Reason: fmt.Sprintf("dunder name %s cannot name a rule", r.name)}
		case keywords[r.name]:
			return nil, &LoadError{Line: r.line, Reason: fmt.Sprintf("%s is a Python keyword and cannot name a rule", r.name)}
		case callableBuiltins[r.name] || why[r.name] != "":
			return nil, &LoadError{Line: r.line, Reason: fmt.Sprintf("rule name %s shadows a builtin", r.name)}
		}
		if _, ok := inputKinds[r.name]; ok {
			return nil, &LoadError{Line: r.line, Reason: fmt.Sprintf("rule name %s shadows an input", r.name)}
		}
		if prev, ok := p.byName[r.name]; ok {
			return nil, &LoadError{Line: r.line, Reason: fmt.Sprintf("rule %s is already defined on line %d", r.name, prev.line)}
		}
		index[r.name] = len(p.rules)
		p.rules = append(p.rules, r)
		p.byName[r.name] = r
	}

	// Pass 2: parse, check and compile each right-hand side.
	for i, r := range p.rules {
		mod, err := parser.Parse(strings.NewReader(r.expr), name, py.EvalMode)
		if err != nil {
			line, msg := syntaxError(err)
			return nil, &LoadError{Line: r.line + max(line, 1) - 1, Rule: r.name, Reason: "syntax error: " + msg}
		}
		body := mod.(*ast.Expression).Body
		c := &checker{rules: p.rules, index: index, cur: i, refs: map[string]bool{}, inputs: map[string]bool{}}
		typ, lerr := c.check(body)
		if lerr != nil {
			return nil, lerr
		}
		if typ == tSeq {
			return nil, &LoadError{Line: r.line, Rule: r.name, Reason: "a rule must produce None, bool, int, float or str, not a container"}
		}
		r.typ = typ
		r.code, err = compile.Compile(r.expr, name, py.EvalMode, 0, true)
		if err != nil {
			return nil, &LoadError{Line: r.line, Rule: r.name, Reason: "compile: " + pyErrorString(err)}
		}
		r.direct = sortedKeys(c.inputs)
		needs := map[string]bool{}
		for in := range c.inputs {
			needs[in] = true
		}
		// Earlier rules' plans are complete; merge them in file order.
		deps := map[*rule]bool{}
		for ref := range c.refs {
			d := p.byName[ref]
			for _, s := range d.plan {
				deps[s] = true
			}
			for _, in := range d.needs {
				needs[in] = true
			}
		}
		r.needs = sortedKeys(needs)
		for _, s := range p.rules[:i] {
			if deps[s] {
				r.plan = append(r.plan, s)
			}
		}
		r.plan = append(r.plan, r)
	}

	if lerr := p.checkWellKnown(); lerr != nil {
		return nil, lerr
	}
	return p, nil
}

// checkWellKnown makes sure the rules the service reads exist, read only the
// inputs their group receives, and give valid results on typical inputs.
func (p *Policy) checkWellKnown() *LoadError {
	groups := map[Group][]*rule{}
	for _, wk := range wellKnown {
		r, ok := p.byName[wk.name]
		if !ok {
			if wk.required {
				return &LoadError{Reason: fmt.Sprintf("missing rule %s", wk.name)}
			}
			continue
		}
		for _, in := range r.needs {
			if !groupInputs[wk.group][in] {
				return &LoadError{Line: r.line, Rule: r.name, Reason: fmt.Sprintf(
					"uses input %s (directly or through an earlier rule), which %s rules do not receive; they receive %s",
					in, wk.group, strings.Join(sortedKeys(groupInputs[wk.group]), ", "))}
			}
		}
		groups[wk.group] = append(groups[wk.group], r)
	}
	p.drift = mergePlans(p.rules, groups[GroupDrift])
	p.eval = mergePlans(p.rules, groups[GroupEval])
	p.accuracy = mergePlans(p.rules, groups[GroupAccuracy])

	for _, wk := range wellKnown {
		r, ok := p.byName[wk.name]
		if !ok {
			continue
		}
		for _, sample := range samples[wk.group] {
			globals, err := p.run(r.plan, sample)
			if err == nil {
				_, err = wellKnownResult(wk.name, globals)
			}
			if err != nil {
				msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "policy: "), "rule "+r.name+": ")
				return &LoadError{Line: r.line, Rule: r.name, Reason: fmt.Sprintf(
					"fails on typical inputs (%s): %s", formatInputs(sample), msg)}
			}
		}
	}
	return nil
}

// mergePlans is the union of the plans of rs, in file order.
func mergePlans(all []*rule, rs []*rule) plan {
	in := map[*rule]bool{}
	for _, r := range rs {
		for _, s := range r.plan {
			in[s] = true
		}
	}
	var out plan
	for _, r := range all {
		if in[r] {
			out = append(out, r)
		}
	}
	return out
}

// notARule explains why a logical line is not `name = expression`.
func notARule(file string, ll logicalLine) *LoadError {
	mod, err := parser.Parse(strings.NewReader(ll.text+"\n"), file, py.ExecMode)
	if err != nil {
		line, msg := syntaxError(err)
		return &LoadError{Line: ll.line + max(line, 1) - 1, Reason: "syntax error: " + msg + "; a rule is `name = expression`"}
	}
	m, ok := mod.(*ast.Module)
	if !ok || len(m.Body) == 0 {
		return &LoadError{Line: ll.line, Reason: "expected `name = expression`"}
	}
	switch s := m.Body[0].(type) {
	case *ast.ExprStmt:
		return &LoadError{Line: ll.line, Reason: "a bare expression is not a rule; write `name = expression`"}
	case *ast.Assign:
		return &LoadError{Line: ll.line, Reason: "only `name = expression` assignments are allowed"}
	default:
		return &LoadError{Line: ll.line, Reason: fmt.Sprintf("statements are not allowed (%s)", strings.ToLower(s.Type().Name))}
	}
}

// syntaxError extracts the line (relative to the parsed text) and message of
// a gpython SyntaxError.
func syntaxError(err error) (int, string) {
	var exc *py.Exception
	if !errors.As(err, &exc) {
		return 0, err.Error()
	}
	line := 0
	if l, ok := exc.Dict["lineno"].(py.Int); ok {
		line = int(l)
	}
	msg := exc.Base.Name
	if args, ok := exc.Args.(py.Tuple); ok && len(args) > 0 {
		if s, ok := args[0].(py.String); ok {
			msg = string(s)
		} else if r, rerr := py.ReprAsString(args[0]); rerr == nil {
			msg = r
		}
	}
	return line, msg
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func formatInputs(in map[string]any) string {
	parts := make([]string, 0, len(in))
	for _, k := range sortedKeys(in) {
		parts = append(parts, fmt.Sprintf("%s=%#v", k, in[k]))
	}
	return strings.Join(parts, ", ")
}

// Name is the file name the policy was loaded from (DefaultName for the default).
func (p *Policy) Name() string { return p.name }

// Rules returns the rule names in file order.
func (p *Policy) Rules() []string {
	out := make([]string, len(p.rules))
	for i, r := range p.rules {
		out[i] = r.name
	}
	return out
}

// Expr returns a rule's right-hand side as written (newlines kept when it
// spans lines), so the same expression can be evaluated elsewhere, for example
// through CPython in a benchmark. It refers to earlier rules by name.
func (p *Policy) Expr(rule string) (string, bool) {
	r, ok := p.byName[rule]
	if !ok {
		return "", false
	}
	return r.expr, true
}

// Needs returns the inputs a rule reads, directly or through earlier rules.
func (p *Policy) Needs(rule string) ([]string, bool) {
	r, ok := p.byName[rule]
	if !ok {
		return nil, false
	}
	return append([]string(nil), r.needs...), true
}

// Eval evaluates one rule, after the earlier rules it uses, with the given
// inputs. Input values may be nil, bool, string, any Go integer or float
// type, each as the input's documented type allows (see Inputs); an integer
// given for a float input is converted. The result is nil (None), bool, int,
// float64 or string.
//
// Errors: ErrUnknownRule, ErrUnknownInput, ErrInputType, or an *EvalError
// naming the rule that raised, lacked an input (ErrMissingInput) or returned a
// value of another type (ErrResultType). Eval never panics on a rule's
// behalf.
func (p *Policy) Eval(rule string, inputs map[string]any) (any, error) {
	r, ok := p.byName[rule]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownRule, rule)
	}
	globals, err := p.run(r.plan, inputs)
	if err != nil {
		return nil, err
	}
	return fromPy(globals[r.name])
}

// run converts inputs and evaluates the rules of pl in order, each result
// becoming a global of the later ones. Nothing in pl is written: concurrent
// runs share only immutable compiled code and the read-only sandbox.
func (p *Policy) run(pl plan, inputs map[string]any) (py.StringDict, error) {
	globals := make(py.StringDict, len(inputs)+len(pl))
	for k, v := range inputs {
		kd, ok := inputKinds[k]
		if !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownInput, k)
		}
		o, err := toPy(k, kd, v)
		if err != nil {
			return nil, err
		}
		globals[k] = o
	}
	for _, r := range pl {
		for _, in := range r.direct {
			if _, ok := globals[in]; !ok {
				return nil, &EvalError{Rule: r.name, Err: fmt.Errorf("%w %s", ErrMissingInput, in)}
			}
		}
		res, err := run(r.code, globals)
		if err == nil {
			_, err = fromPy(res)
		}
		if err != nil {
			return nil, &EvalError{Rule: r.name, Err: err}
		}
		globals[r.name] = res
	}
	return globals, nil
}
