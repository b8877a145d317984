package deploytest_test

import (
	"slices"
	"strings"
	"testing"

	"stockagent/deploy/deploytest"
)

func TestParseDockerfile(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
# A comment.
ARG BASE=debian:12 TAG="1.2"
ARG UNUSED

FROM ${BASE} AS Build
RUN --mount=type=cache,target=/root/.cache apt-get update \
    # dropped, as Docker drops it
 && apt-get install -y make \

 && true
COPY --from=go /usr/local/go /usr/local/go

FROM example/app:$TAG
copy --from=build --chown=1:1 /out /out
USER 10001
`
	stages, err := deploytest.ParseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 {
		t.Fatalf("%d stages, want 2: %+v", len(stages), stages)
	}
	build, app := stages[0], stages[1]
	if build.Name != "build" || build.Image != "debian:12" || build.Line != 6 {
		t.Errorf("first stage %q from %q at line %d, want build from debian:12 at line 6", build.Name, build.Image, build.Line)
	}
	if app.Name != "" || app.Image != "example/app:1.2" {
		t.Errorf("second stage %q from %q, want an unnamed stage from example/app:1.2", app.Name, app.Image)
	}
	runs := build.Find("RUN")
	if len(runs) != 1 || runs[0].Line != 7 || !slices.Equal(runs[0].Flags, []string{"--mount=type=cache,target=/root/.cache"}) {
		t.Fatalf("RUN = %+v, want one at line 7 with its --mount", runs)
	}
	if got, want := strings.Join(strings.Fields(runs[0].Args), " "), "apt-get update && apt-get install -y make && true"; got != want {
		t.Errorf("RUN args %q, want %q", got, want)
	}
	copies := app.Find("COPY")
	if len(copies) != 1 || copies[0].Args != "/out /out" {
		t.Fatalf("COPY = %+v, want one copying /out /out (keywords in any case)", copies)
	}
	if from, ok := copies[0].Flag("from"); !ok || from != "build" {
		t.Errorf("COPY --from = %q, %v; want build", from, ok)
	}
	if _, ok := copies[0].Flag("link"); ok {
		t.Error("COPY has no --link, Flag says it has")
	}
	if users := app.Find("USER"); len(users) != 1 || users[0].Args != "10001" {
		t.Errorf("USER = %+v, want 10001", users)
	}
}

func TestParseDockerfileRefuses(t *testing.T) {
	cases := map[string]struct{ src, want string }{
		"no FROM":                {"# nothing\n", "no FROM"},
		"instruction before":     {"RUN true\nFROM a:1\n", "RUN before the first FROM"},
		"undeclared ARG":         {"FROM ${IMAGE}\n", "no default for [IMAGE]"},
		"ARG without default":    {"ARG IMAGE\nFROM $IMAGE\n", "no default for [IMAGE]"},
		"other substitution":     {"ARG A=x\nFROM ${A:-y}\n", "no default"},
		"escape directive":       {"# escape=`\nFROM a:1\n", "escape directive"},
		"heredoc":                {"FROM a:1\nRUN <<EOF\necho hi\nEOF\n", "heredocs"},
		"FROM with extra fields": {"FROM a:1 AS b c\n", "want an image and an optional AS name"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := deploytest.ParseDockerfile(c.src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
