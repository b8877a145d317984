"""The one-line honest summary every forecast carries: skill against "no change", and band coverage.

Skill is the served forecast's held-out MAE over the naive one's (mean over horizons 1, 5, 21,
63; train.py's ``served_skill_vs_naive``), with its 95% interval when measured
(``served_skill_interval``, evaluation.skill_interval). Only when all of that interval is below 1
does the line say by how much it was better; at 1 or above, when the interval reaches 1, or when
unknown, it tells the user plainly to read the forecast as "no change" with a band.
The band's coverage is the newest stored walk-forward backtest's when the model has one
(:func:`backtest_coverage`: its LSTM's 80% band, the mean over the horizons it scored), else the
held-out test windows'.
"""

from __future__ import annotations

TIMES, DASH = "\u00d7", "\u2013"  # the multiplication sign and the en dash
NO_SKILL = "No measurable skill over 'no change': treat the forecast as 'no change' with a band."


def backtest_coverage(result: dict | None) -> tuple[float, str] | None:
    """The 80% band's coverage a stored walk-forward backtest (backtest_results.py) measured for
    the model's served forecast (else its LSTM), as the mean over the horizons it scored, and the
    period it covered; None without a backtest or without such rows (a backtest of the baselines
    alone says nothing of this model's bands)."""
    if not result:
        return None
    rows = [r for r in result.get("scores", []) if isinstance((r.get("coverage") or {}).get("80"), (int, float))]
    alias = next((a for a in ("served", "lstm") if any(r.get("forecaster") == a for r in rows)), None)
    if alias is None:
        return None
    values = [r["coverage"]["80"] for r in rows if r.get("forecaster") == alias]
    span = result.get("data_range", {})
    period = f"{str(span.get('first_origin', '?'))[:7]}{DASH}{str(span.get('last_outcome', '?'))[:7]}"
    return sum(values) / len(values), period


def line(meta: dict, backtest: dict | None = None) -> str:
    """The summary of a version from its meta.json and the model's newest stored backtest."""
    metrics, interval = meta.get("metrics", {}), meta.get("interval", {})
    skill = metrics.get("served_skill_vs_naive", metrics.get("skill_vs_naive"))
    test = meta.get("data", {}).get("test", {})
    period = f"{test.get('first_cutoff', '?')[:7]}{DASH}{test.get('last_target', '?')[:7]}"
    walked = backtest_coverage(backtest)
    coverage, source = (walked[0], f"backtest {walked[1]}") if walked else (None, "")
    if coverage is None:
        coverage, source = interval.get("test_coverage"), "held-out"
    band = f"{round(100 * interval.get('coverage_target', 0.8))}% band"
    held = f"{band} held {round(100 * coverage)}% ({source})" if coverage is not None else f"{band} not measured"
    if skill is None:
        return f"{NO_SKILL} No held-out error was measured; {held}."
    ratio = f"Held-out error vs 'no change': {skill:.2f}{TIMES}"
    ci = metrics.get("served_skill_interval")
    within = f"95% interval {ci[0]:.2f}{DASH}{ci[1]:.2f}" if ci else None
    if skill >= 1 or (ci and ci[1] >= 1):
        return f"{NO_SKILL} {ratio}{f' ({within})' if within else ''} over {period}; {held}."
    better = round(100 * (1 - skill))
    said = f"{better}%" if better >= 1 else "under 1%"
    return f"{ratio} ({said} better{f'; {within}' if within else ''}) over {period}; {held}."
