package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"stockagent/pybridge"
	"stockagent/server/metrics"
	"stockagent/server/metrics/scrape"
	"stockagent/server/pyapi"
)

// newMetrics makes a Metrics on a fresh pedantic registry, which checks the
// consistency of what it gathers.
func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	return metrics.New(reg), reg
}

// getMetrics serves m's handler on GET /metrics of a fresh app, requests it and
// parses the page.
func getMetrics(t *testing.T, m *metrics.Metrics) scrape.Page {
	t.Helper()
	app := fiber.New()
	app.Get("/metrics", m.Handler())
	resp, err := app.Test(httptest.NewRequest(fiber.MethodGet, "/metrics", nil), -1)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != fiber.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get(fiber.HeaderContentType); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type %q, want text/plain", ct)
	}
	p, err := scrape.Parse(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return p
}

// wantSamples fails for every sample of want, "series value" as the text
// format writes it, that got lacks or holds with another value.
func wantSamples(t *testing.T, got scrape.Page, want ...string) {
	t.Helper()
	for _, w := range want {
		i := strings.LastIndexByte(w, ' ')
		wantValue, err := strconv.ParseFloat(w[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("want %q: not a sample", w)
		}
		if v, ok := got.Value(w[:i]); !ok {
			t.Errorf("/metrics lacks %s", w[:i])
		} else if v != wantValue {
			t.Errorf("/metrics: %s is %v, want %v", w[:i], v, wantValue)
		}
	}
}

func TestMethodsExportSeries(t *testing.T) {
	pyCancelled := &pybridge.PyError{Func: "m:f", Type: string(pyapi.ErrCancelled), Message: "cancelled"}
	cases := map[string]struct {
		record func(m *metrics.Metrics)
		want   []string
	}{
		"prediction ok": {
			func(m *metrics.Metrics) { m.Prediction("child", 3*time.Millisecond, nil) },
			[]string{
				`prediction_total{type="child"} 1`,
				`prediction_latency_seconds_count{type="child"} 1`,
				`prediction_latency_seconds_bucket{type="child",le="0.005"} 1`,
				`prediction_latency_seconds_bucket{type="child",le="0.0025"} 0`,
				`stockagent_prediction_errors_total{type="child"} 0`,
			},
		},
		"prediction error": {
			func(m *metrics.Metrics) { m.Prediction("batch", time.Second, errors.New("boom")) },
			[]string{`prediction_total{type="batch"} 1`, `stockagent_prediction_errors_total{type="batch"} 1`},
		},
		"prediction of an unknown type": {
			func(m *metrics.Metrics) { m.Prediction("AAPL", time.Millisecond, nil) },
			[]string{`prediction_total{type="other"} 1`},
		},
		"cache hit": {
			func(m *metrics.Metrics) { m.CacheHit("semantic") },
			[]string{`stockagent_cache_requests_total{cache="semantic",result="hit"} 1`},
		},
		"cache miss": {
			func(m *metrics.Metrics) { m.CacheMiss("prediction"); m.CacheMiss("news") },
			[]string{
				`stockagent_cache_requests_total{cache="prediction",result="miss"} 1`,
				`stockagent_cache_requests_total{cache="news",result="miss"} 1`,
			},
		},
		"unknown cache": {
			func(m *metrics.Metrics) { m.CacheHit("predict_child_AAPL") },
			[]string{`stockagent_cache_requests_total{cache="other",result="hit"} 1`},
		},
		"first level": {
			func(m *metrics.Metrics) {
				m.LocalCache("hit")
				m.LocalCache("down")
				m.LocalCache("predict_child_AAPL")
				m.LocalInvalidated("notice")
				m.LocalLive(true)
				m.FlightJoined("process")
				m.FlightJoined("replica")
			},
			[]string{
				`stockagent_prediction_local_requests_total{result="hit"} 1`,
				`stockagent_prediction_local_requests_total{result="miss"} 0`,
				`stockagent_prediction_local_requests_total{result="down"} 1`,
				`stockagent_prediction_local_requests_total{result="other"} 1`,
				`stockagent_prediction_local_invalidations_total{reason="notice"} 1`,
				`stockagent_prediction_local_invalidations_total{reason="lost"} 0`,
				`stockagent_prediction_local_up 1`,
				`stockagent_prediction_flights_joined_total{scope="process"} 1`,
				`stockagent_prediction_flights_joined_total{scope="replica"} 1`,
			},
		},
		"training started": {
			func(m *metrics.Metrics) { m.TrainingStarted("parent") },
			[]string{`training_status{kind="parent"} 1`, `training_status{kind="child"} 0`},
		},
		"training completed": {
			func(m *metrics.Metrics) {
				m.TrainingStarted("child")
				m.TrainingFinished("child", 90*time.Second, "completed", 0.25)
			},
			[]string{
				`training_status{kind="child"} 2`,
				`training_duration_seconds_count{kind="child"} 1`,
				`training_duration_seconds_sum{kind="child"} 90`,
				`stockagent_training_last_val_loss{kind="child"} 0.25`,
				`stockagent_trainings_total{kind="child",status="completed"} 1`,
			},
		},
		"training failed": {
			func(m *metrics.Metrics) {
				m.TrainingStarted("parent")
				m.TrainingFinished("parent", time.Hour, "failed", math.NaN())
			},
			[]string{`training_status{kind="parent"} 3`, `stockagent_trainings_total{kind="parent",status="failed"} 1`},
		},
		"training cancelled": {
			func(m *metrics.Metrics) {
				m.TrainingStarted("parent")
				m.TrainingFinished("parent", time.Minute, "cancelled", 0.5)
			},
			[]string{`training_status{kind="parent"} 4`, `stockagent_trainings_total{kind="parent",status="cancelled"} 1`},
		},
		"training still running beside a finished one": {
			func(m *metrics.Metrics) {
				m.TrainingStarted("child")
				m.TrainingStarted("child")
				m.TrainingFinished("child", time.Minute, "completed", 0.1)
			},
			[]string{`training_status{kind="child"} 1`},
		},
		"task queue": {
			func(m *metrics.Metrics) { m.TaskQueue(3, 4) },
			[]string{`stockagent_tasks{state="queued"} 3`, `stockagent_tasks{state="running"} 4`},
		},
		"redis up": {
			func(m *metrics.Metrics) { m.RedisUp(true) },
			[]string{`redis_up 1`, `stockagent_redis_up 1`},
		},
		"redis down": {
			func(m *metrics.Metrics) { m.RedisUp(true); m.RedisUp(false) },
			[]string{`redis_up 0`, `stockagent_redis_up 0`},
		},
		"rate limited": {
			func(m *metrics.Metrics) { m.RateLimited("training"); m.RateLimited("training") },
			[]string{`stockagent_rate_limited_total{policy="training"} 2`},
		},
		"queue wait": {
			func(m *metrics.Metrics) { m.QueueWait(pybridge.Long, 2*time.Second) },
			[]string{
				`stockagent_bridge_queue_wait_seconds_count{lane="long"} 1`,
				`stockagent_bridge_queue_wait_seconds_sum{lane="long"} 2`,
				`stockagent_bridge_queue_wait_seconds_count{lane="inference"} 0`,
			},
		},
		"bridge call outcomes": {
			func(m *metrics.Metrics) {
				fn := pyapi.FuncPredict
				m.CallDone(pybridge.Inference, fn, 10*time.Millisecond, nil)
				m.CallDone(pybridge.Inference, fn, time.Millisecond, &pybridge.PyError{Type: string(pyapi.ErrNotFound)})
				m.CallDone(pybridge.Inference, fn, time.Millisecond, fmt.Errorf("wrapped: %w", pyCancelled))
				m.CallDone(pybridge.Inference, fn, time.Millisecond, fmt.Errorf("pybridge: not started: %w", context.DeadlineExceeded))
			},
			[]string{
				`stockagent_bridge_calls_total{function="` + pyapi.FuncPredict + `",lane="inference",outcome="ok"} 1`,
				`stockagent_bridge_calls_total{function="` + pyapi.FuncPredict + `",lane="inference",outcome="error"} 1`,
				`stockagent_bridge_calls_total{function="` + pyapi.FuncPredict + `",lane="inference",outcome="cancelled"} 2`,
				`stockagent_bridge_call_duration_seconds_count{function="` + pyapi.FuncPredict + `",lane="inference"} 4`,
			},
		},
		"busy workers": {
			func(m *metrics.Metrics) {
				m.Busy(pybridge.Long, 1)
				m.Busy(pybridge.Long, 1)
				m.Busy(pybridge.Long, -1)
			},
			[]string{`stockagent_bridge_busy_workers{lane="long"} 1`, `stockagent_bridge_busy_workers{lane="inference"} 0`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m, _ := newMetrics(t)
			tc.record(m)
			wantSamples(t, getMetrics(t, m), tc.want...)
		})
	}
}

// TestOldNames checks the names existing dashboards query (docs/api.md) before
// anything happened, with their types, and the Go and process collectors
// beside them.
func TestOldNames(t *testing.T) {
	m, _ := newMetrics(t)
	got := getMetrics(t, m)
	for name, want := range map[string]dto.MetricType{
		"prediction_total":           dto.MetricType_COUNTER,
		"prediction_latency_seconds": dto.MetricType_HISTOGRAM,
		"training_status":            dto.MetricType_GAUGE,
		"training_duration_seconds":  dto.MetricType_HISTOGRAM,
		"redis_up":                   dto.MetricType_GAUGE,
		"stockagent_redis_up":        dto.MetricType_GAUGE,
		"go_goroutines":              dto.MetricType_GAUGE,
		"process_cpu_seconds_total":  dto.MetricType_COUNTER,
	} {
		if f, ok := got[name]; !ok || f.GetType() != want {
			t.Errorf("%s: type %v, want %v", name, f.GetType(), want)
		}
	}
	wantSamples(t, got,
		`prediction_total{type="parent"} 0`,
		`prediction_total{type="child"} 0`,
		`prediction_total{type="batch"} 0`,
		`prediction_latency_seconds_count{type="child"} 0`,
		`training_status{kind="parent"} 0`,
		`training_status{kind="child"} 0`,
		`training_duration_seconds_count{kind="parent"} 0`,
		"redis_up 0",
		"stockagent_redis_up 0",
	)
}

// keptNames are the names without the service's prefix that the old
// service's dashboards query (docs/api.md): they stay as they are.
var keptNames = map[string]bool{
	"prediction_total": true, "prediction_latency_seconds": true, "training_status": true,
	"training_duration_seconds": true, "redis_up": true,
}

// TestNamespace fails for a metric outside the service's namespace
// (stockagent_) other than the kept names and the standard collectors' (go_,
// process_, promhttp_): an unprefixed name may clash with another exporter's.
func TestNamespace(t *testing.T) {
	m, reg := newMetrics(t)
	// Record into the families that have no series until something happens.
	m.Prediction("child", time.Millisecond, errors.New("x"))
	m.TrainingFinished("child", time.Minute, "completed", 0.1)
	m.RateLimited("training")
	m.CallDone(pybridge.Inference, "a:b", time.Millisecond, nil)
	m.LLM(time.Second, 1, 1)
	m.Drift("child", "AAPL", 0.5, "Healthy")
	app := fiber.New()
	app.Use(m.Middleware())
	app.Get("/", func(c *fiber.Ctx) error { return nil })
	resp, err := app.Test(httptest.NewRequest(fiber.MethodGet, "/", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	own := 0
	for _, f := range families {
		name := f.GetName()
		switch {
		case strings.HasPrefix(name, "stockagent_"):
			own++
		case keptNames[name], strings.HasPrefix(name, "go_"), strings.HasPrefix(name, "process_"), strings.HasPrefix(name, "promhttp_"):
		default:
			t.Errorf("%s is outside the stockagent_ namespace", name)
		}
	}
	if own < 19 { // as many as the service had when this test was written
		t.Errorf("%d families under stockagent_, want every metric of the service", own)
	}
}

// TestLint runs promlint over everything registered: the naming conventions
// (units, _total on counters, no reserved names) hold for old and new names.
func TestLint(t *testing.T) {
	m, reg := newMetrics(t)
	m.TrainingFinished("child", time.Minute, "completed", 0.1)
	m.RateLimited("training")
	m.CallDone(pybridge.Inference, "a:b", time.Millisecond, nil)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestFunctionLabelIsBounded(t *testing.T) {
	m, reg := newMetrics(t)
	for i := range 1000 {
		m.CallDone(pybridge.Inference, fmt.Sprintf("mod%d:fn", i), time.Millisecond, nil)
	}
	for _, name := range []string{"stockagent_bridge_calls_total", "stockagent_bridge_call_duration_seconds"} {
		n, err := testutil.GatherAndCount(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		if n != metrics.MaxFunctionLabels+1 {
			t.Errorf("%s: %d series after 1000 function names, want %d (the cap and other)", name, n, metrics.MaxFunctionLabels+1)
		}
	}
	wantSamples(t, getMetrics(t, m),
		`stockagent_bridge_calls_total{function="mod0:fn",lane="inference",outcome="ok"} 1`,
		fmt.Sprintf(`stockagent_bridge_calls_total{function="mod%d:fn",lane="inference",outcome="ok"} 1`, metrics.MaxFunctionLabels-1),
		fmt.Sprintf(`stockagent_bridge_calls_total{function="other",lane="inference",outcome="ok"} %d`, 1000-metrics.MaxFunctionLabels),
	)
	// An admitted name still counts as itself once the cap is reached.
	m.CallDone(pybridge.Inference, "mod0:fn", time.Millisecond, nil)
	wantSamples(t, getMetrics(t, m), `stockagent_bridge_calls_total{function="mod0:fn",lane="inference",outcome="ok"} 2`)
}

func TestPolicyLabelIsBounded(t *testing.T) {
	m, reg := newMetrics(t)
	for i := range 1000 {
		m.RateLimited(fmt.Sprintf("policy%d", i))
	}
	m.RateLimited(string([]byte{0xff, 0xfe})) // invalid UTF-8 would make Prometheus panic
	n, err := testutil.GatherAndCount(reg, "stockagent_rate_limited_total")
	if err != nil {
		t.Fatal(err)
	}
	if n != metrics.MaxPolicyLabels+1 {
		t.Errorf("%d series after 1000 policies, want %d", n, metrics.MaxPolicyLabels+1)
	}
}

// TestFixedLabelsAreBounded feeds arbitrary strings to every method with a
// fixed label set: only the known values and "other" may appear.
func TestFixedLabelsAreBounded(t *testing.T) {
	m, reg := newMetrics(t)
	for i := range 100 {
		s := fmt.Sprintf("ticker%d", i)
		m.Prediction(s, time.Millisecond, nil)
		m.CacheHit(s)
		m.CacheMiss(s)
		m.TrainingStarted(s)
		m.TrainingFinished(s, time.Second, s, 1)
	}
	for name, want := range map[string]int{
		"prediction_total":                  4, // parent, child, batch, other
		"prediction_latency_seconds":        4,
		"stockagent_cache_requests_total":   8, // 4 caches × hit, miss
		"training_status":                   3, // parent, child, other
		"training_duration_seconds":         3,
		"stockagent_trainings_total":        7, // 2 kinds × 3 statuses, and other/other
		"stockagent_training_last_val_loss": 0, // set by completed trainings only
	} {
		n, err := testutil.GatherAndCount(reg, name)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: %d series, want %d", name, n, want)
		}
	}
}

// TestConcurrentUse records from many goroutines at once; run with -race.
func TestConcurrentUse(t *testing.T) {
	m, _ := newMetrics(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				m.CallDone(pybridge.Lane(i%2), fmt.Sprintf("m:f%d", (g*200+i)%100), time.Millisecond, nil)
				m.Busy(pybridge.Inference, 1)
				m.Busy(pybridge.Inference, -1)
				m.TrainingStarted("parent")
				m.TrainingFinished("parent", time.Second, "completed", 0.1)
				m.RateLimited(fmt.Sprintf("p%d", i%20))
				m.Prediction("child", time.Millisecond, nil)
			}
		})
	}
	wg.Wait()
	got := getMetrics(t, m)
	wantSamples(t, got,
		`training_status{kind="parent"} 2`,
		`stockagent_bridge_busy_workers{lane="inference"} 0`,
		`prediction_total{type="child"} 1600`,
	)
}

// TestNilMetricsRecordsNothing calls every recording method on a nil *Metrics, found
// by reflection so that a method added later is covered too: each must return at its nil
// guard, without touching the metrics a nil Metrics lacks. Middleware and Handler are not
// recording methods: they belong to a Metrics that New made.
func TestNilMetricsRecordsNothing(t *testing.T) {
	var m *metrics.Metrics
	var _ pybridge.Metrics = m
	notRecording := map[string]bool{"Middleware": true, "Handler": true}
	v := reflect.ValueOf(m)
	called := 0
	for i := range v.NumMethod() {
		name := v.Type().Method(i).Name
		if notRecording[name] {
			continue
		}
		fn := v.Method(i)
		args := make([]reflect.Value, fn.Type().NumIn())
		for j := range args {
			args[j] = reflect.Zero(fn.Type().In(j))
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s on a nil *Metrics: %v; want it to record nothing and return", name, r)
				}
			}()
			fn.Call(args)
		}()
		called++
	}
	if called < 13 { // Prediction … LLM when this test was written
		t.Errorf("only %d recording methods found; want every one of them", called)
	}
}

func TestNewPanicsOnSecondRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	defer func() {
		if recover() == nil {
			t.Error("a second New on one registry did not panic")
		}
	}()
	metrics.New(reg)
}

// An analysis's nodes become per-node histograms: a node without an LLM call
// records nothing, timings a server model did not measure (nil) are not
// observed, and a node name outside the graph's is "other".
func TestLLMNode(t *testing.T) {
	m, _ := newMetrics(t)
	f := func(v float64) *float64 { return &v }
	m.LLMNode(metrics.AgentNode{Node: "prepare", Seconds: 0.01})
	m.LLMNode(metrics.AgentNode{Node: "writer", Seconds: 3, PromptTokens: 800, CompletionTokens: 60, PromptTokensEvaluated: 350,
		WaitSeconds: 0.5, FirstTokenSeconds: f(1.5), PromptTokensPerSecond: f(350), GenerationTokensPerSecond: f(30)})
	m.LLMNode(metrics.AgentNode{Node: "writer", Seconds: 2, PromptTokens: 800, CompletionTokens: 60})
	m.LLMNode(metrics.AgentNode{Node: "made_up", Seconds: 1, PromptTokens: 10, CompletionTokens: 1})
	p := getMetrics(t, m)
	for series, want := range map[string]float64{
		`stockagent_llm_node_duration_seconds_count{node="writer"}`:             2,
		`stockagent_llm_node_duration_seconds_sum{node="writer"}`:               5,
		`stockagent_llm_node_wait_seconds_sum{node="writer"}`:                   0.5,
		`stockagent_llm_node_first_token_seconds_count{node="writer"}`:          1,
		`stockagent_llm_node_first_token_seconds_bucket{node="writer",le="1"}`:  0,
		`stockagent_llm_node_first_token_seconds_bucket{node="writer",le="2"}`:  1,
		`stockagent_llm_node_prompt_tokens_per_second_sum{node="writer"}`:       350,
		`stockagent_llm_node_generation_tokens_per_second_count{node="writer"}`: 1,
		`stockagent_llm_node_duration_seconds_count{node="other"}`:              1,
		`stockagent_llm_node_duration_seconds_count{node="news_analyst"}`:       0,
	} {
		if got, ok := p.Value(series); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if _, ok := p.Value(`stockagent_llm_node_duration_seconds_count{node="prepare"}`); ok {
		t.Error("prepare, which made no LLM call, has a series")
	}
}
