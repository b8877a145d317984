package rulecheck_test

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"stockagent/deploy/deploytest"
)

// The repository's files, from this package's folder.
const (
	alertsFile    = "../../prometheus/alerts.yml"
	dashboardsDir = "../../grafana/dashboards"
	metricsSrcDir = "../../../server/metrics"
)

var promql = parser.NewParser(parser.Options{})

// checkRules does what promtool check rules does with a rule file: parse it
// strictly (unknown fields are errors), validate every group and rule (names,
// labels, the PromQL of every expr, the templates of labels and annotations),
// and refuse a rule name used twice in a group with the same labels. Names
// are held to the classic character set, which every Prometheus version
// accepts.
func checkRules(data []byte) (*rulefmt.RuleGroups, []error) {
	groups, errs := rulefmt.Parse(data, false, model.LegacyValidation, promql, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if groups == nil {
		return nil, errs
	}
	for _, g := range groups.Groups {
		seen := map[string]bool{}
		for _, r := range g.Rules {
			key := r.Alert + r.Record + fmt.Sprint(labels.FromMap(r.Labels))
			if seen[key] {
				errs = append(errs, fmt.Errorf("group %q: rule %q repeated with the same labels", g.Name, r.Alert+r.Record))
			}
			seen[key] = true
		}
	}
	return groups, errs
}

// selected returns, sorted, the metric names the vector selectors of expr
// name, as name or as {__name__="name"}.
func selected(expr parser.Expr) []string {
	names := map[string]bool{}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if vs.Name != "" {
			names[vs.Name] = true
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				names[m.Value] = true
			}
		}
		return nil
	})
	return slices.Sorted(maps.Keys(names))
}

func definedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	defined, err := deploytest.DefinedMetrics(metricsSrcDir)
	if err != nil {
		t.Fatal(err)
	}
	return defined
}

// TestAlertRules checks alerts.yml as promtool check rules does, then that
// each alert queries only metrics the service exports (up, which Prometheus
// makes for every target, aside), carries a known severity and says what
// fired, and that the points that matter are alerted on.
func TestAlertRules(t *testing.T) {
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := checkRules(data)
	for _, err := range errs {
		t.Errorf("alerts.yml: %v", err)
	}
	if groups == nil || len(groups.Groups) == 0 {
		t.Fatal("alerts.yml: no rule groups")
	}
	defined := definedMetrics(t)
	defined["up"] = true
	alerted := map[string]bool{}
	rules := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			rules++
			if r.Alert == "" {
				t.Errorf("group %q: a recording rule (%s); alerts.yml holds alerts only", g.Name, r.Record)
			}
			expr, err := promql.ParseExpr(r.Expr)
			if err != nil {
				continue // reported by checkRules
			}
			names := selected(expr)
			if len(names) == 0 {
				t.Errorf("%s: expr %q queries no metric", r.Alert, r.Expr)
			}
			for _, n := range names {
				alerted[n] = true
				if !defined[n] {
					t.Errorf("%s: expr %q: %s is not a metric of the service", r.Alert, r.Expr, n)
				}
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
		}
	}
	if rules < 5 {
		t.Errorf("%d alerts in alerts.yml, want at least 5", rules)
	}
	for _, n := range []string{"up", "stockagent_drift_health_level", "stockagent_trainings_total", "stockagent_http_request_duration_seconds_bucket", "stockagent_redis_up"} {
		if !alerted[n] {
			t.Errorf("no alert on %s", n)
		}
	}
	// A Redis exporter scraped by the same Prometheus exports a redis_up of
	// its own, which an alert on redis_up would mix in.
	if alerted["redis_up"] {
		t.Error("an alert queries redis_up; use stockagent_redis_up")
	}
}

// TestCheckRulesFindsErrors feeds checkRules broken rule files: each must be
// refused, and a sound one accepted.
func TestCheckRulesFindsErrors(t *testing.T) {
	rule := func(body string) string {
		return "groups:\n  - name: g\n    rules:\n" + body
	}
	const sound = "      - alert: A\n        expr: up == 0\n        labels:\n          severity: critical\n        annotations:\n          summary: \"{{ $labels.instance }} down\"\n"
	if _, errs := checkRules([]byte(rule(sound))); len(errs) > 0 {
		t.Fatalf("a sound rule file: %v", errs)
	}
	for name, data := range map[string]string{
		"PromQL that does not parse": rule("      - alert: A\n        expr: sum(rate(x[5m])\n"),
		"an unknown function":        rule("      - alert: A\n        expr: rated(x[5m]) > 0\n"),
		"a misspelt field":           rule("      - alert: A\n        exprr: up == 0\n"),
		"no expr":                    rule("      - alert: A\n        for: 5m\n"),
		"a broken template":          rule("      - alert: A\n        expr: up == 0\n        annotations:\n          summary: \"{{ $labels.instance \"\n"),
		"alert and record at once":   rule("      - alert: A\n        record: a:b\n        expr: up\n"),
		"an invalid label name":      rule("      - alert: A\n        expr: up == 0\n        labels:\n          bad-name: x\n"),
		"a repeated rule":            rule(sound + sound),
		"a group without a name":     "groups:\n  - rules:\n" + sound,
		"not YAML":                   "groups: [",
	} {
		if _, errs := checkRules([]byte(data)); len(errs) == 0 {
			t.Errorf("%s: no error", name)
		}
	}
}

// grafanaIntervals replaces the interval variables Grafana fills in before it
// sends a query, so that a panel's expr parses as PromQL.
var grafanaIntervals = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// TestDashboardQueries parses every panel's expr, Grafana's interval
// variables filled in, with Prometheus' parser: it must parse, select only
// metrics the service exports (or Prometheus' up), and select the names
// deploytest.ExprMetrics reads from it, which the dashboards' other checks
// and the end-to-end test rely on.
func TestDashboardQueries(t *testing.T) {
	queries, err := deploytest.DashboardQueries(dashboardsDir)
	if err != nil {
		t.Fatal(err)
	}
	defined := definedMetrics(t)
	defined["up"] = true
	panels := 0
	for _, q := range queries {
		if q.Variable { // label_values(…) is Grafana's, not PromQL
			continue
		}
		panels++
		expr, err := promql.ParseExpr(grafanaIntervals.Replace(q.Expr))
		if err != nil {
			t.Errorf("%s: %q: %v", q.Place, q.Expr, err)
			continue
		}
		names := selected(expr)
		for _, n := range names {
			if !defined[n] {
				t.Errorf("%s: %s is not a metric of the service", q.Place, n)
			}
		}
		if read := slices.Sorted(slices.Values(deploytest.ExprMetrics(q.Expr))); !slices.Equal(read, names) {
			t.Errorf("%s: %q: ExprMetrics reads %q, the parser %q", q.Place, q.Expr, read, names)
		}
	}
	if panels < 20 {
		t.Errorf("%d panel queries, want every panel's", panels)
	}
}

// TestSelected checks the names read from parsed expressions on the forms
// the rules and dashboards use.
func TestSelected(t *testing.T) {
	for expr, want := range map[string][]string{
		`up{job="stockagent"} == 0`: {"up"},
		`histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{route!~"x"}[5m]))) > 2.5`: {"a_bucket"},
		`(sum(rate(b_total{code=~"5.."}[5m])) / sum(rate(b_total[5m]))) > 0.05`:               {"b_total"},
		`{__name__="c", job="x"} + on() group_left() d offset 5m`:                             {"c", "d"},
		`vector(1)`: nil,
	} {
		e, err := promql.ParseExpr(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if got := selected(e); !slices.Equal(got, want) {
			t.Errorf("selected(%q) = %q, want %q", expr, got, want)
		}
	}
	if _, err := promql.ParseExpr("sum(("); err == nil {
		t.Error("the parser accepts sum((")
	}
}
