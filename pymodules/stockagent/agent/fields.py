"""What the model writes in a report: short fields under a JSON schema, and the checks each one
passes before a reader sees it.

The writer is asked for ``{stance, confidence, reasons[, rationale][, narrative]}`` under
:func:`schema`; llama.cpp compiles the schema into a grammar, so stance and confidence can only be
one of their words and every text field is bounded in length. ``narrative`` is asked only of a
server model (``LLM_BASE_URL``): a 135M model cannot write free prose.

Every text field then passes :func:`problem`: a phrase of the writer's instructions, a number
the facts do not contain (any rounding of a fact's value counts, as do the numbers of the
headlines), a ticker other than the one asked, a sentence written twice (within the field or in an
earlier field), a leaked prompt marker, or a length out of bounds fails, and the field is left out
with a note (:func:`review`). A follow-up answer is free prose and passes the same checks
(:func:`answer_problem`); one that fails is left out with a note too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import prompts

log = logging.getLogger(__name__)

STANCES = ("BULLISH", "BEARISH", "NEUTRAL")
CONFIDENCES = ("High", "Medium", "Low")
MAX_REASONS = 3
REASON_CHARS = 160  # one sentence
NARRATIVE_CHARS = 2000  # a few short paragraphs

# Prompt delimiters and headings: text of ours that a model copied instead of writing.
MARKERS = re.compile(r"<<<|>>>|market stance\s*:|confidence\s*:|stance rationale\s*:|quoted data|sentiment\s*:", re.I)
UPPER_MARKERS = re.compile(r"\b(?:[A-Z]+_NOTE|HEADLINES|DRAFT|FACTS)\b")  # markers only in capitals
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_CAPS = re.compile(r"\$[A-Za-z][A-Za-z.]{0,5}\b|\b[A-Z]{2,6}\b")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
MIN_WORDS = 4  # a reason shorter than this says nothing
COPY_WORDS = 5  # a field sharing this many words in a row with the writer's instructions copied them


def _grams(text: str, n: int = COPY_WORDS) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z]+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


_INSTRUCTIONS = _grams(re.sub(r"\{\w+\}", " ", prompts.ANALYST_SYSTEM + prompts.WRITER_USER + prompts.WRITER_NARRATIVE))

# Capitalized words that are no ticker: the stance words, the facts' own (a direction, the drift
# check's time zone) and common abbreviations of a stock note.
WORDS = frozenset(
    {*STANCES, *(c.upper() for c in CONFIDENCES), "AI", "CEO", "CFO", "EPS", "ETF", "EU", "GDP", "IPO", "LSTM", "MAE"}
    | {"SEC", "UK", "US", "USA", "USD", "OK", "Q", "UP", "DOWN", "FLAT", "UTC"}
)


@dataclasses.dataclass(frozen=True)
class Fields:
    """The writer's answer as parsed (text fields not yet checked)."""

    stance: str | None = None
    confidence: str | None = None
    reasons: tuple[str, ...] = ()
    rationale: str | None = None
    narrative: str | None = None


def schema(narrative: bool) -> dict[str, Any]:
    """The JSON schema of the writer's answer; ``narrative`` adds the longer text field."""
    text = {"type": "string", "minLength": 1}
    props: dict[str, Any] = {
        "stance": {"type": "string", "enum": list(STANCES)},
        "confidence": {"type": "string", "enum": list(CONFIDENCES)},
        "reasons": {
            "type": "array",
            "items": {**text, "maxLength": REASON_CHARS},
            "minItems": 1,
            "maxItems": MAX_REASONS,
        },
        "rationale": {**text, "maxLength": REASON_CHARS},
    }
    required = ["stance", "confidence", "reasons"]
    if narrative:
        # no maxLength here: llama.cpp writes a bound as nested optional rules, and its grammar
        # parser refuses that many; max_tokens bounds the text and review() its length
        props["narrative"] = text
        required.append("narrative")
    return {"type": "object", "properties": props, "required": required}


def _text(value: Any) -> str | None:
    return " ".join(value.split()) or None if isinstance(value, str) else None


def parse(text: str) -> Fields:
    """The writer's JSON; anything unreadable is simply absent (an empty Fields for non-JSON)."""
    try:
        data = json.loads(text)
    except ValueError:
        return Fields()
    if not isinstance(data, dict):
        return Fields()
    stance = str(data.get("stance", "")).upper()
    confidence = str(data.get("confidence", "")).capitalize()
    reasons = data.get("reasons")
    return Fields(
        stance=stance if stance in STANCES else None,
        confidence=confidence if confidence in CONFIDENCES else None,
        reasons=tuple(r for r in map(_text, reasons if isinstance(reasons, list) else []) if r)[: MAX_REASONS + 1],
        rationale=_text(data.get("rationale")),
        narrative=narrative.strip() or None if isinstance(narrative := data.get("narrative"), str) else None,
    )


# --- the checks ----------------------------------------------------------------------------------


def _numbers(value: Any) -> Iterable[float]:
    """Every number in a fact: numeric values, and the numbers written in its strings (dates)."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        yield abs(float(value))
        if 0 < abs(value) <= 1:  # a fraction (coverage, skill) may be written as a percentage
            yield abs(float(value)) * 100
    elif isinstance(value, str):
        for m in _NUMBER.finditer(value):
            yield float(m.group().replace(",", ""))
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _numbers(k)
            yield from _numbers(v)
    elif isinstance(value, Sequence):
        for v in value:
            yield from _numbers(v)


def known_numbers(facts: Mapping[str, Any], headlines: Sequence[Mapping[str, Any]] = ()) -> set[float]:
    """The numbers a field may write: the facts' and the headline titles' (80: the range's level)."""
    return {80.0, *_numbers(dict(facts)), *_numbers([h.get("title", "") for h in headlines])}


def _supported(written: str, known: set[float]) -> bool:
    """Whether a written number is some known number rounded to the decimals it shows."""
    digits = written.replace(",", "")
    decimals = len(digits.partition(".")[2])
    x = float(digits)
    return any(abs(x - k) <= 0.5 * 10**-decimals + 1e-9 for k in known)


def _sentences(text: str) -> list[str]:
    out = []
    for m in _SENTENCE.finditer(text):
        words = re.sub(r"[^\w%$.]+", " ", m.group().lower()).strip(" .")
        if len(words.split()) >= 2:
            out.append(words)
    return out


def _loops(text: str) -> bool:
    """A phrase of three words said three times or more ("mixed, mixed, mixed …")."""
    words = re.findall(r"\w+", text.lower())
    grams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return any(grams.count(g) >= 3 for g in set(grams))


def problem(
    text: str,
    *,
    ticker: str,
    known: set[float],
    seen: set[str],
    max_chars: int,
    allowed_words: frozenset[str] = frozenset(),
    sentence: bool = False,
) -> str | None:
    """Why ``text`` may not be shown (None: it may). ``seen`` holds the sentences of the fields
    already accepted; this field's sentences are added to it when it passes. ``sentence``: the
    field must be one whole sentence (a few words, ending with its full stop)."""
    if not text.strip():
        return "it is empty"
    if len(text) > max_chars:
        return f"it is longer than {max_chars} characters"
    if sentence and (len(text.split()) < MIN_WORDS or not text.rstrip().endswith((".", "!", "?"))):
        return "it is not a whole sentence"
    if MARKERS.search(text) or UPPER_MARKERS.search(text):
        return "it copies a marker of the prompt"
    if _grams(text) & _INSTRUCTIONS:
        return "it copies the prompt's instructions"
    # The reasons name no offending text: it must not reach the reader through the note either.
    bad = [n for n in (m.group() for m in _NUMBER.finditer(text)) if not _supported(n, known)]
    if bad:
        log.info("a field writes numbers the facts lack: %s", ", ".join(dict.fromkeys(bad[:4])))
        return "it writes a number the data does not contain"
    asked = ticker.upper().lstrip("^$")
    others = [
        w
        for w in (m.group().lstrip("$") for m in _CAPS.finditer(text))
        if w.upper() != asked and w.upper() not in WORDS and w.upper() not in allowed_words
    ]
    if others:
        log.info("a field names %s besides %s", ", ".join(dict.fromkeys(others[:3])), ticker)
        return f"it names a symbol other than {ticker}"
    sentences = _sentences(text)
    if len(set(sentences)) < len(sentences) or seen.intersection(sentences) or _loops(text):
        return "it repeats a sentence"
    seen.update(sentences)
    return None


def _named(headlines: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """Capitalized words of the headlines (company and product names): the news, not other tickers."""
    return frozenset(w.upper() for h in headlines for w in re.findall(r"\b[A-Z]{2,6}\b", h.get("title", "")))


def answer_problem(
    text: str, facts: Mapping[str, Any], *, ticker: str, headlines: Sequence[Mapping[str, Any]] = ()
) -> str | None:
    """Why a follow-up answer may not be shown (None: it may): :func:`problem` with the facts' and
    the headlines' numbers, as for a report's narrative."""
    return problem(
        text,
        ticker=ticker,
        known=known_numbers(facts, headlines),
        seen=set(),
        max_chars=NARRATIVE_CHARS,
        allowed_words=_named(headlines),
    )


@dataclasses.dataclass(frozen=True)
class Reviewed:
    """The fields a reader may see, and a note for each one left out."""

    reasons: tuple[str, ...]
    rationale: str | None
    narrative: str | None
    notes: tuple[str, ...]


def review(
    fields: Fields, facts: Mapping[str, Any], *, ticker: str, headlines: Sequence[Mapping[str, Any]] = ()
) -> Reviewed:
    """Each text field checked by :func:`problem`; a failing one is left out with a note."""
    known = known_numbers(facts, headlines)
    allowed = _named(headlines)
    seen: set[str] = set()
    notes: list[str] = []

    def keep(name: str, text: str | None, max_chars: int, sentence: bool = True) -> str | None:
        if text is None:
            return None
        why = problem(
            text, ticker=ticker, known=known, seen=seen, max_chars=max_chars, allowed_words=allowed, sentence=sentence
        )
        if why:
            notes.append(f"{name}: {why}")
            return None
        return text

    reasons = []
    for i, r in enumerate(fields.reasons, 1):
        if i > MAX_REASONS:
            notes.append(f"reasons beyond {MAX_REASONS}: too many")
            break
        kept = keep(f"reason {i}", r, REASON_CHARS)
        if kept:
            reasons.append(kept)
    rationale = keep("stance rationale", fields.rationale, REASON_CHARS)
    narrative = keep("narrative", fields.narrative, NARRATIVE_CHARS, sentence=False)
    return Reviewed(tuple(reasons), rationale, narrative, tuple(notes))
