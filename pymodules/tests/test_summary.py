"""The one-line summary: skill against "no change" and band coverage, and plain words for no skill."""

import numpy as np

from stockagent.forecast import evaluation, summary

META = {
    "data": {"test": {"first_cutoff": "2022-03-01", "last_target": "2024-12-31"}},
    "metrics": {"skill_vs_naive": 1.2, "served_skill_vs_naive": 0.99},
    "interval": {"coverage_target": 0.8, "test_coverage": 0.781},
}


def _with(**metrics):
    return {**META, "metrics": metrics}


def test_skill_is_said_with_its_period_and_coverage():
    assert summary.line(META) == (
        "Held-out error vs 'no change': 0.99\u00d7 (1% better) over 2022-03\u20132024-12; 80% band held 78% (held-out)."
    )
    assert "(under 1% better)" in summary.line(_with(served_skill_vs_naive=0.996))


def test_no_skill_is_said_plainly():
    for metrics in ({"served_skill_vs_naive": 1.0}, {"served_skill_vs_naive": 1.07}, {"skill_vs_naive": 1.3}):
        line = summary.line(_with(**metrics))
        assert line.startswith(summary.NO_SKILL), line
    assert summary.line(_with(served_skill_vs_naive=1.07)) == (
        "No measurable skill over 'no change': treat the forecast as 'no change' with a band. "
        "Held-out error vs 'no change': 1.07\u00d7 over 2022-03\u20132024-12; 80% band held 78% (held-out)."
    )
    assert summary.line(_with()).startswith(summary.NO_SKILL + " No held-out error was measured")


def test_a_stored_backtest_coverage_wins():
    rows = [
        {"horizon": 1, "forecaster": "lstm", "coverage": {"80": 0.79, "95": 0.95}},
        {"horizon": 5, "forecaster": "lstm", "coverage": {"80": 0.83, "95": 0.96}},
        {"horizon": 1, "forecaster": "naive", "coverage": {"80": 0.5, "95": 0.6}},
    ]
    result = {"scores": rows, "data_range": {"first_origin": "2023-01-03", "last_outcome": "2023-12-29"}}
    assert summary.line(META, result).endswith("80% band held 81% (backtest 2023-01\u20132023-12).")
    # the served forecast's bands, when scored, are what users get
    served = [{"horizon": 1, "forecaster": "served", "coverage": {"80": 0.7, "95": 0.9}}]
    assert summary.line(META, result | {"scores": rows + served}).endswith(
        "80% band held 70% (backtest 2023-01–2023-12)."
    )
    # a backtest of the baselines alone says nothing of this model's bands
    assert summary.line(META, {"scores": rows[2:]}) == summary.line(META)


def test_an_interval_reaching_one_is_no_skill():
    skilled = summary.line(_with(served_skill_vs_naive=0.95, served_skill_interval=[0.91, 0.99]))
    assert skilled.startswith("Held-out error vs 'no change': 0.95\u00d7 (5% better; 95% interval 0.91\u20130.99)")
    unsure = summary.line(_with(served_skill_vs_naive=0.95, served_skill_interval=[0.88, 1.02]))
    assert unsure.startswith(summary.NO_SKILL + " Held-out error vs 'no change': 0.95\u00d7 (95% interval 0.88")


def _windows(m, targets):
    from stockagent.forecast.dataset import Windows

    zeros = np.zeros(m)
    return Windows(np.zeros((m, 60, 7), np.float32), targets, np.arange(m), zeros + 100.0, zeros, zeros)


def test_the_skill_interval_brackets_what_the_data_say():
    rng = np.random.default_rng(0)
    m = 400
    targets = rng.normal(0, 0.03, (m, 63, 5)).astype(np.float32)
    w, naive = _windows(m, targets), np.zeros((m, 63, 5))
    lo, hi = evaluation.skill_interval(w, 0.5 * targets.astype(np.float64), naive)
    assert hi < 1  # a forecast that halves every error: skill, surely
    lo, hi = evaluation.skill_interval(w, rng.normal(0, 0.001, (m, 63, 5)), naive)
    assert lo < 1 < hi  # noise around "no change": no telling
    assert evaluation.skill_interval(_windows(100, targets[:100]), naive[:100], naive[:100]) is None  # < 2 blocks
