package deploytest

import "strings"

// ExprMetrics returns the metric names a PromQL expression selects, in the
// order they first appear, each once. Names are returned as written: a
// histogram's series keep their _bucket, _sum or _count suffix.
//
// It is a tokenizer, not a parser: an identifier is a metric name unless it is
// a function (followed by "("), an aggregation followed by by/without, a
// keyword (by, without, on, ignoring, group_left, group_right, bool, and, or,
// unless, offset, atan2; any case), Inf or NaN, or a label name (inside {…}
// or in the label list of by, without, on, ignoring, group_left and
// group_right). Strings, numbers, durations, ranges and subqueries ([…]),
// comments and Grafana variables ($var, ${var}, $__rate_interval) are
// skipped. {__name__="x"} and the quoted form {"x"} select x. Grafana's
// label_values(metric, label) selects metric only.
//
// It never fails: an expression that does not parse yields the names it
// could read.
func ExprMetrics(expr string) []string {
	var names []string
	seen := map[string]bool{}
	metricsOf(lex(expr), func(name string) {
		if name != "" && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	})
	return names
}

type tokenKind int

const (
	tIdent  tokenKind = iota // identifier: metric, label, function or keyword
	tString                  // quoted string, unquoted in text
	tNumber                  // number or duration
	tVar                     // Grafana variable: $x, ${x}
	tRange                   // [5m], [1h:1m], [$__rate_interval]
	tPunct                   // ( ) { } , and operators
)

type token struct {
	kind tokenKind
	text string
}

// keywords never name a metric. PromQL matches them without regard to case.
var keywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "bool": true,
	"and": true, "or": true, "unless": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
}

// labelListKeywords take a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true,
}

// aggregations may be followed by by/without before their parentheses
// (sum by (le) (…)), so no "(" follows their name directly.
var aggregations = map[string]bool{
	"sum": true, "avg": true, "count": true, "min": true, "max": true,
	"group": true, "stddev": true, "stdvar": true, "topk": true,
	"bottomk": true, "count_values": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// lex splits s into tokens.
func lex(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#': // comment to the end of the line
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			var b strings.Builder
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && c != '`' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, token{tString, b.String()})
			i = j + 1
		case c == '$':
			j := i + 1
			if j < len(s) && s[j] == '{' {
				for j < len(s) && s[j] != '}' {
					j++
				}
				j++
			} else {
				for j < len(s) && isIdentChar(s[j]) {
					j++
				}
			}
			toks = append(toks, token{tVar, s[i:min(j, len(s))]})
			i = j
		case c == '[': // range or subquery; Grafana's [[var]] nests
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '[' {
					depth++
				} else if s[j] == ']' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			toks = append(toks, token{tRange, s[i:min(j+1, len(s))]})
			i = j + 1
		case isDigit(c) || (c == '.' && i+1 < len(s) && isDigit(s[i+1])):
			// Numbers (0.99, 1e-3, 0x1f) and durations (5m, 1h30m).
			j := i + 1
			for ; j < len(s); j++ {
				d := s[j]
				exponentSign := (d == '+' || d == '-') && (s[j-1] == 'e' || s[j-1] == 'E') &&
					!strings.HasPrefix(s[i:], "0x") && !strings.HasPrefix(s[i:], "0X")
				if !isIdentChar(d) && d != '.' && !exponentSign {
					break
				}
			}
			toks = append(toks, token{tNumber, s[i:j]})
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			toks = append(toks, token{tIdent, s[i:j]})
			i = j
		default:
			if i+1 < len(s) {
				switch two := s[i : i+2]; two {
				case "==", "!=", "=~", "!~", "<=", ">=":
					toks = append(toks, token{tPunct, two})
					i += 2
					continue
				}
			}
			toks = append(toks, token{tPunct, string(c)})
			i++
		}
	}
	return toks
}

// closing returns the index of the token closing the bracket at toks[i]
// (toks[i].text is open), or len(toks) when it is not closed.
func closing(toks []token, i int, open, shut string) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		if toks[j].kind != tPunct {
			continue
		}
		switch toks[j].text {
		case open:
			depth++
		case shut:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks)
}

// next is the token after toks[i], or a zero token.
func next(toks []token, i int) token {
	if i+1 < len(toks) {
		return toks[i+1]
	}
	return token{kind: -1}
}

func isPunct(t token, text string) bool { return t.kind == tPunct && t.text == text }

// metricsOf calls emit with every metric name toks select.
func metricsOf(toks []token, emit func(string)) {
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch {
		case isPunct(t, "{"):
			end := closing(toks, i, "{", "}")
			matchersOf(toks[i+1:min(end, len(toks))], emit)
			i = end
		case t.kind == tIdent:
			lower := strings.ToLower(t.text)
			n := next(toks, i)
			switch {
			case labelListKeywords[lower]:
				if isPunct(n, "(") {
					i = closing(toks, i+1, "(", ")")
				}
			case keywords[lower]:
			case t.text == "label_values" && isPunct(n, "("):
				// Grafana: label_values(label) or label_values(selector, label).
				end := closing(toks, i+1, "(", ")")
				if args := splitArgs(toks[i+2 : min(end, len(toks))]); len(args) > 1 {
					metricsOf(args[0], emit)
				}
				i = end
			case isPunct(n, "("): // a function or an aggregation
			case aggregations[lower] && n.kind == tIdent &&
				(strings.EqualFold(n.text, "by") || strings.EqualFold(n.text, "without")):
			default:
				emit(t.text)
			}
		}
	}
}

// splitArgs splits toks at the commas outside any brackets.
func splitArgs(toks []token) [][]token {
	var args [][]token
	depth, start := 0, 0
	for j, t := range toks {
		if t.kind != tPunct {
			continue
		}
		switch t.text {
		case "(", "{":
			depth++
		case ")", "}":
			depth--
		case ",":
			if depth == 0 {
				args = append(args, toks[start:j])
				start = j + 1
			}
		}
	}
	return append(args, toks[start:])
}

// matchersOf reads the inside of a {…} selector: a matcher list whose items
// are label op "value", except {"name"} (a quoted metric name) and
// __name__="name".
func matchersOf(toks []token, emit func(string)) {
	for _, item := range splitArgs(toks) {
		switch {
		case len(item) == 1 && item[0].kind == tString:
			emit(item[0].text)
		case len(item) == 3 && item[0].text == "__name__" &&
			(item[0].kind == tIdent || item[0].kind == tString) &&
			isPunct(item[1], "=") && item[2].kind == tString:
			emit(item[2].text)
		}
	}
}
