package deploytest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"stockagent/deploy/deploytest"
)

// The repository's folders, from this package's.
const (
	dashboardsDir = "../grafana/dashboards"
	prometheusDir = "../prometheus"
	metricsSrcDir = "../../server/metrics"
)

func TestExprMetrics(t *testing.T) {
	cases := map[string]struct {
		expr string
		want []string
	}{
		"histogram quantile by le and route": {
			`histogram_quantile(0.99, sum by (le, route) (rate(stockagent_http_request_duration_seconds_bucket[5m])))`,
			[]string{"stockagent_http_request_duration_seconds_bucket"},
		},
		"ignoring and an elided operand": {
			`sum(rate(x_total{a="b"}[1m])) / ignoring(c) sum(...)`,
			[]string{"x_total"},
		},
		"without, bool and a number": {
			`sum without (instance) (rate(a_total[5m])) > bool 0.5`,
			[]string{"a_total"},
		},
		"on and group_left with label lists": {
			`a / on(job, instance) group_left(version) b`,
			[]string{"a", "b"},
		},
		"group_left without a label list": {
			`sum by (kind) (x) / on() group_left sum(y)`,
			[]string{"x", "y"},
		},
		"aggregation with postfix by": {
			`sum(rate(h_sum[5m])) by (lane, function) / sum(rate(h_count[5m])) by (lane, function)`,
			[]string{"h_sum", "h_count"},
		},
		"keywords in any case": {
			`SUM BY (a) (b) AND ON (c) d OR e UNLESS f`,
			[]string{"b", "d", "e", "f"},
		},
		"subquery, offset and @": {
			`max_over_time(redis_up[1h:1m] offset 5m) + x @ start() - y @ 1609746000`,
			[]string{"redis_up", "x", "y"},
		},
		"numbers, Inf and NaN": {
			`1e-3 * foo + Inf - NaN + 0x1F + .5 * bar`,
			[]string{"foo", "bar"},
		},
		"strings that look like queries": {
			`x{a="sum(by) y", b=~'z|w', c!="\"q\""} and label_replace(u, "dst", "$1", "src", "(.*)")`,
			[]string{"x", "u"},
		},
		"__name__ and quoted names": {
			`{__name__="foo", job="a"} + {"my.metric", job="b"} + {"le"="1"}`,
			[]string{"foo", "my.metric"},
		},
		"Grafana variables": {
			`sum by (route) (rate(req_total{route=~"$route", job="${job}"}[$__rate_interval])) * $scale`,
			[]string{"req_total"},
		},
		"label_values with a selector": {
			`label_values(stockagent_http_requests_total{job="stockagent"}, route)`,
			[]string{"stockagent_http_requests_total"},
		},
		"label_values of a label alone": {
			`label_values(route)`,
			nil,
		},
		"absent, vector and time": {
			`absent(up{job="stockagent"}) or vector(0) + time() - process_start_time_seconds`,
			[]string{"up", "process_start_time_seconds"},
		},
		"topk and count_values": {
			`topk(5, count_values("v", build_info)) > quantile(0.9, z)`,
			[]string{"build_info", "z"},
		},
		"comment and repeats": {
			"rate(a[5m]) / rate(a[5m]) # b c\n+ d",
			[]string{"a", "d"},
		},
		"colons in names and ranges": {
			`job:requests:rate5m[10m:30s]`,
			[]string{"job:requests:rate5m"},
		},
		"empty": {``, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := deploytest.ExprMetrics(c.expr); !slices.Equal(got, c.want) {
				t.Errorf("ExprMetrics(%q) = %q, want %q", c.expr, got, c.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	used := map[string][]string{
		"b_total":    {"x.json: B"},
		"a_bucket":   {"x.json: A"},
		"c":          {"y.json: C"},
		"go_threads": {"x.json: T"},
	}
	scraped := map[string]bool{"a_bucket": true, "go_threads": true, "unused": true}
	if got, want := deploytest.Missing(used, scraped), []string{"b_total", "c"}; !slices.Equal(got, want) {
		t.Errorf("Missing = %q, want %q", got, want)
	}
	if got := deploytest.Missing(used, map[string]bool{"a_bucket": true, "b_total": true, "c": true, "go_threads": true}); got != nil {
		t.Errorf("Missing = %q, want none", got)
	}
}

func TestDashboardMetricsPlaces(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.json", `{"title": "A", "panels": [
		{"title": "P1", "targets": [{"expr": "rate(x_total[5m])"}, {"expr": "x_total + y"}]},
		{"title": "Row", "type": "row", "panels": [{"title": "Inner", "targets": [{"expr": "z"}]}]}],
		"templating": {"list": [
			{"name": "v", "type": "query", "query": {"query": "label_values(w, route)"}},
			{"name": "old", "type": "query", "query": "label_values(q, route)"},
			{"name": "c", "type": "custom", "query": "not_a_metric"}]}}`)
	write("sub/b.json", `{"panels": [{"title": "P2", "targets": [{"expr": "x_total"}]}]}`)
	write("notes.txt", `not json`)

	got, err := deploytest.DashboardMetrics(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"x_total": {"a.json: P1", filepath.Join("sub", "b.json") + ": P2"},
		"y":       {"a.json: P1"},
		"z":       {"a.json: Inner"},
		"w":       {"a.json: variable v"},
		"q":       {"a.json: variable old"},
	}
	if len(got) != len(want) {
		t.Errorf("DashboardMetrics = %q, want %q", got, want)
	}
	for name, places := range want {
		if !slices.Equal(got[name], places) {
			t.Errorf("DashboardMetrics[%q] = %q, want %q", name, got[name], places)
		}
	}

	write("bad.json", `{"panels": [`)
	if _, err := deploytest.DashboardMetrics(dir); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("DashboardMetrics with a broken file: error %v, want one naming bad.json", err)
	}
	if _, err := deploytest.DashboardMetrics(t.TempDir()); err == nil {
		t.Error("DashboardMetrics of an empty folder: no error")
	}
}

// The dashboards the deployment provisions, each for one part of the service.
var wantDashboards = []string{"service.json", "predictions.json", "bridge.json", "training.json", "drift.json"}

type gridPos struct{ H, W, X, Y int }

type panelJSON struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	GridPos    *gridPos
	Datasource *struct{ Type, UID string } `json:"datasource"`
	Targets    []struct {
		RefID      string                      `json:"refId"`
		Expr       string                      `json:"expr"`
		Datasource *struct{ Type, UID string } `json:"datasource"`
	} `json:"targets"`
}

type dashboardJSON struct {
	UID           string      `json:"uid"`
	Title         string      `json:"title"`
	SchemaVersion int         `json:"schemaVersion"`
	Panels        []panelJSON `json:"panels"`
}

// TestDashboardsValid checks that every dashboard is Grafana dashboard JSON
// as provisioned: a unique uid and title, panels of known types on the
// Prometheus data source, each with queries.
func TestDashboardsValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, w := range wantDashboards {
		if !slices.Contains(names, w) {
			t.Errorf("no dashboard %s in %s", w, dashboardsDir)
		}
	}
	uids, titles := map[string]string{}, map[string]string{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var db dashboardJSON
			if err := json.Unmarshal(data, &db); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if db.UID == "" || len(db.UID) > 40 || db.Title == "" {
				t.Errorf("uid %q, title %q: want both, the uid at most 40 characters", db.UID, db.Title)
			}
			if other, ok := uids[db.UID]; ok {
				t.Errorf("uid %q used by %s too", db.UID, other)
			}
			if other, ok := titles[db.Title]; ok {
				t.Errorf("title %q used by %s too", db.Title, other)
			}
			uids[db.UID], titles[db.Title] = f, f
			if db.SchemaVersion < 36 {
				t.Errorf("schemaVersion %d, want 36 or later", db.SchemaVersion)
			}
			if len(db.Panels) == 0 {
				t.Error("no panels")
			}
			ids := map[int]bool{}
			for _, p := range db.Panels {
				if ids[p.ID] || p.ID == 0 {
					t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
				}
				ids[p.ID] = true
				switch p.Type {
				case "timeseries", "stat", "gauge":
				default:
					t.Errorf("panel %q: type %q, want timeseries, stat or gauge", p.Title, p.Type)
				}
				if p.Title == "" || p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
					t.Errorf("panel %d: title %q, gridPos %+v: want a title and a position within 24 columns", p.ID, p.Title, p.GridPos)
				}
				if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "prometheus" {
					t.Errorf("panel %q: datasource %+v, want prometheus/prometheus", p.Title, p.Datasource)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q: no targets", p.Title)
				}
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" || refs[tg.RefID] {
						t.Errorf("panel %q: target %q with expr %q: want an expr and a unique refId", p.Title, tg.RefID, tg.Expr)
					}
					refs[tg.RefID] = true
					if len(deploytest.ExprMetrics(tg.Expr)) == 0 {
						t.Errorf("panel %q: expr %q queries no metric", p.Title, tg.Expr)
					}
					if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") ||
						strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") ||
						strings.Count(tg.Expr, "[") != strings.Count(tg.Expr, "]") {
						t.Errorf("panel %q: expr %q: unbalanced brackets", p.Title, tg.Expr)
					}
				}
			}
		})
	}
}

// definedMetrics returns every series name the service can export
// (deploytest.DefinedMetrics).
func definedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	defined, err := deploytest.DefinedMetrics(metricsSrcDir)
	if err != nil {
		t.Fatal(err)
	}
	return defined
}

// TestDashboardMetricsDefined fails when a dashboard queries a metric the
// service does not define. The end-to-end test checks the same against a
// live /metrics.
func TestDashboardMetricsDefined(t *testing.T) {
	used, err := deploytest.DashboardMetrics(dashboardsDir)
	if err != nil {
		t.Fatal(err)
	}
	defined := definedMetrics(t)
	for _, name := range deploytest.Missing(used, defined) {
		t.Errorf("%s is not a metric of the service; used by %s", name, strings.Join(used[name], "; "))
	}
	// Every dashboard contributes, and the names docs/api.md keeps are shown
	// (redis_up as stockagent_redis_up, the name no Redis exporter shares).
	files := map[string]bool{}
	for _, places := range used {
		for _, p := range places {
			files[strings.SplitN(p, ":", 2)[0]] = true
		}
	}
	for _, d := range wantDashboards {
		if !files[d] {
			t.Errorf("%s queries no metric", d)
		}
	}
	for _, n := range []string{"prediction_total", "prediction_latency_seconds_bucket", "training_status", "training_duration_seconds_bucket", "stockagent_redis_up"} {
		if len(used[n]) == 0 {
			t.Errorf("no dashboard shows %s", n)
		}
	}
}

// TestDefinedMetrics checks the names read from server/metrics: the kept
// names, those under the prefix, histograms' series and the standard
// collectors' are there, names never declared are not, and a folder whose
// source declares none of the kept names is refused.
func TestDefinedMetrics(t *testing.T) {
	defined := definedMetrics(t)
	for _, n := range []string{
		"prediction_total", "prediction_latency_seconds_bucket", "training_duration_seconds_sum", "redis_up",
		"stockagent_redis_up", "stockagent_http_requests_total", "stockagent_http_request_duration_seconds_count",
		"stockagent_bridge_busy_workers", "stockagent_drift_health_level", "stockagent_llm_tokens_total",
		"go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total",
	} {
		if !defined[n] {
			t.Errorf("DefinedMetrics lacks %s", n)
		}
	}
	for _, n := range []string{"prediction_total_bucket", "stockagent_tasks_count", "up", "Name"} {
		if defined[n] {
			t.Errorf("DefinedMetrics holds %s, which the service never exports", n)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.go"), []byte(`package m

var x = prometheus.NewGauge(prometheus.GaugeOpts{Name: "something_else"})
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := deploytest.DefinedMetrics(dir); err == nil || !strings.Contains(err.Error(), "prediction_total") {
		t.Errorf("DefinedMetrics of source without the kept names: error %v, want one naming prediction_total", err)
	}
	if _, err := deploytest.DefinedMetrics(t.TempDir()); err == nil {
		t.Error("DefinedMetrics of an empty folder: no error")
	}
}

// TestPrometheusConfig checks, without a YAML parser, the points the compose
// file relies on: the service's target and path, the interval and the rules.
func TestPrometheusConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(prometheusDir, "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"job_name: stockagent", "metrics_path: /metrics", `targets: ["app:8000"]`,
		"scrape_interval: 15s", "job_name: prometheus", `targets: ["localhost:9090"]`,
		"rule_files:\n  - alerts.yml",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("prometheus.yml lacks %q", want)
		}
	}
}
