package policy

import (
	"fmt"
	"math"
	"strings"

	"github.com/go-python/gpython/ast"
	"github.com/go-python/gpython/py"
)

// vtype is what the checker knows, before any evaluation, about the value an
// expression produces. It only has to be precise enough to keep arithmetic on
// numbers: with no loops, no string or container arithmetic, no shifts and
// only small literal exponents, an accepted rule runs in time and memory
// bounded by its own size, which is what makes a sandbox without interruption
// safe.
type vtype uint8

const (
	tAny  vtype = iota // unknown: a subscript, min/max of one iterable, a mixed if/else
	tNum               // int, float, bool or complex; inputs of those kinds may be None at run time
	tStr               // str
	tNone              // None
	tSeq               // tuple, list, set or dict literal
)

func (t vtype) String() string {
	switch t {
	case tNum:
		return "a number"
	case tStr:
		return "a string"
	case tNone:
		return "None"
	case tSeq:
		return "a container"
	}
	return "a value of unknown type (wrap it in float() if it is a number)"
}

func join(a, b vtype) vtype {
	if a == b {
		return a
	}
	return tAny
}

// maxExponent bounds the literal exponent of **: base**8 has at most eight
// times the digits of its base, and ** may not nest, so no rule can build a
// huge integer.
const maxExponent = 8

var binOpSymbol = map[ast.OperatorNumber]string{
	ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Modulo: "%", ast.Pow: "**",
	ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.FloorDiv: "//",
}

var unaryOpSymbol = map[ast.UnaryOpNumber]string{ast.Invert: "~", ast.UAdd: "unary +", ast.USub: "unary -"}

// why explains refusing some builtins beyond "not in the allow-list".
var why = map[string]string{
	"round": "gpython's round floors and mis-scales: round(2.675, 2) is 0.0 and round(1.5) is 1.0",
	"bool":  "gpython cannot call bool(); compare instead, e.g. x != 0",
	"range": "loops are not allowed",
}

// checker refuses, at load time, anything a rule may not contain. It walks
// an allow-list of node types: any node it does not know is refused.
type checker struct {
	rules  []*rule // every rule of the file, in order; rules[cur] is being checked
	index  map[string]int
	cur    int
	refs   map[string]bool // earlier rules used directly
	inputs map[string]bool // inputs used directly
}

// refusal carries a LoadError out of the recursive walk.
type refusal struct{ err *LoadError }

func (c *checker) fail(node ast.Ast, format string, args ...any) {
	r := c.rules[c.cur]
	line := r.line
	if node != nil && node.GetLineno() > 0 {
		line = r.line + node.GetLineno() - 1
	}
	panic(refusal{&LoadError{Line: line, Rule: r.name, Reason: fmt.Sprintf(format, args...)}})
}

// check walks rule cur's expression and returns its type.
func (c *checker) check(body ast.Expr) (t vtype, err *LoadError) {
	defer func() {
		if r := recover(); r != nil {
			ref, ok := r.(refusal)
			if !ok {
				panic(r)
			}
			err = ref.err
		}
	}()
	return c.expr(body), nil
}

func (c *checker) expr(e ast.Expr) vtype {
	switch n := e.(type) {
	case *ast.Num:
		switch n.N.(type) {
		case py.Int, py.Float, *py.BigInt, py.Complex:
			return tNum
		}
		return tAny
	case *ast.Str:
		return tStr
	case *ast.NameConstant:
		if n.Value == py.None {
			return tNone
		}
		return tNum
	case *ast.Name:
		return c.name(n)
	case *ast.BoolOp:
		t := c.expr(n.Values[0])
		for _, v := range n.Values[1:] {
			t = join(t, c.expr(v))
		}
		return t
	case *ast.UnaryOp:
		t := c.expr(n.Operand)
		if n.Op != ast.Not {
			c.needNum(n, unaryOpSymbol[n.Op], t)
		}
		return tNum
	case *ast.BinOp:
		sym := binOpSymbol[n.Op]
		switch n.Op {
		case ast.LShift, ast.RShift:
			c.fail(n, "bit shifts (%s) are not allowed", sym)
		case ast.Pow:
			c.pow(n)
		}
		l := c.expr(n.Left)
		r := c.expr(n.Right)
		c.needNum(n, sym, l)
		c.needNum(n, sym, r)
		return tNum
	case *ast.Compare:
		c.expr(n.Left)
		for _, v := range n.Comparators {
			c.expr(v)
		}
		return tNum
	case *ast.IfExp:
		c.expr(n.Test)
		return join(c.expr(n.Body), c.expr(n.Orelse))
	case *ast.Call:
		return c.call(n)
	case *ast.Tuple:
		c.exprs(n.Elts)
		return tSeq
	case *ast.List:
		c.exprs(n.Elts)
		return tSeq
	case *ast.Set:
		c.exprs(n.Elts)
		return tSeq
	case *ast.Dict:
		c.exprs(n.Keys)
		c.exprs(n.Values)
		return tSeq
	case *ast.Subscript:
		c.expr(n.Value)
		switch s := n.Slice.(type) {
		case *ast.Index:
			c.expr(s.Value)
		case *ast.Slice:
			for _, part := range []ast.Expr{s.Lower, s.Upper, s.Step} {
				if part != nil {
					c.expr(part)
				}
			}
		default:
			c.fail(n, "extended slices are not allowed")
		}
		return tAny
	case *ast.Attribute:
		c.expr(n.Value)
		if strings.HasPrefix(string(n.Attr), "__") {
			c.fail(n, "dunder attribute %s is not allowed", n.Attr)
		}
		c.fail(n, "attribute access (.%s) is not allowed", n.Attr)
	case *ast.Lambda:
		c.fail(n, "lambda is not allowed")
	case *ast.ListComp:
		c.fail(n, "comprehensions are not allowed (list comprehension)")
	case *ast.SetComp:
		c.fail(n, "comprehensions are not allowed (set comprehension)")
	case *ast.DictComp:
		c.fail(n, "comprehensions are not allowed (dict comprehension)")
	case *ast.GeneratorExp:
		c.fail(n, "generator expressions are not allowed")
	case *ast.Yield, *ast.YieldFrom:
		c.fail(n, "yield is not allowed")
	case *ast.Starred:
		c.fail(n, "star expressions are not allowed")
	case *ast.Bytes:
		c.fail(n, "bytes literals are not allowed")
	case nil:
		c.fail(nil, "empty expression")
	default:
		c.fail(e, "%s expressions are not allowed", e.Type().Name)
	}
	panic("unreachable")
}

func (c *checker) exprs(es []ast.Expr) {
	for _, e := range es {
		c.expr(e)
	}
}

func (c *checker) needNum(n ast.Ast, op string, t vtype) {
	if t != tNum {
		c.fail(n, "%s needs numbers, not %s", op, t)
	}
}

// pow allows base ** e only for a number literal e with |e| <= maxExponent
// and a base without **.
func (c *checker) pow(n *ast.BinOp) {
	e := n.Right
	if u, ok := e.(*ast.UnaryOp); ok && (u.Op == ast.USub || u.Op == ast.UAdd) {
		e = u.Operand
	}
	var v float64
	ok := false
	if num, isNum := e.(*ast.Num); isNum {
		switch x := num.N.(type) {
		case py.Int:
			v, ok = float64(x), true
		case py.Float:
			v, ok = float64(x), true
		}
	}
	if !ok || math.Abs(v) > maxExponent {
		c.fail(n, "** needs a number literal between -%d and %d as its exponent", maxExponent, maxExponent)
	}
	ast.Walk(n.Left, func(a ast.Ast) bool {
		if b, ok := a.(*ast.BinOp); ok && b.Op == ast.Pow {
			c.fail(n, "nested ** is not allowed")
		}
		return true
	})
}

func (c *checker) call(n *ast.Call) vtype {
	if n.Starargs != nil || n.Kwargs != nil {
		c.fail(n, "star arguments are not allowed")
	}
	fn, ok := n.Func.(*ast.Name)
	if !ok {
		c.expr(n.Func) // refuses attribute access with its own reason
		c.fail(n, "only builtins may be called")
	}
	id := string(fn.Id)
	if !callableBuiltins[id] {
		if strings.HasPrefix(id, "__") {
			c.fail(n, "dunder name %s is not allowed", id)
		}
		reason := fmt.Sprintf("calling %s is not allowed; a rule may call only %s", id, strings.Join(builtinNames(), ", "))
		if w, ok := why[id]; ok {
			reason += " (" + w + ")"
		}
		c.fail(n, "%s", reason)
	}
	var ts []vtype
	for _, a := range n.Args {
		ts = append(ts, c.expr(a))
	}
	for _, kw := range n.Keywords {
		c.expr(kw.Value)
	}
	switch id {
	case "str":
		return tStr
	case "min", "max":
		if len(ts) < 2 {
			return tAny
		}
		t := ts[0]
		for _, x := range ts[1:] {
			t = join(t, x)
		}
		return t
	}
	return tNum // abs, float, int, len
}

func (c *checker) name(n *ast.Name) vtype {
	id := string(n.Id)
	if strings.HasPrefix(id, "__") {
		c.fail(n, "dunder name %s is not allowed", id)
	}
	if callableBuiltins[id] {
		c.fail(n, "builtin %s may only be called", id)
	}
	if _, ok := inputKinds[id]; ok {
		c.inputs[id] = true
		if inputKinds[id] == kindStr {
			return tStr
		}
		return tNum
	}
	if i, ok := c.index[id]; ok {
		switch {
		case i < c.cur:
			c.refs[id] = true
			return c.rules[i].typ
		case i == c.cur:
			c.fail(n, "a rule may not use itself")
		default:
			c.fail(n, "%s is defined later, on line %d; a rule may use only the rules above it", id, c.rules[i].line)
		}
	}
	c.fail(n, "unknown name %s: not an input, an earlier rule or an allowed builtin", id)
	panic("unreachable")
}
