package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The old service's defaults for the half of an address that is not set, and Qdrant's
// ports: the old service spoke REST (6333), this one speaks gRPC (6334).
const (
	oldRedisHost, oldRedisPort   = "localhost", "6379"
	oldQdrantHost, oldQdrantPort = "qdrant", "6333"
	qdrantRESTPort               = 6333
	qdrantGRPCPort               = 6334
)

// oldNames applies the old service's setting names (README, "Old names") that str reads,
// after the new names are read: an old name counts only while its new name is unset, and
// either way the log gets one line about it. DagsHub's settings are refused.
func (c *Config) oldNames(str func(string, *string)) []error {
	var errs []error
	var redisHost, redisPort, qdrantHost, qdrantPort, llamaURL, pythonTimeout, callTimeout, finnhubKey string
	var dagshubUser, dagshubRepo, dagshubToken string
	str("REDIS_HOST", &redisHost)
	str("REDIS_PORT", &redisPort)
	str("QDRANT_HOST", &qdrantHost)
	str("QDRANT_PORT", &qdrantPort)
	str("LLAMA_CPP_BASE_URL", &llamaURL)
	str("PYTHON_TIMEOUT", &pythonTimeout)
	str("CALL_TIMEOUT", &callTimeout) // read again: whether it was given, not its value
	str("FINNHUB_API_KEY", &finnhubKey)
	str("DAGSHUB_USER_NAME", &dagshubUser)
	str("DAGSHUB_REPO_NAME", &dagshubRepo)
	str("DAGSHUB_TOKEN", &dagshubToken)

	if names := given("REDIS_HOST", redisHost, "REDIS_PORT", redisPort); names != "" {
		switch host, port, err := oldAddress("REDIS_HOST", redisHost, oldRedisHost, "REDIS_PORT", redisPort, oldRedisPort); {
		case c.RedisURL != "":
			c.ignored(names, "REDIS_URL")
		case err != nil:
			errs = append(errs, err)
		default:
			c.RedisURL = "redis://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/0"
			c.renamed(names, "REDIS_URL="+c.RedisURL, "")
		}
	}
	if names := given("QDRANT_HOST", qdrantHost, "QDRANT_PORT", qdrantPort); names != "" {
		switch host, port, err := oldAddress("QDRANT_HOST", qdrantHost, oldQdrantHost, "QDRANT_PORT", qdrantPort, oldQdrantPort); {
		case c.QdrantURL != "":
			c.ignored(names, "QDRANT_URL")
		case err != nil:
			errs = append(errs, err)
		default:
			why := fmt.Sprintf("port %d taken as Qdrant's gRPC port", port)
			if port == qdrantRESTPort {
				port = qdrantGRPCPort
				why = fmt.Sprintf("%d is Qdrant's REST port; this server speaks gRPC, on %d", qdrantRESTPort, qdrantGRPCPort)
			}
			c.QdrantURL = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
			c.renamed(names, "QDRANT_URL="+c.QdrantURL, why)
		}
	}
	if llamaURL != "" {
		if c.LLMBaseURL != "" {
			c.ignored("LLAMA_CPP_BASE_URL", "LLM_BASE_URL")
		} else {
			c.LLMBaseURL = llamaURL // may hold a password: the line does not quote it
			c.renamed("LLAMA_CPP_BASE_URL", "LLM_BASE_URL", "")
		}
	}
	if pythonTimeout != "" {
		d, err := ParseDuration(pythonTimeout)
		switch {
		case callTimeout != "":
			c.ignored("PYTHON_TIMEOUT", "CALL_TIMEOUT")
		case err != nil || d <= 0:
			errs = append(errs, fmt.Errorf("PYTHON_TIMEOUT=%q: want a positive number of seconds such as 120 (or set CALL_TIMEOUT)", pythonTimeout))
		default:
			c.CallTimeout = d
			c.renamed("PYTHON_TIMEOUT", "CALL_TIMEOUT="+d.String(), "")
		}
	}
	// Finnhub's own name for its key is as good as ours: no deprecation.
	if finnhubKey != "" {
		if c.FMIAPIKey == "" {
			c.FMIAPIKey = finnhubKey
		} else if c.FMIAPIKey != finnhubKey {
			c.Deprecations = append(c.Deprecations, "FMI_API_KEY and FINNHUB_API_KEY differ: FMI_API_KEY is used; set one of them")
		}
	}
	if names := given("DAGSHUB_USER_NAME", dagshubUser, "DAGSHUB_REPO_NAME", dagshubRepo, "DAGSHUB_TOKEN", dagshubToken); names != "" {
		errs = append(errs, fmt.Errorf("%s: DagsHub's settings are not read; for DagsHub's MLflow set "+
			"MLFLOW_TRACKING_URI=https://dagshub.com/USER/REPO.mlflow, MLFLOW_TRACKING_USERNAME=USER and "+
			"MLFLOW_TRACKING_PASSWORD=TOKEN, and unset DAGSHUB_*", names))
	}
	return errs
}

// given names the settings (name, value pairs) that are set: "A", "A and B", "A, B and C"; "" for none.
func given(pairs ...string) string {
	var set []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			set = append(set, pairs[i])
		}
	}
	if len(set) < 2 {
		return strings.Join(set, "")
	}
	return strings.Join(set[:len(set)-1], ", ") + " and " + set[len(set)-1]
}

// renamed logs that old names were read as now (a setting, with its value where it holds no
// secret), with why when there is more to say.
func (c *Config) renamed(names, now, why string) {
	line := fmt.Sprintf("%s: %s, read as %s", names, oldWord(names), now)
	if why != "" {
		line += " (" + why + ")"
	}
	c.Deprecations = append(c.Deprecations, line+"; set that instead")
}

// ignored logs that old names lost to their new name.
func (c *Config) ignored(names, newKey string) {
	it := "it"
	if strings.Contains(names, " and ") {
		it = "them"
	}
	c.Deprecations = append(c.Deprecations, fmt.Sprintf("%s: %s, ignored: %s is set and wins; remove %s", names, oldWord(names), newKey, it))
}

func oldWord(names string) string {
	if strings.Contains(names, " and ") {
		return "deprecated old names"
	}
	return "deprecated old name"
}

// oldAddress is the host and port an old HOST/PORT pair names, each half defaulting as
// the old service's did.
func oldAddress(hostKey, host, defHost, portKey, port, defPort string) (string, int, error) {
	if host == "" {
		host = defHost
	}
	if port == "" {
		port = defPort
	}
	h := strings.Trim(host, "[]")
	bad := h == "" || strings.ContainsAny(h, "/@?# ")
	if !bad && strings.Contains(h, ":") {
		_, err := netip.ParseAddr(h)
		bad = err != nil
	}
	if bad {
		return "", 0, fmt.Errorf("%s=%q: want a host name or an IP address", hostKey, host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, fmt.Errorf("%s=%q: want a port in [1, 65535]", portKey, port)
	}
	return h, n, nil
}
