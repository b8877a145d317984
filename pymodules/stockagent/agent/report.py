"""Reading a report: the strict parse of its stance lines and the critic's deterministic checks.

The parse reads only labelled lines (``Market Stance: BULLISH``, ``Confidence: Medium``; markdown
bold and list markers around the label are allowed) and only whole words after the label, case
insensitive. So "higher", "below" or "highly" anywhere in the prose are never read as a stance or
a confidence, and "Confidence: Highly uncertain" has no confidence. A value followed by another
stance word on the same line ("BULLISH or BEARISH") is ambiguous and not read. When several lines
qualify, the last one wins (the report ends with them).

The checks (:func:`check`) compare the report with the forecast facts (tools.forecast_facts):
a stance against the forecast's clear one-month direction needs a ``Stance rationale:`` line,
and every ``$`` amount must be one of the prices the prompts showed (tools.format_facts).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

STANCES = ("BULLISH", "BEARISH", "NEUTRAL")
CONFIDENCES = ("High", "Medium", "Low")

_PREFIX = r"^[ \t>*_#\-]*"  # markdown around a label: quote, bold, heading, list marker
_SEP = r"[ \t*_]*[:=\-–—][ \t*_]*"
_STANCE_LINE = re.compile(_PREFIX + r"market[ \t]+stance" + _SEP + r"(bullish|bearish|neutral)\b(.*)$", re.I | re.M)
_CONF_LINE = re.compile(_PREFIX + r"confidence(?:[ \t]+level)?" + _SEP + r"(high|medium|low)\b(.*)$", re.I | re.M)
_ANY_STANCE = re.compile(r"\b(bullish|bearish|neutral)\b", re.I)
_ANY_CONF = re.compile(r"\b(high|medium|low)\b", re.I)
_LABEL_LINE = re.compile(_PREFIX + r"(?:market[ \t]+stance|confidence(?:[ \t]+level)?)" + _SEP + r".*$\n?", re.I | re.M)
_RATIONALE = re.compile(_PREFIX + r"stance[ \t]+rationale[ \t*_]*:[ \t*_]*(.+)$", re.I | re.M)
_PRICE = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")
PRICE_TOLERANCE = 0.01  # a quoted price within 1% of a known one is that price, rounded


@dataclasses.dataclass(frozen=True)
class Parsed:
    stance: str | None  # BULLISH / BEARISH / NEUTRAL, or None when no line qualifies
    confidence: str | None  # High / Medium / Low, or None
    rationale: str | None  # the text of a "Stance rationale:" line


def _last_value(pattern: re.Pattern, other: re.Pattern, text: str) -> str | None:
    value = None
    for m in pattern.finditer(text):
        if not other.search(m.group(2)):  # "BULLISH or BEARISH" names no single stance
            value = m.group(1)
    return value


def parse(text: str) -> Parsed:
    stance = _last_value(_STANCE_LINE, _ANY_STANCE, text)
    conf = _last_value(_CONF_LINE, _ANY_CONF, text)
    rationale = None
    for m in _RATIONALE.finditer(text):
        rationale = m.group(1).strip(" *_")
    return Parsed(stance.upper() if stance else None, conf.capitalize() if conf else None, rationale or None)


def strip_labels(text: str) -> str:
    """The report without its ``Market Stance:`` / ``Confidence:`` lines (finalize writes its own)."""
    return _LABEL_LINE.sub("", text).strip()


def stance_from_forecast(direction: str) -> str:
    """The labelled fallback stance: the forecast's own one-month direction."""
    return {"up": "BULLISH", "down": "BEARISH"}.get(direction, "NEUTRAL")


def opposes(stance: str | None, direction: str) -> bool:
    """Whether a stance goes against a clear forecast direction (flat opposes nothing)."""
    return (stance == "BULLISH" and direction == "down") or (stance == "BEARISH" and direction == "up")


def has_reason(parsed: Parsed) -> bool:
    return parsed.rationale is not None and len(parsed.rationale.split()) >= 4


def unsupported_prices(text: str, known: list[float]) -> list[str]:
    """``$`` amounts in ``text`` that are no known price (within PRICE_TOLERANCE), as written."""
    bad = []
    for m in _PRICE.finditer(text):
        value = float(m.group(1).replace(",", ""))
        if value < 0.01:
            continue
        if not any(abs(value - k) <= PRICE_TOLERANCE * max(k, 0.01) for k in known):
            bad.append("$" + m.group(1))
    return list(dict.fromkeys(bad))


def check(text: str, facts: Mapping[str, Any]) -> list[dict[str, str]]:
    """Problems the critic sends back: ``[{code, detail}]`` (empty: the draft is acceptable).

    codes: ``no_stance_line``, ``no_confidence_line``, ``stance_contradicts_forecast``,
    ``unsupported_price``.
    """
    parsed = parse(text)
    problems = []
    if parsed.stance is None:
        problems.append(
            {"code": "no_stance_line", "detail": "the report has no line 'Market Stance: BULLISH|BEARISH|NEUTRAL'"}
        )
    if parsed.confidence is None:
        problems.append(
            {"code": "no_confidence_line", "detail": "the report has no line 'Confidence: High|Medium|Low'"}
        )
    direction, move, days = (
        facts.get("direction", "flat"),
        facts.get("direction_move_pct", 0.0),
        facts.get("direction_days", 21),
    )
    if opposes(parsed.stance, direction) and not has_reason(parsed):
        problems.append(
            {
                "code": "stance_contradicts_forecast",
                "detail": f"the stance is {parsed.stance} but the {days}-day forecast is {direction} "
                f"({move:+.1f}%) and no 'Stance rationale:' line says why",
            }
        )
    bad = unsupported_prices(strip_labels(text), list(facts.get("known_prices") or []))
    if bad:
        problems.append(
            {
                "code": "unsupported_price",
                "detail": "prices not in the forecast or recent history: " + ", ".join(bad[:6]),
            }
        )
    return problems


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
