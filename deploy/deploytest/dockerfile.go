package deploytest

import (
	"fmt"
	"regexp"
	"strings"
)

// Instruction is one Dockerfile instruction, its continuation lines joined.
type Instruction struct {
	Line  int      // where it starts, from 1
	Cmd   string   // the keyword in upper case: FROM, RUN, COPY, …
	Flags []string // the leading options as written, e.g. "--from=build"
	Args  string   // the rest, as written
}

// Stage is a build stage: the FROM that opens it and the instructions under it.
type Stage struct {
	Name         string // the name after AS, in lower case; "" for an unnamed stage
	Image        string // the FROM image, global ARGs' defaults substituted
	Line         int    // the FROM's line
	Instructions []Instruction
}

// Find returns the stage's instructions with keyword cmd (upper case).
func (s Stage) Find(cmd string) []Instruction {
	var found []Instruction
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			found = append(found, in)
		}
	}
	return found
}

// Flag returns the value of the option --name=value, and whether it is there.
func (in Instruction) Flag(name string) (string, bool) {
	for _, f := range in.Flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

var (
	argRef  = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	heredoc = regexp.MustCompile(`<<-?["']?[A-Za-z]`)
)

// ParseDockerfile splits a Dockerfile into its stages. It reads what our
// Dockerfiles use: comments and parser directives (skipped), instructions
// continued over lines ending in a backslash (joined with a space; comment and
// blank lines inside them are dropped, as Docker drops them), leading
// --options, and ARGs
// declared before the first FROM, whose defaults replace $NAME and ${NAME} in
// FROM lines. It refuses what it does not read (the escape directive,
// heredocs, other substitution forms) rather than misread it.
func ParseDockerfile(src string) ([]Stage, error) {
	lines := strings.Split(src, "\n")
	var instructions []Instruction
	for i := 0; i < len(lines); i++ {
		text := strings.TrimSpace(lines[i])
		if text == "" || strings.HasPrefix(text, "#") {
			if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(text, " ", "")), "#escape=") && len(instructions) == 0 {
				return nil, fmt.Errorf("deploytest: line %d: the escape directive is not supported", i+1)
			}
			continue
		}
		start := i
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			text = strings.TrimSuffix(text, `\`)
			for i++; i < len(lines); i++ {
				next := strings.TrimSpace(lines[i])
				if next != "" && !strings.HasPrefix(next, "#") {
					text += " " + next
					break
				}
			}
		}
		in, err := parseInstruction(text, start+1)
		if err != nil {
			return nil, err
		}
		instructions = append(instructions, in)
	}

	args := map[string]string{}
	var stages []Stage
	for _, in := range instructions {
		switch {
		case in.Cmd == "FROM":
			st, err := parseFrom(in, args)
			if err != nil {
				return nil, err
			}
			stages = append(stages, st)
		case len(stages) > 0:
			stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, in)
		case in.Cmd == "ARG":
			for _, decl := range strings.Fields(in.Args) {
				name, value, _ := strings.Cut(decl, "=")
				args[name] = strings.Trim(value, `"'`)
			}
		default:
			return nil, fmt.Errorf("deploytest: line %d: %s before the first FROM", in.Line, in.Cmd)
		}
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("deploytest: no FROM")
	}
	return stages, nil
}

func parseInstruction(text string, line int) (Instruction, error) {
	cmd, rest, _ := strings.Cut(text, " ")
	in := Instruction{Line: line, Cmd: strings.ToUpper(cmd)}
	rest = strings.TrimSpace(rest)
	for strings.HasPrefix(rest, "--") {
		flag, after, _ := strings.Cut(rest, " ")
		in.Flags = append(in.Flags, flag)
		rest = strings.TrimSpace(after)
	}
	in.Args = rest
	if (in.Cmd == "RUN" || in.Cmd == "COPY") && heredoc.MatchString(rest) {
		return in, fmt.Errorf("deploytest: line %d: heredocs are not supported", line)
	}
	return in, nil
}

func parseFrom(in Instruction, args map[string]string) (Stage, error) {
	f := strings.Fields(in.Args)
	st := Stage{Line: in.Line}
	switch {
	case len(f) == 1:
	case len(f) == 3 && strings.EqualFold(f[1], "AS"):
		st.Name = strings.ToLower(f[2])
	default:
		return st, fmt.Errorf("deploytest: line %d: FROM %s: want an image and an optional AS name", in.Line, in.Args)
	}
	var missing []string
	st.Image = argRef.ReplaceAllStringFunc(f[0], func(ref string) string {
		m := argRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		v, ok := args[name]
		if !ok || v == "" {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 || strings.Contains(st.Image, "$") {
		return st, fmt.Errorf("deploytest: line %d: FROM %s: no default for %v before the first FROM", in.Line, f[0], missing)
	}
	return st, nil
}
