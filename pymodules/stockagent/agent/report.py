"""The report a reader sees: the data rendered by code, the model's checked fields beside it.

:func:`data_section` writes the facts (last close, the forecast and its 80% range per horizon,
the held-out error against "no change", the latest drift check, the headlines with their source
and date) in a fixed layout; no model writes any of it. :func:`model_section` shows what the model wrote under its
schema (agent/fields.py) once each field passed its checks, and says which were left out.
:func:`check` is the critic's deterministic look at the model's fields: a stance, a confidence,
and a stance against the forecast's clear one-month direction only with a stated rationale.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from . import tools
from .fields import NARRATIVE_CHARS, Fields, Reviewed

DATA_HEADING = "### From the data"
DATA_NOTE = "_Computed from the forecast and the news feed; no language model wrote this part._"
MODEL_HEADING = "### From the language model"


def stance_from_forecast(direction: str) -> str:
    """The labelled fallback stance: the forecast's own one-month direction."""
    return {"up": "BULLISH", "down": "BEARISH"}.get(direction, "NEUTRAL")


def opposes(stance: str | None, direction: str) -> bool:
    """Whether a stance goes against a clear forecast direction (flat opposes nothing)."""
    return (stance == "BULLISH" and direction == "down") or (stance == "BEARISH" and direction == "up")


def has_reason(rationale: str | None) -> bool:
    return rationale is not None and len(rationale.split()) >= 4


def check(fields: Fields, facts: Mapping[str, Any]) -> list[dict[str, str]]:
    """Problems the critic sends back: ``[{code, detail}]`` (empty: the answer is acceptable).

    codes: ``no_stance``, ``no_confidence``, ``stance_contradicts_forecast``.
    """
    problems = []
    if fields.stance is None:
        problems.append({"code": "no_stance", "detail": "the answer has no stance (BULLISH, BEARISH or NEUTRAL)"})
    if fields.confidence is None:
        problems.append({"code": "no_confidence", "detail": "the answer has no confidence (High, Medium or Low)"})
    direction, move, days = (
        facts.get("direction", "flat"),
        facts.get("direction_move_pct", 0.0),
        facts.get("direction_days", 21),
    )
    if opposes(fields.stance, direction) and not has_reason(fields.rationale):
        problems.append(
            {
                "code": "stance_contradicts_forecast",
                "detail": f"the stance is {fields.stance} but the {days}-day forecast is {direction} "
                f"({move:+.1f}%) and no rationale says why",
            }
        )
    return problems


# --- rendering ---------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|"})


def _escape(text: str, limit: int = tools.MAX_TITLE_CHARS) -> str:
    """Feed or model text as literal markdown: one line, no emphasis, links or headings of its own."""
    return tools.clean_line(text, limit).translate(_MD_SPECIAL)


def _link(url: str) -> str | None:
    parsed = urllib.parse.urlsplit(url or "")
    ok = parsed.scheme in ("http", "https") and parsed.netloc and not any(c in url for c in " ()<>")
    return url if ok else None


def _days(n: int) -> str:
    return {5: "1 week", 21: "1 month", 63: "1 quarter"}.get(n, f"{n} days") + f" ({n} trading days)"


def data_section(facts: Mapping[str, Any], headlines: Sequence[Mapping[str, Any]], news_source: str) -> str:
    """The facts in their fixed layout (markdown)."""
    f = facts
    lines = [DATA_HEADING, DATA_NOTE, ""]
    version = f" (forecast model {f['model_version']})" if f.get("model_version") else ""
    lines.append(f"**{_escape(f['ticker'])}** last closed at **${f['last_close']:.2f}** on {f['last_date']}{version}.")
    lines.append("")
    for h in f["horizons"].values():
        line = f"- **{_days(h['days'])}**, {h['date']}: ${h['close']:.2f}, {h['move_pct']:+.1f}% ({h['direction']})"
        if "low" in h:
            line += f"; 80% range ${h['low']:.2f} to ${h['high']:.2f}"
        lines.append(line)
    lines.append("")
    verb = {"up": "rises", "down": "falls"}.get(f["direction"], "stays flat")
    lines.append(
        f"Direction over {f['direction_days']} trading days: **{f['direction'].upper()}**, the forecast {verb} "
        f"({f['direction_move_pct']:+.1f}%; moves within ±{f['band_pct']:g}% count as flat)."
    )
    if f["accuracy"]:
        period = f.get("test_period") or {}
        when = f", {period['from']} to {period['to']}" if period.get("from") and period.get("to") else ""
        lines += ["", f'**Skill against "no change"** (mean absolute error on held-out data{when}):']
        for h, a in f["accuracy"].items():
            word = "better" if a["vs_naive_pct"] < 0 else "worse"
            lines.append(
                f"- {h} trading days: model ${a['model_mae']:.2f}, no change ${a['naive_mae']:.2f} "
                f"({abs(a['vs_naive_pct']):.1f}% {word})"
            )
    if f.get("skill_vs_naive") is not None:
        verdict = "beats" if f["beats_naive"] else "does not beat"
        lines += ["", f'Error ratio to "no change": {f["skill_vs_naive"]:.2f}: the model {verdict} it.']
    if f.get("interval_coverage") is not None and f.get("interval_coverage_target") is not None:
        lines.append(
            f"The 80% range held {f['interval_coverage'] * 100:.0f}% of held-out outcomes "
            f"(target {f['interval_coverage_target'] * 100:.0f}%)."
        )
    if f.get("summary"):
        lines += ["", f"**In one line:** {_escape(f['summary'], 400)}"]
    lines += ["", *_drift_lines(f.get("drift"), f.get("model_version")), ""]
    label = tools.source_label(news_source if headlines else "none")
    if headlines:
        lines.append(f"**News:** {label}: {count(headlines)}.")
        for h in headlines:
            title = _escape(h.get("title", ""))
            url = _link(h.get("url", ""))
            where = ", ".join(x for x in (_escape(h.get("publisher", "")), (h.get("published") or "")[:10]) if x)
            lines.append(f"- {f'[{title}]({url})' if url else title}" + (f" ({where})" if where else ""))
    else:
        lines.append("**News:** no news available offline (no headlines were fetched).")
    return "\n".join(lines)


def _drift_lines(d: Mapping[str, Any] | None, forecast_version: str | None) -> list[str]:
    """The latest drift check (tools.drift_facts): its verdict, when, and each statistic beside the
    thresholds the verdict applies."""
    if d is None:
        return ["**Drift:** no drift check yet."]
    version = ""
    if d.get("model_version"):
        other = ", not the forecast's" if forecast_version and d["model_version"] != forecast_version else ""
        version = f", on model version {_escape(d['model_version'])}{other}"
    window = f"the last {d['window_days']} trading days" if d.get("window_days") else "recent days"
    score, ratio = d["score_limits"], d["ratio_limits"]
    return [
        f"**Drift** of the model's inputs over {window} against its training data (checked {d['checked']}"
        f"{version}): **{_escape(d['health'])}**.",
        f"- Drift score {d['drift_score']:.2f} (degraded above {score['degraded']:g}, critical above "
        f"{score['critical']:g}).",
        f"- Volatility ratio {d['volatility_ratio']:.2f} (degraded outside {ratio['degraded'][0]:g} to "
        f"{ratio['degraded'][1]:g}, critical outside {ratio['critical'][0]:g} to {ratio['critical'][1]:g}).",
    ]


def model_section(model: str, sentiment: str | None, reviewed: Reviewed) -> str:
    """What the model wrote that passed its checks, and a note for each field left out."""
    lines = [
        MODEL_HEADING,
        f"_Short fields written by {_escape(model)} under a fixed schema, each checked against the data above._",
        "",
    ]
    if sentiment:
        lines.append(f"- Tone of the headlines: {sentiment}")
    lines += [f"- {_escape(r)}" for r in reviewed.reasons]
    if reviewed.narrative:
        lines += ["", *(_escape(p, NARRATIVE_CHARS) + "\n" for p in reviewed.narrative.split("\n\n") if p.strip())]
    if reviewed.rationale:
        lines += ["", f"Stance rationale: {_escape(reviewed.rationale)}"]
    if reviewed.notes:
        lines += ["", *(f"_Left out: {_escape(n)}._" for n in reviewed.notes)]
    return "\n".join(lines)


def count(headlines: Sequence[Any]) -> str:
    return f"{len(headlines)} headline{'s' if len(headlines) != 1 else ''}"


SENTIMENTS = ("positive", "negative", "mixed")
_SENTIMENT_LINE = re.compile(r"sentiment[ \t*_]*[:=\-–—][ \t*_]*(positive|negative|mixed|neutral)\b", re.I)
_SENTIMENT_WORD = re.compile(r"\b(positive|negative|mixed|neutral)\b", re.I)


def parse_sentiment(text: str) -> str:
    """The news analyst's sentiment: a ``Sentiment:`` line, else the one sentiment word the text
    uses; "neutral" counts as mixed; "unclear" when the text names none or several."""
    m = _SENTIMENT_LINE.search(text)
    if m:
        word = m.group(1).lower()
    else:
        words = {w.lower() for w in _SENTIMENT_WORD.findall(text)}
        if len(words) != 1:
            return "unclear"
        word = words.pop()
    return "mixed" if word == "neutral" else word
