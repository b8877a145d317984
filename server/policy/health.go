package policy

import (
	"fmt"
	"math"

	"github.com/go-python/gpython/py"
)

// wellKnownResult converts a well-known rule's result and checks it against
// the values the service knows.
func wellKnownResult(name string, globals py.StringDict) (any, error) {
	v, err := fromPy(globals[name])
	if err != nil {
		return nil, &EvalError{Rule: name, Err: err}
	}
	for _, wk := range wellKnown {
		if wk.name != name {
			continue
		}
		for _, ok := range wk.results {
			if v == ok {
				return v, nil
			}
		}
		return nil, &EvalError{Rule: name, Err: fmt.Errorf("%w %#v; want one of %s", ErrResultValue, v, formatResults(wk.results))}
	}
	return v, nil
}

func formatResults(rs []any) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ", "
		}
		if r == nil {
			s += "None"
		} else {
			s += fmt.Sprintf("%q", r)
		}
	}
	return s
}

// withInputs copies extra and adds the measurements a helper passes itself;
// extra may not set those.
func withInputs(helper string, extra map[string]any, own map[string]float64) (map[string]any, error) {
	in := make(map[string]any, len(extra)+len(own))
	for k, v := range extra {
		if _, ok := own[k]; ok {
			return nil, fmt.Errorf("policy: %s: extra sets %s, which %s passes itself", helper, k, helper)
		}
		in[k] = v
	}
	for k, v := range own {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("%w: %s", ErrNaN, k)
		}
		in[k] = v
	}
	return in, nil
}

// DriftHealth applies the drift rules: health is Healthy, Degraded or
// DriftCritical; action is "" or ActionRetrain ("" also when the policy has no
// drift_action rule). extra carries the other drift inputs (max_psi,
// ks_pvalue_min, max_ks_stat, ticker, is_parent); pass every one you have, since a policy
// may read any of them. NaN score or ratio is ErrNaN.
func (p *Policy) DriftHealth(score, ratio float64, extra map[string]any) (health, action string, err error) {
	in, err := withInputs("DriftHealth", extra, map[string]float64{"drift_score": score, "volatility_ratio": ratio})
	if err != nil {
		return "", "", err
	}
	globals, err := p.run(p.drift, in)
	if err != nil {
		return "", "", err
	}
	h, err := wellKnownResult(RuleDriftHealth, globals)
	if err != nil {
		return "", "", err
	}
	if _, ok := p.byName[RuleDriftAction]; ok {
		a, err := wellKnownResult(RuleDriftAction, globals)
		if err != nil {
			return "", "", err
		}
		action, _ = a.(string)
	}
	return h.(string), action, nil
}

// EvalStatus applies the agent-evaluation rule: Trustworthy or Questionable.
// extra carries checks_failed, checks_total, ticker and is_parent.
func (p *Policy) EvalStatus(overall float64, extra map[string]any) (string, error) {
	in, err := withInputs("EvalStatus", extra, map[string]float64{"overall_score": overall})
	if err != nil {
		return "", err
	}
	globals, err := p.run(p.eval, in)
	if err != nil {
		return "", err
	}
	s, err := wellKnownResult(RuleEvalStatus, globals)
	if err != nil {
		return "", err
	}
	return s.(string), nil
}

// AccuracyHealth applies the model-accuracy rule to held-out MAEs: Healthy,
// Degraded or AccuracyCritical. It passes skill_vs_naive = lstmMAE/naiveMAE
// (1 when both are zero, +Inf when only the baseline is). extra carries
// interval_coverage, ticker and is_parent.
func (p *Policy) AccuracyHealth(lstmMAE, naiveMAE float64, extra map[string]any) (string, error) {
	skill := 1.0
	switch {
	case naiveMAE > 0:
		skill = lstmMAE / naiveMAE
	case lstmMAE > 0:
		skill = math.Inf(1)
	}
	in, err := withInputs("AccuracyHealth", extra, map[string]float64{
		"lstm_mae": lstmMAE, "naive_mae": naiveMAE, "skill_vs_naive": skill,
	})
	if err != nil {
		return "", err
	}
	globals, err := p.run(p.accuracy, in)
	if err != nil {
		return "", err
	}
	s, err := wellKnownResult(RuleAccuracyHealth, globals)
	if err != nil {
		return "", err
	}
	return s.(string), nil
}
