// Package deploytest checks the monitoring configuration in deploy/ against
// the metrics the service exports: which metric names the Grafana dashboards
// query (DashboardMetrics, ExprMetrics), which the service declares
// (DefinedMetrics) and which of them a /metrics page lacks (Missing).
//
// A check against a live service takes three calls:
//
//	used, err := deploytest.DashboardMetrics("deploy/grafana/dashboards")
//	page, err := scrape.Parse(…) // GET /metrics, stockagent/server/metrics/scrape
//	if missing := deploytest.Missing(used, page.Names()); len(missing) > 0 { … }
//
// used[name] says which dashboards and panels query each missing name.
package deploytest

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"stockagent/server/metrics/scrape"
)

// dashboard is the part of a Grafana dashboard's JSON that holds queries.
type dashboard struct {
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row holds its panels
}

type variable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"` // a string, or {"query": "…"} in recent Grafana
}

// query is the PromQL of a query variable, or "".
func (v variable) query() string {
	if v.Type != "query" || len(v.Query) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &o) == nil {
		return o.Query
	}
	return ""
}

// Query is one query of a dashboard: a panel target's expr (PromQL with
// Grafana's variables) or a query variable's (label_values(…) and the like).
type Query struct {
	Place    string // "file: panel title", or "file: variable name"; file relative to the folder
	Expr     string
	Variable bool // a query variable's, which Grafana reads, not Prometheus
}

// DashboardQueries reads every Grafana dashboard (*.json) under dir, at any
// depth, and returns their queries: every panel target's (collapsed rows'
// panels included) and every query variable's, in file order.
//
// A file that cannot be read or is not JSON is an error naming the file; no
// dashboard under dir is an error too.
func DashboardQueries(dir string) ([]Query, error) {
	var queries []Query
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var db dashboard
		if err := json.Unmarshal(data, &db); err != nil {
			return fmt.Errorf("deploytest: dashboard %s: %w", path, err)
		}
		files++
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			rel = path
		}
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				for _, t := range p.Targets {
					queries = append(queries, Query{Place: rel + ": " + p.Title, Expr: t.Expr})
				}
				walk(p.Panels)
			}
		}
		walk(db.Panels)
		for _, v := range db.Templating.List {
			if q := v.query(); q != "" {
				queries = append(queries, Query{Place: rel + ": variable " + v.Name, Expr: q, Variable: true})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if files == 0 {
		return nil, fmt.Errorf("deploytest: no dashboard (*.json) under %s", dir)
	}
	return queries, nil
}

// DashboardMetrics returns each metric name the queries of the dashboards
// under dir select (DashboardQueries, ExprMetrics) with the places that use
// it, sorted. Names are as written: a histogram appears as name_bucket,
// name_sum or name_count. It fails as DashboardQueries does.
func DashboardMetrics(dir string) (map[string][]string, error) {
	queries, err := DashboardQueries(dir)
	if err != nil {
		return nil, err
	}
	used := map[string][]string{}
	for _, q := range queries {
		for _, name := range ExprMetrics(q.Expr) {
			if !slices.Contains(used[name], q.Place) {
				used[name] = append(used[name], q.Place)
			}
		}
	}
	for _, places := range used {
		sort.Strings(places)
	}
	return used, nil
}

// Missing returns, sorted, the names dashboards use (DashboardMetrics) that
// scraped (the names a /metrics page holds, scrape.Page.Names) lacks.
func Missing(dashboards map[string][]string, scraped map[string]bool) []string {
	var missing []string
	for name := range dashboards {
		if !scraped[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	return missing
}

// DefinedMetrics returns the name of every series the service can export:
// the metrics declared in the Go source of srcDir, the server/metrics folder
// (Name: "…" in prometheus.*Opts, with _bucket, _sum and _count for
// histograms and _sum and _count for summaries), and those of the Go runtime
// and process collectors it registers, as a registry of those collectors
// exports them. It fails when the source yields none of the names the old
// service's dashboards query (docs/api.md), as when the declarations changed
// shape.
func DefinedMetrics(srcDir string) (map[string]bool, error) {
	files, err := filepath.Glob(filepath.Join(srcDir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("deploytest: %s: %w", srcDir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("deploytest: no Go source in %s", srcDir)
	}
	defined := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, m := range metricOpts.FindAllStringSubmatch(string(src), -1) {
			kind, name := m[1], m[2]
			defined[name] = true
			switch kind {
			case "Histogram":
				defined[name+"_bucket"], defined[name+"_sum"], defined[name+"_count"] = true, true, true
			case "Summary":
				defined[name+"_sum"], defined[name+"_count"] = true, true
			}
		}
	}
	for _, n := range []string{"prediction_total", "prediction_latency_seconds_bucket", "training_status", "training_duration_seconds_count", "redis_up"} {
		if !defined[n] {
			return nil, fmt.Errorf("deploytest: %s not found in %s: the metrics' declarations changed shape", n, srcDir)
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	families, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("deploytest: the standard collectors: %w", err)
	}
	page := scrape.Page{}
	for _, f := range families {
		page[f.GetName()] = f
	}
	maps.Copy(defined, page.Names())
	return defined, nil
}

// metricOpts matches a metric's declaration: its kind and name.
var metricOpts = regexp.MustCompile(`prometheus\.(Counter|Gauge|Histogram|Summary)Opts\{[^}]*?\bName:\s*"([^"]+)"`)
