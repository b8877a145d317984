"""The one-line honest summary every forecast carries: skill against "no change", and band coverage.

Skill is the served forecast's held-out MAE over the naive one's (mean over horizons 1, 5, 21,
63; train.py's ``served_skill_vs_naive``), with its 95% interval when measured
(``served_skill_interval``, evaluation.skill_interval). Only when all of that interval is below 1
does the line say by how much it was better; at 1 or above, when the interval reaches 1, or when
unknown, it tells the user plainly to read the forecast as "no change" with a band.
The band's coverage is a stored backtest's when the version has one (:func:`backtest_coverage`),
else the held-out test windows'.
"""

from __future__ import annotations

TIMES, DASH = "\u00d7", "\u2013"  # the multiplication sign and the en dash
NO_SKILL = "No measurable skill over 'no change': treat the forecast as 'no change' with a band."


def backtest_coverage(meta: dict) -> float | None:
    """The interval coverage a walk-forward backtest measured for this version, if one is stored
    in its meta.json (``backtest.coverage``); None until then."""
    value = (meta.get("backtest") or {}).get("coverage")
    return float(value) if isinstance(value, (int, float)) else None


def line(meta: dict) -> str:
    """The summary of a version from its meta.json."""
    metrics, interval = meta.get("metrics", {}), meta.get("interval", {})
    skill = metrics.get("served_skill_vs_naive", metrics.get("skill_vs_naive"))
    test = meta.get("data", {}).get("test", {})
    period = f"{test.get('first_cutoff', '?')[:7]}{DASH}{test.get('last_target', '?')[:7]}"
    coverage, source = backtest_coverage(meta), "backtest"
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
