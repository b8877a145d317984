// Package policy turns monitoring measurements into health levels (drift,
// agent evaluation, model accuracy) and actions with rules operators write in a
// small policy file. Rules are Python expressions evaluated inside Go by gpython
// (github.com/go-python/gpython), never by the embedded CPython, so they never
// wait for its GIL.
//
// # File format
//
// A policy file is a sequence of rules, one per statement:
//
//	# comment
//	drift_health = (
//	    "Critical (Drift Detected)" if drift_score > 2.0 or volatility_ratio > 2.5 or volatility_ratio < 0.4
//	    else "Degraded (Warning)" if drift_score > 1.0 or volatility_ratio > 1.5 or volatility_ratio < 0.6
//	    else "Healthy"
//	)
//	drift_action = "retrain" if drift_health == "Critical (Drift Detected)" else None
//
// Each rule is `name = expression`, starting at the beginning of a line; the
// expression may continue over several lines inside brackets (or after a
// trailing backslash). Blank lines and # comments are ignored. A rule may use
// the documented inputs (see Inputs), rules defined above it, literals,
// arithmetic on numbers, comparisons, and/or/not, `a if cond else b`, tuple,
// list, set and dict literals, subscripts, and calls to abs, float, int, len,
// max, min and str. The embedded default (default_policy.py, DefaultSource)
// reproduces the old service's thresholds and documents every input.
//
// The service reads four rules, each receiving its group's inputs plus ticker
// and is_parent: drift_health and drift_action (GroupDrift), eval_status
// (GroupEval) and accuracy_health (GroupAccuracy). drift_action is optional;
// the others must exist. Any other rule is an intermediate value.
//
// # Refusals
//
// gpython cannot interrupt running code, so the sandbox works by refusal when
// the policy loads, on a walk of each expression's syntax tree that accepts only
// the node types listed above. Refused, with the file, line and reason in a
// *LoadError:
//   - statements (import, def, for, assignments other than name = ...), and
//     any line that is not a rule; syntax errors;
//   - lambda, list/set/dict comprehensions, generator expressions, yield,
//     star arguments and expressions, bytes literals;
//   - attribute access of any kind (so __class__ and every method), and any
//     name starting with "__" (__import__, __builtins__ …);
//   - calls to anything but the builtins above: open, eval, exec, compile,
//     globals, locals, getattr, setattr, vars, dir, type, object, range … and
//     round and bool, which gpython v0.2.0 gets wrong; builtins used as values;
//   - unknown names, a rule using itself or a later rule, rule names that are
//     keywords, builtins, inputs, dunders or duplicates;
//   - resource bombs: bit shifts, ** unless its exponent is a number literal
//     from -8 to 8 and its base holds no **, and arithmetic on anything not
//     known to be a number (strings, containers, None: "x" * 10**9 or
//     [0] * n never load);
//   - a well-known rule that reads inputs its group does not receive, is
//     missing, or raises or returns an unknown value on typical inputs (each
//     is evaluated on a few samples while loading).
//
// Rules run with a context whose builtins module holds only the allowed
// builtins and whose imports always fail, so a name the walk missed would still
// find nothing dangerous. At run time every rule result must be None, bool, a
// 64-bit int, float or str, which keeps containers and huge integers from
// flowing from one rule into the next. Together these bound an accepted rule's
// time and memory by its size.
//
// # Errors and concurrency
//
// A rule that raises (a type error, a division by zero) or lacks an input is an
// *EvalError naming the rule; evaluation recovers from gpython panics and never
// panics itself. A Policy is immutable after loading, and every method may be
// called from many goroutines at once: each evaluation has its own frame and
// globals, and the sandbox context they share is never written after package
// initialisation (gpython's own contexts may not be shared; ours holds no
// per-run state).
package policy
