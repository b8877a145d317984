package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stockagent/pybridge/pybridgetest"
	"stockagent/server/servertest"
)

// The whole command on a tiny configuration: correctness only (every
// back-end gives the embedded interpreter's answers, the files exist and
// parse); the figures of such a short run mean nothing and are not checked.
func TestBenchRunsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains tiny models and starts the server binary")
	}
	python, err := pybridgetest.Python()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := []string{
		"-python", python, "-server", servertest.Binary(t), "-out", out,
		"-iterations", "3", "-subprocess-iterations", "1", "-http-requests", "10",
		"-concurrency", "1,2", "-load-duration", "2s", "-load-rate", "10",
		"-analyses", "1", "-parent-epochs", "1",
	}
	var stdout, stderr bytes.Buffer
	if code := mainCode(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}

	var rep Report
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	got := map[string]int{}
	for _, r := range rep.Results {
		got[r.Workload+" "+r.Backend] = r.Iterations
		if r.Errors != 0 || r.P50 <= 0 || r.Throughput <= 0 {
			t.Errorf("%s through %s: %+v", r.Workload, r.Backend, r)
		}
	}
	want := map[string]int{"http cached server": 10, "http uncached server": 10, "policy gpython": 3}
	for _, wl := range []string{"noop", "features", "forecast", "embed", "policy"} {
		want[wl+" embedded"], want[wl+" worker"] = 3, 3
		if wl != "policy" {
			want[wl+" subprocess"] = 1
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d calls, want %d", k, got[k], n)
		}
	}
	if len(rep.Results) != len(want)+2 { // the HTTP rows come once per concurrency level
		t.Errorf("%d results, want %d", len(rep.Results), len(want)+2)
	}

	// Every other back-end was compared with the embedded interpreter and
	// agreed; the server's count of computed forecasts was checked too.
	compared, counted := map[string]bool{}, map[string]string{}
	for _, c := range rep.Checks {
		if !c.OK {
			t.Errorf("check failed: %+v", c)
		}
		switch {
		case c.Against == "embedded":
			compared[c.Workload+" "+c.Backend] = true
		case c.Backend == "server":
			counted[c.Workload] = c.Detail
		}
	}
	for k := range want {
		if !strings.HasSuffix(k, " embedded") && !compared[k] {
			t.Errorf("%s was not compared with the embedded answer", k)
		}
	}
	// Two concurrency levels of 10 requests each.
	for wl, detail := range map[string]string{"http cached": "ran 0 times for 20 answered", "http uncached": "ran 20 times for 20 answered"} {
		if !strings.Contains(counted[wl], detail) {
			t.Errorf("%s: computed forecasts %q, want %q", wl, counted[wl], detail)
		}
	}

	// Half of 20 load requests bypass the cache, and only those compute.
	if l := rep.Load; l == nil || l.Sent != 20 || l.UncachedSent != 10 || l.ForecastsComputed != 10 || l.Errors != 0 || l.Server.RSSBeforeBytes <= 0 || l.Server.RSSAfterBytes <= 0 {
		t.Errorf("load phase: %+v", rep.Load)
	}

	// The model's raw speed, Redis beside the in-process store, forecasts
	// during a training and an analysis were measured.
	if m := rep.LLM; m == nil || m.PromptTokensPerSecond <= 0 || m.GenerationTokensPerSec <= 0 || m.GeneratedTokens != 64 {
		t.Errorf("llm: %+v", rep.LLM)
	}
	if r := rep.Redis; r == nil || r.InProcess.Throughput <= 0 || r.Redis.Throughput <= 0 || r.Ratio <= 0 {
		t.Errorf("redis: %+v", rep.Redis)
	}
	if tr := rep.Training; tr == nil || tr.DuringRequests == 0 || tr.IdleRequests < tr.DuringRequests || tr.P99Ratio <= 0 || tr.Errors != 0 {
		t.Errorf("training: %+v", rep.Training)
	}
	if a := rep.Analyze; a == nil || a.Analyses != 1 || len(a.CompletionTokens) != 1 || a.CompletionTokens[0] <= 0 || a.FirstToken.P50 <= 0 || a.FirstToken.P50 > a.Latency.P50 {
		t.Errorf("analyze: %+v", rep.Analyze)
	}
	if len(rep.Figures) == 0 {
		t.Error("results.json has no figures")
	}

	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Every figure", "No previous run", "| analyze ", "| training ", "| redis ", "| llm ", "## One call at a time", "| forecast | subprocess | 1 |", "## HTTP", "`Cache-Control: no-cache`", "## Open-loop load", "## Same answers"} {
		if !bytes.Contains(md, []byte(s)) {
			t.Errorf("results.md lacks %q", s)
		}
	}
	checkSVG(t, filepath.Join(out, "latency.svg"), len(rep.Results))
	if !strings.Contains(stdout.String(), filepath.Join(out, "results.json")) {
		t.Errorf("the command did not say where the results went:\n%s", stdout.String())
	}
}

// checkSVG parses an SVG file and counts its bars (rects beyond the
// background and the legend's).
func checkSVG(t *testing.T, path string, bars int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	rects, root := 0, ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s does not parse: %v", path, err)
		}
		if el, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = el.Name.Local
			}
			if el.Name.Local == "rect" {
				rects++
			}
		}
	}
	if root != "svg" || rects != 1+len(backendColors)+bars {
		t.Errorf("%s: root %q, %d rects, want svg and %d", path, root, rects, 1+len(backendColors)+bars)
	}
}

func TestSummarizeTakesNearestRankPercentiles(t *testing.T) {
	var lat []time.Duration
	for i := 100; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	got := summarize(lat)
	if want := (Latency{P50: 50, P95: 95, P99: 99, Max: 100, Mean: 50.5}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := summarize(nil); got != (Latency{}) {
		t.Errorf("no samples: %+v", got)
	}
}

func TestSameJSON(t *testing.T) {
	cases := map[string]struct {
		a, b, wantErr string
	}{
		"equal":              {`{"x":[1,2,{"y":"z"}]}`, `{"x":[1,2,{"y":"z"}]}`, ""},
		"within tolerance":   {`{"v":[0.1234567891,1000000]}`, `{"v":[0.1234567892,1000000.0001]}`, ""},
		"number differs":     {`{"v":[1,2.5]}`, `{"v":[1,2.6]}`, "$.v[1]: 2.5 against 2.6"},
		"string differs":     {`{"t":"AAPL"}`, `{"t":"MSFT"}`, "$.t: AAPL against MSFT"},
		"key missing":        {`{"a":1,"b":2}`, `{"a":1}`, "$.b: missing"},
		"extra key":          {`{"a":1}`, `{"a":1,"b":2}`, "has 2 keys"},
		"array length":       {`[1,2]`, `[1]`, "array of 2 against array of 1"},
		"type differs":       {`{"a":{}}`, `{"a":[]}`, "$.a: object against"},
		"second is not JSON": {`{}`, `{`, "second answer is not JSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := sameJSON([]byte(tc.a), []byte(tc.b))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestLatencySVGDrawsEveryResult(t *testing.T) {
	results := []Result{
		{Workload: "noop", Backend: "embedded", Latency: Latency{P50: 0.007, P99: 0.012}},
		{Workload: "forecast", Backend: "subprocess", Latency: Latency{P50: 3100, P99: 3300}},
		{Workload: "http cached", Backend: "server", Concurrency: 64, Latency: Latency{P50: 2, P99: 9}},
		{Workload: "a <b> & c", Backend: "worker"}, // nothing measured: a label, no bar
	}
	path := filepath.Join(t.TempDir(), "latency.svg")
	if err := os.WriteFile(path, latencySVG(results), 0o644); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, path, 3)
	for _, d := range []struct {
		exp  float64
		want string
	}{{-3, "1 µs"}, {-1, "100 µs"}, {0, "1 ms"}, {4, "10 s"}} {
		if got := decadeLabel(d.exp); got != d.want {
			t.Errorf("decadeLabel(%g) = %q, want %q", d.exp, got, d.want)
		}
	}
}

func TestFlagsAreChecked(t *testing.T) {
	python, err := pybridgetest.Python()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args    []string
		wantErr string
	}{
		"unknown workload":  {[]string{"-workloads", "noop,warp"}, `unknown "warp"`},
		"no analyses":       {[]string{"-analyses", "0"}, "-analyses"},
		"no baseline build": {[]string{"-workloads", "noop", "-baseline", t.TempDir()}, "baseline: "},
		"server workload":   {[]string{"-workloads", "training", "-server", "/nonexistent/server"}, "server binary"},
		"bad concurrency":   {[]string{"-concurrency", "1,0"}, "positive integers"},
		"bad share":         {[]string{"-load-cached-share", "1.5"}, "[0, 1]"},
		"no server binary":  {[]string{"-server", "/nonexistent/server"}, "server binary"},
		"direct calls only": {[]string{"-workloads", "noop, forecast", "-server", "/nonexistent/server"}, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, err := parseFlags(append([]string{"-python", python}, tc.args...), io.Discard)
			if tc.wantErr == "" {
				if err != nil || strings.Join(cfg.Workloads, ",") != "noop,forecast" {
					t.Errorf("got %v, %v", cfg.Workloads, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}
