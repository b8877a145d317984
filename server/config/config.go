// Package config loads the server's configuration from environment variables
// once, validates it, and is read-only afterwards. The README's configuration
// table lists every variable, the old service's names included ("Old names").
// Python's settings (DATA_SOURCE, PARENT_EPOCHS, …) are read here too and reach
// Python as one mapping (PythonSettings), which its settings model validates.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"stockagent/server/redact"
)

// Config is the server's configuration.
type Config struct {
	// Role (ROLE) is what this process does: RoleAll (the default) answers HTTP and runs
	// trainings; RoleAPI answers HTTP and queues trainings for others; RoleTrainer takes
	// trainings from the queue and serves only /health and /metrics.
	Role string
	Host string // HOST: listen address. Default "0.0.0.0".
	Port int    // PORT. Default 8000.
	// DataDir is the absolute data folder (DATA_DIR, default ".data"): models,
	// caches and logs. Python receives the same absolute path.
	DataDir string
	// ModelsDir is the absolute model folder (MODELS_DIR, default DATA_DIR/models):
	// the only folder replicas share (a shared volume); Python receives it too.
	ModelsDir string
	// Python is the virtual environment's python (PYTHON_EXECUTABLE); the
	// default is the one the binary was built against.
	Python string
	// Lane sizes and per-worker native thread budgets.
	InferenceWorkers, LongWorkers int           // INFERENCE_WORKERS (2), LONG_WORKERS (1)
	InferenceThreads, LongThreads int           // INFERENCE_THREADS (1), TRAINING_THREADS (1)
	TrainingNice                  int           // TRAINING_NICE (10): how much lower the long lane's threads run
	AgentWorkers, AgentQueue      int           // AGENT_WORKERS (1): analyses at once; AGENT_QUEUE (4): analyses waiting, more get 503
	MaxTasks                      int           // MAX_TASKS: trainings running at once (4)
	BatchMaxTickers               int           // BATCH_MAX_TICKERS: tickers one /predict-batch may ask for (500)
	BatchThreads                  int           // BATCH_THREADS: torch threads of a batch's shared forward (the inference lane's total)
	TrainingTimeout               time.Duration // TRAINING_TIMEOUT (2h)
	CallTimeout                   time.Duration // CALL_TIMEOUT (old: PYTHON_TIMEOUT): one synchronous call (60s)
	ShutdownTimeout               time.Duration // SHUTDOWN_TIMEOUT (20s)
	LogLevel                      slog.Level    // LOG_LEVEL: debug, info, warn, error (info)
	LogFormat                     string        // LOG_FORMAT: text or json (text)
	LogFileMB                     int           // LOG_FILE_MAX_MB: rotate DATA_DIR/logs/server.log at this size (10)

	RedisURL           string        // REDIS_URL (old: REDIS_HOST, REDIS_PORT): empty = in-process store
	PredictionCacheTTL time.Duration // PREDICTION_CACHE_TTL (24h)
	TaskLease          time.Duration // TASK_LEASE: how soon a dead process's task is seen as interrupted (30s)
	// The prediction cache's in-process first level in front of Redis (unused without it):
	// PREDICTION_CACHE_LOCAL_ENTRIES forecasts (2048) and PREDICTION_CACHE_LOCAL_MB MiB (64)
	// at most; 0 turns it off.
	PredictionCacheLocalEntries, PredictionCacheLocalMB int

	// APIKeys are API_KEYS' entries, "key" or "key:role" (see ParseAPIKey); empty = no
	// key needed from loopback callers (protected mode).
	APIKeys []string
	// OpenAccess (OPEN_ACCESS=1) lets callers without a key read and train, never administer.
	OpenAccess     bool
	AdminToken     string         // ADMIN_TOKEN: an admin bearer token
	CORSOrigins    []string       // CORS_ORIGINS: comma-separated browser origins allowed
	AllowedHosts   []string       // ALLOWED_HOSTS: host names served beyond loopback names and IP literals
	TrustedProxies []netip.Prefix // TRUSTED_PROXIES: IPs/CIDRs whose X-Forwarded-For is believed

	QdrantURL         string        // QDRANT_URL (old: QDRANT_HOST, QDRANT_PORT): empty = the in-process vector index
	QdrantAPIKey      string        // QDRANT_API_KEY
	SemanticThreshold float64       // SEMANTIC_CACHE_THRESHOLD (0.95)
	SemanticMaxAge    time.Duration // SEMANTIC_CACHE_MAX_AGE (24h)
	AnalyzeTimeout    time.Duration // ANALYZE_TIMEOUT: one /analyze run (5m)

	// The analyst's settings Python takes from the server (the configure entry point), so
	// that an old name set here reaches it too.
	LLMBaseURL string // LLM_BASE_URL (old: LLAMA_CPP_BASE_URL): an OpenAI-compatible server
	FMIAPIKey  string // FMI_API_KEY, or FINNHUB_API_KEY: Finnhub's key for company news
	// BacktestCostBps (BACKTEST_COST_BPS, 5) is a backtest's cost in basis points when its
	// request names none; Python's CLI takes the same default from its settings.
	BacktestCostBps float64

	// PythonOnly holds the set variables of PythonVariables, as given (trimmed);
	// PythonSettings adds the ones the server reads itself.
	PythonOnly map[string]string

	// Deprecations are the start-up log's lines about old names in use, one per setting.
	Deprecations []string

	PolicyFile         string        // POLICY_FILE: the health policy; empty = the built-in default
	MonitorInterval    time.Duration // MONITOR_INTERVAL: scheduled drift for every model; 0 = off
	MonitorAutoRetrain bool          // MONITOR_AUTO_RETRAIN: on lets the policy's "retrain" action start a training

	RateLimits          bool   // RATE_LIMITS: on/off (on)
	RateLimitTraining   string // RATE_LIMIT_TRAINING (5/hour)
	RateLimitPrediction string // RATE_LIMIT_PREDICTION (40/hour)
	RateLimitAnalysis   string // RATE_LIMIT_ANALYSIS (20/hour): /analyze and /monitor/{ticker}
	// AuthFailureLimit (AUTH_FAILURE_LIMIT, 10/minute) bounds wrong or missing credentials
	// per client address; it holds whatever RATE_LIMITS says.
	AuthFailureLimit string
}

// Load reads the environment; getenv is os.Getenv outside tests.
func Load(getenv func(string) string, defaultPython string) (Config, error) {
	c := Config{
		Role:             RoleAll,
		Host:             "0.0.0.0",
		Port:             8000,
		DataDir:          ".data",
		Python:           defaultPython,
		InferenceWorkers: 2,
		LongWorkers:      1,
		InferenceThreads: 1,
		LongThreads:      1,
		TrainingNice:     10,
		AgentWorkers:     1,
		AgentQueue:       4,
		MaxTasks:         4,
		BatchMaxTickers:  500,
		TrainingTimeout:  2 * time.Hour,
		CallTimeout:      60 * time.Second,
		ShutdownTimeout:  20 * time.Second,
		LogLevel:         slog.LevelInfo,
		LogFormat:        "text",
		LogFileMB:        10,

		PredictionCacheTTL:          24 * time.Hour,
		PredictionCacheLocalEntries: 2048, // a forecast is about 27 kB: more models than a deployment serves
		PredictionCacheLocalMB:      64,
		TaskLease:                   30 * time.Second,

		SemanticThreshold: 0.95,
		SemanticMaxAge:    24 * time.Hour,
		AnalyzeTimeout:    5 * time.Minute,
		BacktestCostBps:   5,

		RateLimits:          true,
		RateLimitTraining:   "5/hour",
		RateLimitPrediction: "40/hour",
		RateLimitAnalysis:   "20/hour",
		AuthFailureLimit:    "10/minute",
	}
	var errs []error
	str := func(key string, dst *string) {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			*dst = v
		}
	}
	num := func(key string, dst *int, lo, hi int) {
		v := strings.TrimSpace(getenv(key))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s=%q: want an integer in [%d, %d]", key, v, lo, hi))
			return
		}
		*dst = n
	}
	dur := func(key string, dst *time.Duration) {
		v := strings.TrimSpace(getenv(key))
		if v == "" {
			return
		}
		d, err := ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a positive duration such as 90s, 2h or 7200 (seconds)", key, v))
			return
		}
		*dst = d
	}
	str("ROLE", &c.Role)
	str("HOST", &c.Host)
	num("PORT", &c.Port, 1, 65535)
	str("DATA_DIR", &c.DataDir)
	str("MODELS_DIR", &c.ModelsDir)
	str("PYTHON_EXECUTABLE", &c.Python)
	num("INFERENCE_WORKERS", &c.InferenceWorkers, 1, 64)
	num("LONG_WORKERS", &c.LongWorkers, 1, 64)
	num("INFERENCE_THREADS", &c.InferenceThreads, 1, 256)
	num("TRAINING_THREADS", &c.LongThreads, 1, 256)
	num("TRAINING_NICE", &c.TrainingNice, 0, 19)
	num("AGENT_WORKERS", &c.AgentWorkers, 1, 64)
	num("AGENT_QUEUE", &c.AgentQueue, 1, 1024)
	num("MAX_TASKS", &c.MaxTasks, 1, 256)
	num("BATCH_MAX_TICKERS", &c.BatchMaxTickers, 1, 10000)
	num("BATCH_THREADS", &c.BatchThreads, 1, 64)
	if c.BatchThreads == 0 {
		c.BatchThreads = min(c.InferenceWorkers*c.InferenceThreads, 64)
	}
	dur("TRAINING_TIMEOUT", &c.TrainingTimeout)
	dur("CALL_TIMEOUT", &c.CallTimeout)
	dur("SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	if v := strings.TrimSpace(getenv("LOG_LEVEL")); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", v))
		}
	}
	str("LOG_FORMAT", &c.LogFormat)
	num("LOG_FILE_MAX_MB", &c.LogFileMB, 1, 10240)
	str("REDIS_URL", &c.RedisURL)
	dur("PREDICTION_CACHE_TTL", &c.PredictionCacheTTL)
	num("PREDICTION_CACHE_LOCAL_ENTRIES", &c.PredictionCacheLocalEntries, 0, 1<<20)
	num("PREDICTION_CACHE_LOCAL_MB", &c.PredictionCacheLocalMB, 0, 1<<20)
	dur("TASK_LEASE", &c.TaskLease)
	str("QDRANT_URL", &c.QdrantURL)
	str("QDRANT_API_KEY", &c.QdrantAPIKey)
	dur("SEMANTIC_CACHE_MAX_AGE", &c.SemanticMaxAge)
	dur("ANALYZE_TIMEOUT", &c.AnalyzeTimeout)
	if v := strings.TrimSpace(getenv("SEMANTIC_CACHE_THRESHOLD")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			errs = append(errs, fmt.Errorf("SEMANTIC_CACHE_THRESHOLD=%q: want a cosine similarity in (0, 1]", v))
		} else {
			c.SemanticThreshold = f
		}
	}
	if v := strings.TrimSpace(getenv("BACKTEST_COST_BPS")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1000) {
			errs = append(errs, fmt.Errorf("BACKTEST_COST_BPS=%q: want basis points in [0, 1000]", v))
		} else {
			c.BacktestCostBps = f
		}
	}
	onOff := func(key string, def bool) bool {
		switch v := strings.ToLower(strings.TrimSpace(getenv(key))); v {
		case "":
			return def
		case "on", "true", "1":
			return true
		case "off", "false", "0":
			return false
		default:
			errs = append(errs, fmt.Errorf("%s=%q: want on or off", key, v))
			return def
		}
	}
	list := func(key string, dst *[]string) {
		for _, v := range strings.Split(getenv(key), ",") {
			if v = strings.TrimSpace(v); v != "" {
				*dst = append(*dst, v)
			}
		}
	}
	list("API_KEYS", &c.APIKeys)
	seen := map[string]bool{}
	for i, e := range c.APIKeys {
		k, err := ParseAPIKey(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("API_KEYS entry %d: %w", i+1, err))
		} else if seen[k.Key] {
			errs = append(errs, fmt.Errorf("API_KEYS entry %d: the key is listed twice", i+1))
		}
		seen[k.Key] = true
	}
	c.OpenAccess = onOff("OPEN_ACCESS", false)
	str("ADMIN_TOKEN", &c.AdminToken)
	list("CORS_ORIGINS", &c.CORSOrigins)
	list("ALLOWED_HOSTS", &c.AllowedHosts)
	var proxies []string
	list("TRUSTED_PROXIES", &proxies)
	for _, p := range proxies {
		prefix, err := ParseProxy(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %w", err))
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			errs = append(errs, errors.New("CORS_ORIGINS: list the origins; \"*\" is refused"))
		}
	}
	c.RateLimits = onOff("RATE_LIMITS", true)
	str("POLICY_FILE", &c.PolicyFile)
	if v := strings.TrimSpace(getenv("MONITOR_INTERVAL")); v != "" && v != "0" {
		dur("MONITOR_INTERVAL", &c.MonitorInterval)
	}
	c.MonitorAutoRetrain = onOff("MONITOR_AUTO_RETRAIN", false)
	str("RATE_LIMIT_TRAINING", &c.RateLimitTraining)
	str("RATE_LIMIT_PREDICTION", &c.RateLimitPrediction)
	str("RATE_LIMIT_ANALYSIS", &c.RateLimitAnalysis)
	str("AUTH_FAILURE_LIMIT", &c.AuthFailureLimit)
	str("LLM_BASE_URL", &c.LLMBaseURL)
	str("FMI_API_KEY", &c.FMIAPIKey)
	c.PythonOnly = map[string]string{}
	for _, key := range PythonVariables {
		var v string
		if str(key, &v); v != "" {
			c.PythonOnly[key] = v
		}
	}
	errs = append(errs, c.oldNames(str)...)
	if !slices.Contains(ProcessRoles, c.Role) {
		errs = append(errs, fmt.Errorf("ROLE=%q: want %s", c.Role, strings.Join(ProcessRoles, ", ")))
	} else if c.Role != RoleAll && c.RedisURL == "" {
		// The queue that hands work from api to trainer processes lives in Redis.
		errs = append(errs, fmt.Errorf("ROLE=%s needs REDIS_URL: without it one process does everything (ROLE=all)", c.Role))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want text or json", c.LogFormat))
	}
	if c.Python == "" {
		errs = append(errs, errors.New("PYTHON_EXECUTABLE is not set and the binary has no default: build it with make"))
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		errs = append(errs, fmt.Errorf("DATA_DIR=%q: %w", c.DataDir, err))
	}
	c.DataDir = abs
	if c.ModelsDir == "" {
		c.ModelsDir = filepath.Join(c.DataDir, "models")
	}
	if abs, err := filepath.Abs(c.ModelsDir); err != nil {
		errs = append(errs, fmt.Errorf("MODELS_DIR=%q: %w", c.ModelsDir, err))
	} else {
		c.ModelsDir = abs
	}
	return c, errors.Join(errs...)
}

// PythonVariables are the settings only Python uses (pymodules/stockagent/settings.py's
// table, which validates them): the server reads them with its own and passes them on.
var PythonVariables = []string{
	"DATA_SOURCE", "PRICES_DIR", "PARENT_TICKER", "PARENT_START_DATE", "PARENT_EPOCHS", "CHILD_EPOCHS",
	"CHILD_STRATEGY", "LEARNING_RATE", "FINE_TUNE_LEARNING_RATE", "TRAIN_START_DATE", "MODEL_KEEP_VERSIONS",
	"DEVICE", "TRAIN_AMP", "REFIT", "STAT_BASELINES", "FEATURE_STORE", "DRIFT_WINDOW_DAYS", "MONITOR_HISTORY_KEEP",
	// The analyst's (LLM_BASE_URL and FMI_API_KEY have old names: the server reads those itself).
	"LLM_PROVIDER", "LLM_MODEL", "LLM_API_KEY", "LLM_TIMEOUT", "LLM_MAX_RETRIES", "LLM_GGUF", "LLM_CTX",
	"LLM_THREADS", "LLM_TEMPERATURE", "AGENT_MAX_TOKENS", "AGENT_MAX_REVISIONS", "AGENT_MAX_QUESTION_TOKENS",
	"AGENT_LLM_CRITIQUE", "AGENT_DIRECTION_BAND_PCT", "NEWS_SOURCE", "NEWS_TIMEOUT", "NEWS_LIMIT",
}

// PythonSettings is the one value Python's configure entry point takes: Python's own
// variables and those the server shares with it, old names resolved, paths absolute.
func (c Config) PythonSettings() map[string]string {
	out := map[string]string{"DATA_DIR": c.DataDir, "MODELS_DIR": c.ModelsDir,
		"BACKTEST_COST_BPS": strconv.FormatFloat(c.BacktestCostBps, 'g', -1, 64)}
	for key, v := range map[string]string{"REDIS_URL": c.RedisURL, "LLM_BASE_URL": c.LLMBaseURL, "FMI_API_KEY": c.FMIAPIKey} {
		if v != "" {
			out[key] = v
		}
	}
	maps.Copy(out, c.PythonOnly)
	return out
}

// ParseDuration reads a Go duration ("90s", "2h") or an integer number of seconds ("7200"),
// as the old service's settings gave them.
func ParseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, fmt.Errorf("%d seconds is out of range", n)
		}
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

// The process roles (ROLE).
const (
	RoleAll     = "all"
	RoleAPI     = "api"
	RoleTrainer = "trainer"
)

// ProcessRoles are the values ROLE takes.
var ProcessRoles = []string{RoleAll, RoleAPI, RoleTrainer}

// TakesWork reports whether this process runs trainings.
func (c Config) TakesWork() bool { return c.Role != RoleAPI }

// ServesAPI reports whether this process answers the public API.
func (c Config) ServesAPI() bool { return c.Role != RoleTrainer }

// Roles are the roles an API key may hold, weakest first; a key without one holds RoleDefault.
var Roles = []string{"read", "train", "admin"}

// RoleDefault is the role of an API_KEYS entry that names none.
const RoleDefault = "train"

// APIKey is one API_KEYS entry.
type APIKey struct{ Key, Role string }

// ParseAPIKey reads "key" or "key:role" (split at the last colon). Errors never
// quote the key: they end up in logs.
func ParseAPIKey(entry string) (APIKey, error) {
	k := APIKey{Key: entry, Role: RoleDefault}
	if i := strings.LastIndexByte(entry, ':'); i >= 0 {
		k.Key, k.Role = entry[:i], entry[i+1:]
		if !slices.Contains(Roles, k.Role) {
			return k, fmt.Errorf("role %q: want %s", k.Role, strings.Join(Roles, ", "))
		}
	}
	if k.Key == "" {
		return k, errors.New("empty key")
	}
	return k, nil
}

// ParseProxy reads a TRUSTED_PROXIES entry: an IP (one address) or a CIDR.
func ParseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q: want an IP or a CIDR such as 10.0.0.0/8", s)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are unmapped
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q: want an IP or a CIDR such as 10.0.0.0/8", s)
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Exposed reports whether the server listens beyond loopback.
func (c Config) Exposed() bool {
	a, err := netip.ParseAddr(strings.Trim(c.Host, "[]"))
	return c.Host != "localhost" && (err != nil || !a.IsLoopback())
}

// AccessMode says who may call the server, for the start-up log.
func (c Config) AccessMode() string {
	switch {
	case len(c.APIKeys) > 0 && c.OpenAccess:
		return "api keys, and open access: callers without a key may read and train"
	case len(c.APIKeys) > 0:
		return "api keys: every caller needs one"
	case c.OpenAccess:
		return "open access: anyone who reaches the port may read and train; only loopback callers administer"
	}
	return "protected: no API_KEYS, so only loopback callers are served"
}

// Addr is the listen address.
func (c Config) Addr() string { return c.Host + ":" + strconv.Itoa(c.Port) }

// Logger builds the process's logger, writing to w; credentials in URLs never reach it.
func (c Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(redact.Handler(h))
}

// LogFile is the server's log file, inside the data folder.
func (c Config) LogFile() string { return filepath.Join(c.DataDir, "logs", "server.log") }
