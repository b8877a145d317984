package policy

import "strings"

// logicalLine is one statement of a policy file: a physical line, or several
// joined because brackets, a triple-quoted string or a trailing backslash
// were still open at the end of the first.
type logicalLine struct {
	line int    // 1-based number of its first physical line
	text string // the physical lines joined with "\n", comments kept
}

// splitLines cuts src into logical lines, skipping blank and comment-only
// lines. It tracks just enough of Python's lexer (brackets, quotes, escapes,
// comments) to know where a statement ends; everything else is left to the
// parser, which reports its own errors. A line that starts indented outside a
// statement is refused here, since the parser would see it out of context.
func splitLines(src string) ([]logicalLine, *LoadError) {
	var (
		out   []logicalLine
		cur   []string
		start int
		depth int    // open brackets
		quote string // open string delimiter: ', ", ''' or """
	)
	phys := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i, line := range phys {
		n := i + 1
		if cur == nil {
			trimmed := strings.TrimSpace(line)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			if line[0] == ' ' || line[0] == '\t' {
				return nil, &LoadError{Line: n, Reason: "unexpected indentation: a rule starts at the beginning of its line"}
			}
			start = n
		}
		cur = append(cur, line)
		continued := false
	scan:
		for j := 0; j < len(line); j++ {
			c := line[j]
			if quote != "" {
				switch {
				case c == '\\':
					j++ // skip the escaped character
				case strings.HasPrefix(line[j:], quote):
					j += len(quote) - 1
					quote = ""
				}
				continue
			}
			switch c {
			case '#':
				break scan
			case '\'', '"':
				quote = string(c)
				if strings.HasPrefix(line[j:], strings.Repeat(quote, 3)) {
					quote = strings.Repeat(quote, 3)
					j += 2
				}
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				depth--
			case '\\':
				if j == len(line)-1 {
					continued = true
				}
			}
		}
		if len(quote) == 1 {
			quote = "" // an unterminated short string: the parser says so
		}
		if depth > 0 || len(quote) == 3 || continued {
			continue
		}
		out = append(out, logicalLine{line: start, text: strings.Join(cur, "\n")})
		cur, depth = nil, 0
	}
	if cur != nil { // the file ended inside brackets or a string
		out = append(out, logicalLine{line: start, text: strings.Join(cur, "\n")})
	}
	return out, nil
}
