# Health policy: the rules that turn monitoring measurements into health levels.
#
# The service evaluates these rules with gpython (a Python interpreter written
# in Go), never with the ML interpreter. To change them, point the server's
# policy setting at an edited copy of this file; a file that does not load stops
# the server at start-up, naming the line and the reason.
#
# Format
#   - One rule per statement:  name = <one Python expression>
#     A rule may continue over several lines inside (), [] or {}.
#   - Lines starting with # are comments; blank lines are ignored.
#   - A rule may use the inputs below, the rules ABOVE it (by name), literals,
#     operators (arithmetic on numbers only), comparisons, and/or/not,
#     `x if cond else y`, and the builtins abs, float, int, len, max, min, str.
#   - Refused when the file loads: statements (import, def, for, ...), lambda,
#     comprehensions and generator expressions, yield, attribute access
#     (x.y, and every __dunder__ name), calls to anything else, unknown names,
#     names of later rules, bit shifts, ** with anything but a small literal
#     exponent (-8..8), and arithmetic on anything not known to be a number
#     (wrap a value of unknown type in float()). A rule must produce None, a
#     bool, an int, a float or a str. The rules the service reads are also run
#     on a few typical inputs while loading, so one that always fails is refused.
#
# Rules the service reads
#   drift_health     "Healthy", "Degraded (Warning)" or "Critical (Drift Detected)"
#   drift_action     "retrain" or None (optional; "retrain" retrains the model)
#   eval_status      "Trustworthy" or "Questionable"
#   accuracy_health  "Healthy", "Degraded (Warning)" or "Critical"
# Other rules may be added as intermediate values.
#
# Inputs (any of them may be None when it was not measured)
#   drift rules (drift_health, drift_action):
#     drift_score        float  mean over features of |current mean - reference mean| / reference std
#     volatility_ratio   float  std of current daily close returns / std of the reference ones
#     max_psi            float  largest population stability index over the features
#     ks_pvalue_min      float  smallest Kolmogorov-Smirnov p-value over the features
#     max_ks_stat        float  largest two-sample Kolmogorov-Smirnov statistic over the features
#   agent-evaluation rules (eval_status):
#     overall_score      float  mean of the checks, 0..1
#     checks_failed      int    number of checks that failed
#     checks_total       int    number of checks run
#   accuracy rules (accuracy_health):
#     lstm_mae           float  held-out MAE of the model
#     naive_mae          float  held-out MAE of the naive baseline (last close carried forward)
#     skill_vs_naive     float  lstm_mae / naive_mae (below 1: the model beats the baseline)
#     interval_coverage  float  share of held-out closes inside the model's interval, 0..1
#   every rule:
#     ticker             str    the symbol
#     is_parent          bool   True for the parent (market) model

# The old service's drift thresholds (docs/api.md, "Monitoring").
drift_health = (
    "Critical (Drift Detected)" if drift_score > 2.0 or volatility_ratio > 2.5 or volatility_ratio < 0.4
    else "Degraded (Warning)" if drift_score > 1.0 or volatility_ratio > 1.5 or volatility_ratio < 0.6
    else "Healthy"
)

# Retrain a model whose drift is critical.
drift_action = "retrain" if drift_health == "Critical (Drift Detected)" else None

# The old agent-evaluation threshold: trustworthy strictly above 0.6.
eval_status = "Trustworthy" if overall_score > 0.6 else "Questionable"

# The model against the naive baseline on held-out data: no worse is healthy,
# up to 10% worse is a warning, more is critical.
accuracy_health = (
    "Healthy" if skill_vs_naive <= 1.0
    else "Degraded (Warning)" if skill_vs_naive <= 1.1
    else "Critical"
)
