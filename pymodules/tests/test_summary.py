"""The one-line summary: skill against "no change" and band coverage, and plain words for no skill."""

from stockagent.forecast import summary

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
    assert summary.line({**META, "backtest": {"coverage": 0.8}}).endswith("80% band held 80% (backtest).")
