package policy

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/go-python/gpython/py"
	"github.com/go-python/gpython/vm"

	// The compiler registers py.Compile; the builtin package registers the
	// "builtins" module implementation that sandbox builtins are copied from.
	// Neither imports os, sys or any module that touches the host.
	_ "github.com/go-python/gpython/compile"
	_ "github.com/go-python/gpython/stdlib/builtin"
)

// callableBuiltins are the only builtins a rule may call, and the only names
// in the sandbox's builtins module. True, False and None are keywords, and
// and/or/not are operators, so they need no entry.
//
// round and bool are missing on purpose (see why): in gpython v0.2.0 round
// floors and scales by the wrong power of ten, and bool() always raises.
var callableBuiltins = map[string]bool{
	"abs":   true,
	"float": true,
	"int":   true,
	"len":   true,
	"max":   true,
	"min":   true,
	"str":   true,
}

// sandbox is the py.Context every policy runs in. Its module store holds one
// module, "builtins", with only callableBuiltins in it: the VM looks builtins
// up in the context's store (never in a "__builtins__" global), so a name the
// load-time checks missed still finds nothing dangerous. Import, module
// initialisation and file compilation always fail.
//
// The store is written once, in newSandbox, and only read afterwards; each
// evaluation makes its own frame and globals. That is why one sandbox may serve
// concurrent evaluations although gpython's own context (stdlib.NewContext)
// may not: its store changes as modules are imported, ours never does.
type sandbox struct {
	store *py.ModuleStore
	done  chan struct{} // never closed: the sandbox lives as long as the process
}

// errSandbox is returned by the py.Context methods a policy may never reach.
var errSandbox = py.ExceptionNewf(py.ImportError, "policy sandbox: imports and file access are not available")

// theSandbox is shared by every Policy.
var theSandbox = newSandbox()

func newSandbox() *sandbox {
	s := &sandbox{store: py.NewModuleStore(), done: make(chan struct{})}
	full := py.GetModuleImpl("builtins")
	if full == nil {
		panic("policy: gpython builtins module is not registered")
	}
	impl := &py.ModuleImpl{
		Info:    py.ModuleInfo{Name: "builtins", Doc: "policy sandbox builtins"},
		Globals: py.StringDict{},
	}
	for _, m := range full.Methods {
		if callableBuiltins[m.Name] {
			impl.Methods = append(impl.Methods, m)
		}
	}
	for name, v := range full.Globals {
		if callableBuiltins[name] {
			impl.Globals[name] = v
		}
	}
	if _, err := s.store.NewModule(s, impl); err != nil {
		panic("policy: building sandbox builtins: " + err.Error())
	}
	for name := range callableBuiltins {
		if _, ok := s.store.Builtins.Globals[name]; !ok {
			panic("policy: gpython has no builtin " + name)
		}
	}
	return s
}

func (s *sandbox) ResolveAndCompile(string, py.CompileOpts) (py.CompileOut, error) {
	return py.CompileOut{}, errSandbox
}
func (s *sandbox) ModuleInit(*py.ModuleImpl) (*py.Module, error) { return nil, errSandbox }
func (s *sandbox) RunCode(code *py.Code, globals, locals py.StringDict, closure py.Tuple) (py.Object, error) {
	return vm.EvalCode(s, code, globals, locals, nil, nil, nil, nil, closure)
}
func (s *sandbox) GetModule(name string) (*py.Module, error) {
	if name != "builtins" {
		return nil, errSandbox
	}
	return s.store.Builtins, nil
}
func (s *sandbox) Store() *py.ModuleStore { return s.store }
func (s *sandbox) Close() error           { return nil }
func (s *sandbox) Done() <-chan struct{}  { return s.done }

var _ py.Context = (*sandbox)(nil)

// builtinNames lists callableBuiltins, sorted, for error messages.
func builtinNames() []string {
	names := make([]string, 0, len(callableBuiltins))
	for n := range callableBuiltins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// run evaluates one compiled rule with globals as both its globals and locals.
// A panic inside gpython becomes an error.
func run(code *py.Code, globals py.StringDict) (res py.Object, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("gpython panic: %v", r)
		}
	}()
	res, err = theSandbox.RunCode(code, globals, globals, nil)
	if err != nil {
		err = errors.New(pyErrorString(err))
	}
	return res, err
}

// pyErrorString formats a gpython exception as "Type: message".
func pyErrorString(err error) string {
	var exc *py.Exception
	var info py.ExceptionInfo
	if errors.As(err, &info) {
		exc, _ = info.Value.(*py.Exception)
		if exc == nil && info.Value != nil {
			return info.Value.Type().Name
		}
	} else if !errors.As(err, &exc) {
		return err.Error()
	}
	if exc == nil {
		return err.Error()
	}
	msg := exc.Base.Name
	if args, ok := exc.Args.(py.Tuple); ok && len(args) > 0 {
		if s, ok := args[0].(py.String); ok {
			msg += ": " + string(s)
		} else if r, rerr := py.ReprAsString(args[0]); rerr == nil {
			msg += ": " + r
		}
	}
	return msg
}

// toPy converts a Go input value for an input of kind k.
func toPy(name string, k kind, v any) (py.Object, error) {
	if v == nil {
		return py.None, nil
	}
	switch k {
	case kindFloat:
		if f, ok := asFloat(v); ok {
			return py.Float(f), nil
		}
	case kindInt:
		if i, ok := asInt(v); ok {
			return py.Int(i), nil
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			return py.NewBool(b), nil
		}
	case kindStr:
		if s, ok := v.(string); ok {
			return py.String(s), nil
		}
	}
	return nil, fmt.Errorf("%w: %s must be %s or nil, not %T", ErrInputType, name, k, v)
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	if i, ok := asInt(v); ok {
		return float64(i), true
	}
	return 0, false
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), true
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// fromPy converts a rule's result to Go: None → nil, bool, int, float64 or
// string. Anything else (a tuple, an int beyond int64, …) is an error, which
// also keeps containers and huge integers from flowing into later rules.
func fromPy(o py.Object) (any, error) {
	switch x := o.(type) {
	case py.NoneType:
		return nil, nil
	case py.Bool:
		return bool(x), nil
	case py.Int:
		return int(x), nil
	case py.Float:
		return float64(x), nil
	case py.String:
		return string(x), nil
	case *py.BigInt:
		return nil, fmt.Errorf("%w, not an integer beyond 64 bits", ErrResultType)
	}
	return nil, fmt.Errorf("%w, not %s", ErrResultType, o.Type().Name)
}
