package policy

import "sort"

// kind is the Go/Python type an input carries. Every input may also be nil
// (Python None) when the measurement is unavailable.
type kind uint8

const (
	kindFloat kind = iota + 1
	kindInt
	kindBool
	kindStr
)

func (k kind) String() string {
	switch k {
	case kindFloat:
		return "a number"
	case kindInt:
		return "an integer"
	case kindBool:
		return "a bool"
	case kindStr:
		return "a string"
	}
	return "?"
}

// Input documents one measurement a rule may read.
type Input struct {
	Name string
	Type string // "float", "int", "bool" or "str"; nil (None) is always allowed
	Doc  string
	kind kind
}

// Group names a family of well-known rules and the inputs they receive.
type Group string

// The groups of well-known rules.
const (
	GroupDrift    Group = "drift"
	GroupEval     Group = "eval"
	GroupAccuracy Group = "accuracy"
)

// inputs is the documented input table; default_policy.py repeats it for
// operators. ticker and is_parent reach every group.
var inputs = []struct {
	Input
	groups []Group
}{
	{Input{"drift_score", "float", "mean over features of |current mean - reference mean| / reference std", kindFloat}, []Group{GroupDrift}},
	{Input{"volatility_ratio", "float", "std of current daily close returns / std of the reference ones", kindFloat}, []Group{GroupDrift}},
	{Input{"max_psi", "float", "largest population stability index over the features (None when not computed)", kindFloat}, []Group{GroupDrift}},
	{Input{"ks_pvalue_min", "float", "smallest Kolmogorov-Smirnov p-value over the features (None when not computed)", kindFloat}, []Group{GroupDrift}},
	{Input{"max_ks_stat", "float", "largest two-sample Kolmogorov-Smirnov statistic over the features (None when not computed)", kindFloat}, []Group{GroupDrift}},
	{Input{"overall_score", "float", "mean of the agent-evaluation checks, 0..1", kindFloat}, []Group{GroupEval}},
	{Input{"checks_failed", "int", "number of agent-evaluation checks that failed", kindInt}, []Group{GroupEval}},
	{Input{"checks_total", "int", "number of agent-evaluation checks run", kindInt}, []Group{GroupEval}},
	{Input{"lstm_mae", "float", "held-out MAE of the model", kindFloat}, []Group{GroupAccuracy}},
	{Input{"naive_mae", "float", "held-out MAE of the naive baseline (last close carried forward)", kindFloat}, []Group{GroupAccuracy}},
	{Input{"skill_vs_naive", "float", "lstm_mae / naive_mae (below 1: the model beats the baseline)", kindFloat}, []Group{GroupAccuracy}},
	{Input{"interval_coverage", "float", "share of held-out closes inside the model's interval, 0..1", kindFloat}, []Group{GroupAccuracy}},
	{Input{"ticker", "str", "the symbol the measurement is for", kindStr}, []Group{GroupDrift, GroupEval, GroupAccuracy}},
	{Input{"is_parent", "bool", "True for the parent (market) model", kindBool}, []Group{GroupDrift, GroupEval, GroupAccuracy}},
}

var (
	inputKinds  = map[string]kind{}
	groupInputs = map[Group]map[string]bool{}
)

func init() {
	for _, in := range inputs {
		inputKinds[in.Name] = in.kind
		for _, g := range in.groups {
			if groupInputs[g] == nil {
				groupInputs[g] = map[string]bool{}
			}
			groupInputs[g][in.Name] = true
		}
	}
}

// Inputs returns the documented inputs of a group, sorted by name.
func Inputs(g Group) []Input {
	var out []Input
	for _, in := range inputs {
		for _, ig := range in.groups {
			if ig == g {
				out = append(out, in.Input)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Health levels, statuses and actions the well-known rules may return
// (docs/api.md, "Monitoring").
const (
	Healthy          = "Healthy"
	Degraded         = "Degraded (Warning)"
	DriftCritical    = "Critical (Drift Detected)"
	AccuracyCritical = "Critical"
	Trustworthy      = "Trustworthy"
	Questionable     = "Questionable"
	ActionRetrain    = "retrain"
)

// Names of the well-known rules the typed helpers evaluate.
const (
	RuleDriftHealth    = "drift_health"
	RuleDriftAction    = "drift_action"
	RuleEvalStatus     = "eval_status"
	RuleAccuracyHealth = "accuracy_health"
)

// wellKnown describes the rules the service reads: which inputs they receive,
// whether a policy must define them, and which results are valid (nil stands
// for None).
var wellKnown = []struct {
	name     string
	group    Group
	required bool
	results  []any
}{
	{RuleDriftHealth, GroupDrift, true, []any{Healthy, Degraded, DriftCritical}},
	{RuleDriftAction, GroupDrift, false, []any{nil, ActionRetrain}},
	{RuleEvalStatus, GroupEval, true, []any{Trustworthy, Questionable}},
	{RuleAccuracyHealth, GroupAccuracy, true, []any{Healthy, Degraded, AccuracyCritical}},
}

// samples are typical inputs per group. Load evaluates every well-known rule on
// each of them, so a rule that always raises (compares a string with a number,
// divides by an input that is never zero in practice…) or returns a value
// outside its list stops start-up instead of the first request. Values are
// deliberately ordinary: no zeros, no None.
var samples = map[Group][]map[string]any{
	GroupDrift: {
		{"drift_score": 0.3, "volatility_ratio": 1.05, "max_psi": 0.02, "ks_pvalue_min": 0.4, "max_ks_stat": 0.08, "ticker": "AAPL", "is_parent": false},
		{"drift_score": 1.4, "volatility_ratio": 0.55, "max_psi": 0.15, "ks_pvalue_min": 0.03, "max_ks_stat": 0.25, "ticker": "MSFT", "is_parent": false},
		{"drift_score": 2.7, "volatility_ratio": 2.8, "max_psi": 0.4, "ks_pvalue_min": 0.0001, "max_ks_stat": 0.6, "ticker": "^GSPC", "is_parent": true},
	},
	GroupEval: {
		{"overall_score": 1.0, "checks_failed": 0, "checks_total": 5, "ticker": "AAPL", "is_parent": false},
		{"overall_score": 0.4, "checks_failed": 3, "checks_total": 5, "ticker": "^GSPC", "is_parent": true},
	},
	GroupAccuracy: {
		{"lstm_mae": 1.8, "naive_mae": 2.0, "skill_vs_naive": 0.9, "interval_coverage": 0.91, "ticker": "AAPL", "is_parent": false},
		{"lstm_mae": 2.1, "naive_mae": 2.0, "skill_vs_naive": 1.05, "interval_coverage": 0.8, "ticker": "MSFT", "is_parent": false},
		{"lstm_mae": 3.0, "naive_mae": 2.0, "skill_vs_naive": 1.5, "interval_coverage": 0.6, "ticker": "^GSPC", "is_parent": true},
	},
}
