// Package metrics holds every Prometheus metric the service exports, the
// middleware that measures HTTP requests and the handler that serves
// GET /metrics.
//
// Everything is registered on an explicit registry given to New, never on
// the global one. The names the old service's dashboards query are kept
// exactly (docs/api.md, "Metrics"):
//
//	prediction_total{type}                predictions made, type parent|child|batch|other
//	prediction_latency_seconds{type}      their latency
//	training_status{kind}                 state of the trainings of a kind (see TrainingIdle …)
//	training_duration_seconds{kind}       duration of finished trainings
//	redis_up                              1 when the Redis store answers, else 0
//
// The others follow the Prometheus naming conventions under the stockagent_
// prefix, the service's namespace, so that they clash with no exporter's:
//
//	stockagent_redis_up                                  redis_up's value under the prefix (the
//	                                                     Redis exporter has a redis_up of its own)
//	stockagent_http_requests_total{route,method,code}
//	stockagent_http_request_duration_seconds{route,method}
//	stockagent_prediction_errors_total{type}
//	stockagent_cache_requests_total{cache,result}        cache prediction|semantic|news|other, result hit|miss
//	stockagent_prediction_local_requests_total{result}   the prediction cache's first level (with Redis): hit|miss|down
//	stockagent_prediction_local_invalidations_total{reason} reason notice|all|lost
//	stockagent_prediction_local_up                       1 while the first level's subscription is up
//	stockagent_prediction_flights_joined_total{scope}    scope process|replica
//	stockagent_trainings_total{kind,status}              status completed|failed|cancelled|other
//	stockagent_training_last_val_loss{kind}
//	stockagent_tasks{state}                              state queued|running
//	stockagent_rate_limited_total{policy}
//	stockagent_bridge_calls_total{lane,function,outcome} outcome ok|error|cancelled
//	stockagent_bridge_call_duration_seconds{lane,function}
//	stockagent_bridge_queue_wait_seconds{lane}
//	stockagent_bridge_busy_workers{lane}
//	stockagent_llm_duration_seconds
//	stockagent_llm_tokens_total{kind}                    kind prompt|completion
//	stockagent_llm_node_duration_seconds{node}           node performance_analyst|news_analyst|writer|critic|answer
//	stockagent_llm_node_wait_seconds{node}
//	stockagent_llm_node_first_token_seconds{node}
//	stockagent_llm_node_prompt_tokens_per_second{node}
//	stockagent_llm_node_generation_tokens_per_second{node}
//	stockagent_analyses_relayed_total{outcome}           outcome answered|failed
//	stockagent_drift_score{kind}
//	stockagent_drift_health_level{kind}
//	stockagent_models_by_drift_health{kind,health}       health healthy|degraded|critical
//
// plus the Go runtime (go_*) and process (process_*) collectors.
//
// No label takes its values from users' input: fixed sets map anything
// unknown to "other", routes are the registered templates ("unmatched" for a
// request no route took), and the labels whose values come from code or
// configuration (bridge functions, rate-limit policies) are capped at
// MaxFunctionLabels and MaxPolicyLabels distinct values.
//
// Every method of Metrics may be called concurrently and none blocks beyond
// a short mutex. The recording methods do nothing on a nil *Metrics, so a
// component built without metrics needs no stub.
package metrics

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"stockagent/pybridge"
)

// Metrics holds every metric the service exports, registered on an explicit
// registry (never the global one). Make one with New, at start-up.
type Metrics struct {
	reg     *prometheus.Registry
	handler fiber.Handler

	// HTTP (http.go)
	httpRequests *prometheus.CounterVec   // route, method, code
	httpDuration *prometheus.HistogramVec // route, method
	routes       routeCache

	// predictions and caches (predictions.go)
	predictions       *prometheus.CounterVec   // type
	predictionErrors  *prometheus.CounterVec   // type
	predictionLatency *prometheus.HistogramVec // type
	cacheRequests     *prometheus.CounterVec   // cache, result
	localRequests     *prometheus.CounterVec   // result
	localInvalidated  *prometheus.CounterVec   // reason
	localUp           prometheus.Gauge
	flightsJoined     *prometheus.CounterVec // scope

	// drift (drift.go)
	driftScore  *prometheus.GaugeVec // kind
	driftLevel  *prometheus.GaugeVec // kind
	driftModels *prometheus.GaugeVec // kind, health
	drift       driftState

	// the analyst's LLM (llm.go)
	llmDuration prometheus.Histogram
	llmTokens   *prometheus.CounterVec // kind: prompt, completion
	// per agent node that called the LLM (label node)
	nodeDuration       *prometheus.HistogramVec
	nodeWait           *prometheus.HistogramVec
	nodeFirstToken     *prometheus.HistogramVec
	nodePromptRate     *prometheus.HistogramVec
	nodeGenerationRate *prometheus.HistogramVec
	relayed            *prometheus.CounterVec   // outcome: answered, failed
	streamFirst        *prometheus.HistogramVec // kind: event, token, field (stream.go)

	// training, tasks, stores and limits (training.go)
	trainingStatus   *prometheus.GaugeVec     // kind
	trainingDuration *prometheus.HistogramVec // kind
	trainings        *prometheus.CounterVec   // kind, status
	lastValLoss      *prometheus.GaugeVec     // kind
	tasksQueued      prometheus.Gauge
	tasksRunning     prometheus.Gauge
	redisUp          prometheus.Gauge       // stockagent_redis_up
	redisUpKept      prometheus.Gauge       // redis_up, the old name
	rateLimited      *prometheus.CounterVec // policy
	policies         *boundedLabel
	training         trainingStates

	// the Python bridge (bridge.go)
	bridgeCalls     *prometheus.CounterVec   // lane, function, outcome
	bridgeDuration  *prometheus.HistogramVec // lane, function
	bridgeQueueWait *prometheus.HistogramVec // lane
	bridgeBusy      *prometheus.GaugeVec     // lane
	functions       *boundedLabel
}

// Metrics reports the bridge's measurements too.
var _ pybridge.Metrics = (*Metrics)(nil)

// New makes the service's metrics and registers them, with the Go runtime and
// process collectors, on reg; a nil reg means a fresh registry of its own.
// The series of every known label value (prediction types, caches, model
// kinds, task states, lanes) exist from the start, at zero, so that dashboards
// and alerts see them before the first event.
//
// New is start-up wiring: it panics when reg already holds any of these
// metrics, as when New is called twice with one registry.
func New(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		reg: reg,

		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_http_requests_total",
			Help: `HTTP requests answered, by route template ("unmatched" when no route took the request), method and status code.`,
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stockagent_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, error handling included, by route template and method.",
			Buckets: requestBuckets,
		}, []string{"route", "method"}),

		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "prediction_total",
			Help: "Predictions made, successful or not, by type (parent, child, batch).",
		}, []string{"type"}),
		predictionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_prediction_errors_total",
			Help: "Predictions that failed, by type; each is counted in prediction_total too.",
		}, []string{"type"}),
		predictionLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "prediction_latency_seconds",
			Help:    "Time to make a prediction, cache hits and failures included, by type.",
			Buckets: requestBuckets,
		}, []string{"type"}),
		cacheRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_cache_requests_total",
			Help: "Cache look-ups by cache (prediction, semantic, news) and result (hit, miss).",
		}, []string{"cache", "result"}),
		localRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_prediction_local_requests_total",
			Help: "Look-ups in the prediction cache's in-process first level (with Redis) by result: hit, miss, or down (not answering while its invalidation notices may be missed).",
		}, []string{"result"}),
		localInvalidated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_prediction_local_invalidations_total",
			Help: "Drops from the prediction cache's first level by reason: notice (one model's entry), all (the cache was cleared), lost (every entry, on a lost or new subscription).",
		}, []string{"reason"}),
		localUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stockagent_prediction_local_up",
			Help: "1 while the prediction cache's first level is subscribed to its invalidation notices, else 0.",
		}),
		flightsJoined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_prediction_flights_joined_total",
			Help: "Forecast requests answered by a computation they did not run, by scope: process (an identical request's here), replica (another process's, through the store's lock).",
		}, []string{"scope"}),

		trainingStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "training_status",
			Help: "Trainings of a model kind: 0 none since start, 1 at least one running, and when none runs the last one's end: 2 completed, 3 failed, 4 cancelled.",
		}, []string{"kind"}),
		trainingDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "training_duration_seconds",
			Help:    "Duration of finished trainings, whatever their end, by model kind.",
			Buckets: trainingBuckets,
		}, []string{"kind"}),
		trainings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_trainings_total",
			Help: "Finished trainings by model kind and status (completed, failed, cancelled).",
		}, []string{"kind", "status"}),
		lastValLoss: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stockagent_training_last_val_loss",
			Help: "Last validation loss of the most recently completed training of a model kind.",
		}, []string{"kind"}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stockagent_redis_up",
			Help: "1 when the Redis store answered its last check, 0 when it did not or none is configured.",
		}),
		redisUpKept: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "redis_up",
			Help: "Same as stockagent_redis_up, under the old service's name, which the Redis exporter's redis_up shares.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_rate_limited_total",
			Help: "Requests refused with 429 by a rate-limit policy.",
		}, []string{"policy"}),
		policies: newBoundedLabel(MaxPolicyLabels),

		bridgeCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stockagent_bridge_calls_total",
			Help: `Finished calls into Python by lane, function ("module:function") and outcome (ok, error, cancelled).`,
		}, []string{"lane", "function", "outcome"}),
		bridgeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stockagent_bridge_call_duration_seconds",
			Help:    "Time a call spent in Python, by lane and function.",
			Buckets: bridgeCallBuckets,
		}, []string{"lane", "function"}),
		bridgeQueueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stockagent_bridge_queue_wait_seconds",
			Help:    "Time a call waited for a free worker of its lane.",
			Buckets: queueWaitBuckets,
		}, []string{"lane"}),
		bridgeBusy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stockagent_bridge_busy_workers",
			Help: "Workers of a lane running a call now.",
		}, []string{"lane"}),
		functions: newBoundedLabel(MaxFunctionLabels),
	}
	tasks := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stockagent_tasks",
		Help: "Tasks of the task manager by state (queued, running).",
	}, []string{"state"})
	m.tasksQueued = tasks.WithLabelValues("queued")
	m.tasksRunning = tasks.WithLabelValues("running")

	m.llmDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "stockagent_llm_duration_seconds",
		Help:    "Time the analyst spent in LLM calls per analysis.",
		Buckets: llmBuckets,
	})
	m.llmTokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stockagent_llm_tokens_total",
		Help: "Tokens the analyst's LLM read (prompt) and wrote (completion).",
	}, []string{"kind"})
	m.llmTokens.WithLabelValues("prompt")
	m.llmTokens.WithLabelValues("completion")
	// Declared one by one, each Name a literal: deploy/deploytest reads the names from this source.
	byNode := []string{"node"}
	m.nodeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stockagent_llm_node_duration_seconds",
		Help:    "Time of an agent node that called the LLM, waiting included, by node.",
		Buckets: nodeBuckets,
	}, byNode)
	m.nodeWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stockagent_llm_node_wait_seconds",
		Help:    "Time an agent node waited for the in-process model while another node's call held it, by node.",
		Buckets: nodeBuckets,
	}, byNode)
	m.nodeFirstToken = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stockagent_llm_node_first_token_seconds",
		Help:    "Time from an agent node's start to its first generated token (in-process model), by node.",
		Buckets: nodeBuckets,
	}, byNode)
	m.nodePromptRate = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stockagent_llm_node_prompt_tokens_per_second",
		Help:    "Prompt tokens an agent node's model computed per second, a reused prefix not counted (in-process model), by node.",
		Buckets: tokenRateBuckets,
	}, byNode)
	m.nodeGenerationRate = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stockagent_llm_node_generation_tokens_per_second",
		Help:    "Tokens an agent node's model generated per second after the first (in-process model), by node.",
		Buckets: tokenRateBuckets,
	}, byNode)
	for _, n := range agentNodes {
		for _, h := range []*prometheus.HistogramVec{m.nodeDuration, m.nodeWait, m.nodeFirstToken, m.nodePromptRate, m.nodeGenerationRate} {
			h.WithLabelValues(n)
		}
	}
	m.relayed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stockagent_analyses_relayed_total",
		Help: "Analyses this replica handed to a process that takes work and relayed the reply of, by outcome.",
	}, []string{"outcome"})
	m.relayed.WithLabelValues("answered")
	m.relayed.WithLabelValues("failed")
	m.streamFirst = newStreamFirst()

	m.driftScore = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stockagent_drift_score",
		Help: "Largest latest drift score (mean feature shift in reference standard deviations) among models of a kind.",
	}, []string{"kind"})
	m.driftLevel = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stockagent_drift_health_level",
		Help: "Worst latest drift health among models of a kind: 0 Healthy, 1 Degraded (Warning), 2 Critical (Drift Detected).",
	}, []string{"kind"})
	m.driftModels = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stockagent_models_by_drift_health",
		Help: "Models of a kind at each drift health level, by their latest drift report.",
	}, []string{"kind", "health"})
	for _, k := range trainingKinds {
		m.driftScore.WithLabelValues(k)
		m.driftLevel.WithLabelValues(k)
		for _, h := range healthNames {
			m.driftModels.WithLabelValues(k, h)
		}
	}

	reg.MustRegister(
		m.driftScore, m.driftLevel, m.driftModels,
		m.llmDuration, m.llmTokens, m.relayed, m.streamFirst,
		m.nodeDuration, m.nodeWait, m.nodeFirstToken, m.nodePromptRate, m.nodeGenerationRate,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration,
		m.predictions, m.predictionErrors, m.predictionLatency, m.cacheRequests,
		m.localRequests, m.localInvalidated, m.localUp, m.flightsJoined,
		m.trainingStatus, m.trainingDuration, m.trainings, m.lastValLoss,
		tasks, m.redisUp, m.redisUpKept, m.rateLimited,
		m.bridgeCalls, m.bridgeDuration, m.bridgeQueueWait, m.bridgeBusy,
	)
	m.initSeries()

	m.handler = adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A collector that fails loses its own series, not the whole scrape;
		// the failures are counted in promhttp_metric_handler_errors_total.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg,
	}))
	return m
}

// initSeries creates, at zero, the series of every known label value.
func (m *Metrics) initSeries() {
	for _, t := range predictionTypes {
		m.predictions.WithLabelValues(t)
		m.predictionErrors.WithLabelValues(t)
		m.predictionLatency.WithLabelValues(t)
	}
	for _, c := range cacheNames {
		m.cacheRequests.WithLabelValues(c, "hit")
		m.cacheRequests.WithLabelValues(c, "miss")
	}
	for _, r := range localResults {
		m.localRequests.WithLabelValues(r)
	}
	for _, r := range localReasons {
		m.localInvalidated.WithLabelValues(r)
	}
	for _, s := range flightScopes {
		m.flightsJoined.WithLabelValues(s)
	}
	for _, k := range trainingKinds {
		m.trainingStatus.WithLabelValues(k).Set(TrainingIdle)
		m.trainingDuration.WithLabelValues(k)
		for _, s := range trainingStatuses {
			m.trainings.WithLabelValues(k, s)
		}
	}
	for _, l := range pybridge.Lanes() {
		m.bridgeQueueWait.WithLabelValues(l.String())
		m.bridgeBusy.WithLabelValues(l.String())
	}
}

// Handler serves GET /metrics: everything registered on the registry given to
// New, in the Prometheus text format (the protobuf format when the scraper
// asks for it), compressed when the scraper accepts it.
func (m *Metrics) Handler() fiber.Handler { return m.handler }
