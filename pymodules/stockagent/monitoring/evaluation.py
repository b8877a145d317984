"""Agent evaluation: checks, each of which can fail, on a stored analyst report.

The report is the JSON the Go server keeps at ``DATA_DIR/reports/<stem>.json`` after an analysis
(``ticker``, ``final_report`` markdown, ``recommendation``, ``confidence``, ``predictions`` = the
forecast, ``news`` = ``{source, headlines: [{title, publisher, ...}]}``, ``last_price``, ...).
:func:`evaluate_report` is pure text and arithmetic, no LLM. Each check gives
``{passed, score in 0..1, detail}``:

``relevance``
    The symbol (or its stem, ``GSPC`` for ``^GSPC``; an index's usual name, e.g. "S&P 500") appears
    as a whole word, case-sensitively (so ``ON`` is not found in "on").
``prices_agree``
    (1) Every price quoted in the text (a number after ``$``, or before ``USD``/``dollars``; amounts
    in thousands/millions/billions/trillions and percentages are not prices) lies in the range of
    the stored forecast and history (every open, high, low, close and interval bound, and
    ``last_price``) widened by :data:`PRICE_TOLERANCE` (15%) on each side, or within 15% of one of
    the model's or the naive baseline's held-out MAEs (the forecast's ``evaluation``; the analyst
    may quote those in dollars). (2) The sentences about the forecast (those naming the forecast,
    model, prediction, projection, outlook or expectation; the whole text when none does) use more
    words of the forecast's 21-day direction than of the opposite one ("rise", "gain", "higher" ...
    against "fall", "decline", "lower" ...); a flat forecast needs a flat word ("stable", "flat",
    "sideways" ...) or no majority either way.
    Score = mean of (1) the share of prices in range, when any price is quoted, and (2) 0 or 1.
``stance_agrees``
    The stance is the ``Market Stance:`` line of the text (markdown emphasis ignored), else the
    ``recommendation`` field. Expected stance from the forecast's close 21 trading days ahead
    against the last close: BULLISH above +1%, BEARISH below -1%, NEUTRAL otherwise. Agreement: 1.
    Disagreement with a reason: 0.75, passed. A reason is a sentence that has a contrast word
    ("despite", "however", "although", "though", "but", "while", "nevertheless", "nonetheless")
    *and* names the forecast ("forecast", "model", "predict...", "project...") and is near the
    stance: it holds the stance word, or lies in the last prose paragraph before the stance line.
    A ``Stance rationale:`` line of four words or more (what the analyst is told to write, and what
    its critic accepts, agent/report.py) is a reason too. Otherwise it fails: 0 for the opposite
    stance, 0.25 when one side is NEUTRAL. A stance line that differs from the ``recommendation``
    field fails with 0.5.
``news_cited``
    With headlines: some headline is cited, i.e. two of its key words (words of 4+ letters that are
    not common or market words; one when the title has only one), its publisher, or the news
    source's name appear in the analyst's text. The ``**News:** <source>: N headlines`` line and the
    ``> Flag:`` lines the agent adds itself (agent/graph.py ``finalize``) are not the analyst's and
    are left out here, or every report would pass. Without headlines: the report, that line
    included, says so ("no recent news", "no headlines", "no news available", ...). 1 or 0.
``structure``
    A report laid out by code (agent/report.py): its data section comes before the model's section.
    An older, all-prose report: 3 to 5 prose paragraphs (blank-line separated; headings, rules, labelled lines (``Market
    Stance:``, ``Confidence:``, ``Stance rationale:``, ``News:``), ``>`` quotes such as the agent's
    flags, and disclaimer sentences are not prose, so a paragraph holding only those is not
    counted); the last two lines (after any disclaimer, rule or ``>`` flag) are the ``Market
    Stance`` and ``Confidence`` lines; "not investment advice" (or "not financial advice") appears.
    Score = share of the three that hold.

In a report laid out by code, ``prices_agree`` and ``news_cited`` read only the model's section:
the data section quotes the forecast and lists the headlines itself, so every report would pass.
``trustworthiness`` (the old check)
    A source word ("according to", "source", "reported", "data", "forecast", "model", "news",
    "headline", "analyst") and a number appear. Score = share of the two.
``has_recommendation`` (the old check, fixed)
    BULLISH, BEARISH or NEUTRAL appears as a whole word (the old substring search took "higher" for
    "HIGH"). 1 or 0.

``metrics.checks`` maps each check's name to whether it passed, the old service's shape (its clients
read the values as booleans); ``metrics.check_details`` holds the ``{passed, score, detail}`` of each.
``overall_score`` is the mean of the seven scores; :func:`status` turns it into ``Trustworthy`` (above
0.6) or ``Questionable``, the old rule. A single failed check rarely pulls a mean of seven below
0.6, so ``metrics.failed_checks`` lists the failed ones for a stricter policy on the Go side.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

from .. import errors, tickers
from ..agent.report import DATA_HEADING, MODEL_HEADING
from ..settings import Settings
from . import store

log = logging.getLogger(__name__)

KIND = "eval"
STANCES = ("BULLISH", "BEARISH", "NEUTRAL")
TRUSTWORTHY, QUESTIONABLE = "Trustworthy", "Questionable"
TRUST_THRESHOLD = 0.6  # old rule: Trustworthy above it
PRICE_TOLERANCE = 0.15  # a quoted price may lie this far outside the forecast/history range
STANCE_HORIZON = 21  # trading days: the "month" of the forecast
DIRECTION_THRESHOLD = 0.01  # a 21-day change beyond +-1% is a direction, else flat
PARAGRAPHS = (3, 5)
PREVIEW_CHARS = 500
JUSTIFIED_SCORE = 0.75  # a divergence with a reason passes, a little below agreement

# Usual names of the indices we ship (tickers.INDEX_STEMS), for the relevance check.
INDEX_NAMES = {
    "GSPC": ("S&P 500", "S&P500", "SPX", "S&P"),
    "DJI": ("Dow Jones", "Dow"),
    "IXIC": ("Nasdaq Composite", "Nasdaq"),
    "NDX": ("Nasdaq-100", "Nasdaq 100"),
    "RUT": ("Russell 2000",),
    "VIX": ("volatility index",),
}

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_NOT_A_PRICE = r"(?!\d|[.,]\d)(?!\s*(?:%|percent|per\s?cent|[kmbt]n?\b|thousand|million|billion|trillion))"
_PRICE = re.compile(rf"\$\s?({_NUM}){_NOT_A_PRICE}|({_NUM}){_NOT_A_PRICE}\s?(?:USD|US dollars|dollars)\b", re.I)
_UP = re.compile(
    r"\b(?:rise[sn]?|rising|rose|increase[sd]?|increasing|gain(?:s|ed|ing)?|climb(?:s|ed|ing)?|upward|upside|"
    r"higher|advanc(?:e|es|ed|ing)|rall(?:y|ies|ied|ying)|appreciat\w*|grow(?:s|th|ing)?|uptrend)\b",
    re.I,
)
_DOWN = re.compile(
    r"\b(?:fall(?:s|ing|en)?|fell|declin(?:e|es|ed|ing)|drop(?:s|ped|ping)?|decreas(?:e|es|ed|ing)|lower|"
    r"downward|downside|slid(?:e|es|ing)?|dip(?:s|ped|ping)?|weaken\w*|retreat\w*|slump\w*|downtrend)\b",
    re.I,
)
_FLAT = re.compile(r"\b(?:flat|stable|sideways|unchanged|steady|range-bound|little change|consolidat\w*)\b", re.I)
_ABOUT_FORECAST = re.compile(r"\b(?:forecast\w*|model\w*|predict\w*|project\w*|outlook|expect\w*)\b", re.I)
_NAMES_FORECAST = re.compile(r"\b(?:forecast\w*|model\w*|predict\w*|project\w*)\b", re.I)
_CONTRAST = re.compile(r"\b(?:despite|however|although|though|but|while|nevertheless|nonetheless)\b", re.I)
_STANCE_WORD = re.compile(r"\b(bullish|bearish|neutral)\b", re.I)
_STANCE_LINE = re.compile(r"^\W*market\s+stance\W*(bullish|bearish|neutral)\b", re.I)
_CONFIDENCE_LINE = re.compile(r"(?:^|[|;,]\s*)\W*confidence(?:\s+level)?\W*(high|medium|low)\b", re.I)
_RATIONALE_LINE = re.compile(r"^\W*stance\s+rationale\s*:\s*(.+)$", re.I)
_LABEL_LINE = re.compile(r"^\W*(?:stance\s+rationale|news)\s*:", re.I)  # labelled lines that are not prose
_AGENT_LINE = re.compile(r"^\s*(?:[*_]*news[*_]*\s*:|>)", re.I)  # lines the agent writes itself (finalize)
_DISCLAIMER = re.compile(r"\bnot\s+(?:an?\s+)?(?:investment|financial)\s+advice\b", re.I)
_NO_NEWS = re.compile(
    r"\bno\s+(?:(?:recent|relevant|major|new|notable|fresh|significant|company-specific)\s+)*(?:news|headlines?|coverage)\b"
    r"|\b(?:news|headlines?)\s+(?:was|were|is|are)\s+(?:not\s+available|unavailable|not\s+found)\b"
    r"|\bwithout\s+(?:any\s+)?(?:recent\s+)?(?:news|headlines)\b|\bnews\s+unavailable\b",
    re.I,
)
_SOURCE_WORD = re.compile(
    r"\b(?:according\s+to|sources?|sourced|reported|data|forecast\w*|model|news|headlines?|analysts?)\b", re.I
)
_DIGIT = re.compile(r"\d")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9][a-z0-9'&-]*")
_STOP = frozenset(
    """
about above after again against also amid among analyst analysts back been before being below between both
could daily data does down during each even every from have having here higher into just last like lower
made make many market markets more most much near news next only other over price prices report reports
said says share shares should since some stock stocks such than that their them then there these they this
those through today under until update very week weeks were what when where which while will with within
would year years your forecast forecasts outlook
""".split()
)


def status(overall_score: float) -> str:
    """The old rule: ``Trustworthy`` above 0.6, else ``Questionable``."""
    return TRUSTWORTHY if overall_score > TRUST_THRESHOLD else QUESTIONABLE


def _check(passed: bool, score: float, detail: str) -> dict[str, Any]:
    return {"passed": bool(passed), "score": round(min(1.0, max(0.0, float(score))), 4), "detail": detail}


def _plain(text: str) -> str:
    """Markdown emphasis and code marks removed, so ``**Market Stance:** BULLISH`` reads as a line."""
    return re.sub(r"[*_`]+", "", text)


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in _plain(text).splitlines() if ln.strip()]


def _sentences(text: str) -> list[str]:
    """Sentences of the text: wrapped lines of a paragraph are joined first; headings, list items and
    the stance and confidence lines stand alone."""
    units = []
    for block in re.split(r"\n\s*\n", _plain(text)):
        run: list[str] = []
        for ln in (x.strip() for x in block.splitlines()):
            if not ln:
                continue
            if re.match(r"(?:#|[-+\u2022]\s|\d+[.)]\s)", ln) or _STANCE_LINE.match(ln) or _CONFIDENCE_LINE.match(ln):
                units += [" ".join(run), ln]
                run = []
            else:
                run.append(ln)
        units.append(" ".join(run))
    return [s for u in units for s in _SENTENCE_END.split(u) if s.strip()]


# --- the forecast the report rests on -------------------------------------------------------


def _forecast(report: dict) -> dict | None:
    """``{last_close, close_21d, change, expected, prices: [all prices], model_version}`` or None."""
    pred = report.get("predictions")
    if not isinstance(pred, dict):
        return None
    # The views (full_forecast, month, ...) sit beside the history; reports stored before the
    # old clients' shape was restored nest them one level deeper, as predict answers them.
    nested = pred.get("predictions")
    views = nested if isinstance(nested, dict) else pred
    rows = views.get("full_forecast") or views.get("month") or []
    history = pred.get("history") or []
    try:
        closes = [float(r["close"]) for r in rows]
        raw_last = report.get("last_price") or (history[-1]["close"] if history else None)
        if raw_last is None:
            return None
        last = float(raw_last)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    if not closes or last <= 0:
        return None
    target = closes[min(STANCE_HORIZON, len(closes)) - 1]
    change = target / last - 1.0
    expected = "BULLISH" if change > DIRECTION_THRESHOLD else "BEARISH" if change < -DIRECTION_THRESHOLD else "NEUTRAL"
    prices = [last] + [float(h["close"]) for h in history if isinstance(h, dict) and h.get("close")]
    for r in rows:
        prices += [
            float(r[k]) for k in ("open", "high", "low", "close", "close_low", "close_high") if r.get(k) is not None
        ]
    mae = (pred.get("evaluation") or {}).get("mae") or {}
    errors_usd = [
        float(v)
        for model in ("lstm", "naive")
        for v in (mae.get(model) or {}).values()
        if isinstance(v, (int, float)) and v > 0
    ]
    return {
        "last_close": last,
        "close_21d": target,
        "change": change,
        "expected": expected,
        "low": min(prices),
        "high": max(prices),
        "mae": errors_usd,
        "model_version": pred.get("model_version"),
    }


# --- the checks ------------------------------------------------------------------------------


def check_relevance(text: str, symbol: str) -> dict[str, Any]:
    stem = symbol.lstrip("^")
    names = [symbol, stem] if symbol != stem else [symbol]
    for name in names:
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text):
            return _check(True, 1.0, f"mentions {name}")
    for name in INDEX_NAMES.get(stem, ()):
        if re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", text, re.I):
            return _check(True, 1.0, f"mentions {name}")
    return _check(False, 0.0, f"{symbol} is not mentioned")


def quoted_prices(text: str) -> list[float]:
    """Prices quoted in ``text`` ($ amounts and amounts in USD/dollars; see the module doc)."""
    out = []
    for m in _PRICE.finditer(text):
        out.append(float((m.group(1) or m.group(2)).replace(",", "")))
    return out


def direction_words(text: str) -> dict[str, int]:
    """Counts of up, down and flat words in the sentences about the forecast (the whole text if none)."""
    about = [s for s in _sentences(text) if _ABOUT_FORECAST.search(s)] or [_plain(text)]
    joined = " ".join(about)
    return {"up": len(_UP.findall(joined)), "down": len(_DOWN.findall(joined)), "flat": len(_FLAT.findall(joined))}


def check_prices(text: str, fc: dict | None) -> dict[str, Any]:
    if fc is None:
        return _check(False, 0.0, "the report holds no forecast to compare with")
    lo, hi = fc["low"] * (1 - PRICE_TOLERANCE), fc["high"] * (1 + PRICE_TOLERANCE)
    quoted = quoted_prices(text)
    outside = [p for p in quoted if not lo <= p <= hi and not any(abs(p - e) <= PRICE_TOLERANCE * e for e in fc["mae"])]
    words = direction_words(text)
    want = {"BULLISH": "up", "BEARISH": "down", "NEUTRAL": "flat"}[fc["expected"]]
    if want == "flat":
        direction_ok = words["flat"] > 0 or words["up"] == words["down"]
    else:
        other = "down" if want == "up" else "up"
        direction_ok = words[want] > words[other]
    parts = [float(direction_ok)]
    detail = [
        f"forecast {fc['change']:+.1%} over {STANCE_HORIZON} days ({want}); direction words "
        f"up {words['up']}, down {words['down']}, flat {words['flat']}: {'agree' if direction_ok else 'disagree'}"
    ]
    if quoted:
        parts.append(1 - len(outside) / len(quoted))
        detail.append(
            f"{len(quoted) - len(outside)} of {len(quoted)} quoted prices within {lo:.2f}..{hi:.2f}"
            + (f" (outside: {', '.join(f'{p:g}' for p in outside[:5])})" if outside else "")
        )
    else:
        detail.append("no prices quoted")
    return _check(direction_ok and not outside, sum(parts) / len(parts), "; ".join(detail))


def stated_stance(text: str, field: object) -> tuple[str | None, str | None]:
    """``(stance of the Market Stance line, stance of the recommendation field)``, upper-case or None."""
    line = None
    for ln in _lines(text):
        m = _STANCE_LINE.match(ln)
        if m:
            line = m.group(1).upper()  # the last such line wins: it is the report's conclusion
    rec = field.strip().upper() if isinstance(field, str) and field.strip().upper() in STANCES else None
    return line, rec


def _reason_given(text: str, stance: str) -> bool:
    """A ``Stance rationale:`` line, or a sentence near the stance that contrasts it with the forecast."""
    for ln in _lines(text):
        m = _RATIONALE_LINE.match(ln)
        if m and len(m.group(1).split()) >= 4:
            return True
    near = [s for s in _sentences(text) if re.search(rf"\b{stance}\b", s, re.I) and not _STANCE_LINE.match(s.strip())]
    prose = _prose_paragraphs(text)
    if prose:
        near += _sentences(prose[-1])
    return any(_CONTRAST.search(s) and _NAMES_FORECAST.search(s) for s in near)


def check_stance(text: str, field: object, fc: dict | None) -> dict[str, Any]:
    line, rec = stated_stance(text, field)
    stance = line or rec
    if stance is None:
        return _check(False, 0.0, "no stance (BULLISH/BEARISH/NEUTRAL) stated")
    if line and rec and line != rec:
        return _check(False, 0.5, f"the text's stance {line} differs from the recommendation field {rec}")
    if fc is None:
        return _check(False, 0.0, f"stance {stance}, but the report holds no forecast to compare with")
    expected = fc["expected"]
    why = f"forecast {fc['change']:+.1%} over {STANCE_HORIZON} days implies {expected}"
    if stance == expected:
        return _check(True, 1.0, f"stance {stance}; {why}")
    if _reason_given(text, stance):
        return _check(True, JUSTIFIED_SCORE, f"stance {stance} though the {why}; the report says why")
    opposite = {stance, expected} == {"BULLISH", "BEARISH"}
    return _check(False, 0.0 if opposite else 0.25, f"stance {stance} but the {why}, and the report does not say why")


def _key_words(title: str, symbol: str) -> set[str]:
    drop = {symbol.lower(), symbol.lstrip("^").lower()}
    return {w for w in _WORD.findall(title.lower()) if len(w) >= 4 and w not in _STOP and w not in drop}


def check_news(text: str, news: object, symbol: str) -> dict[str, Any]:
    news = news if isinstance(news, dict) else {}
    headlines = [h for h in (news.get("headlines") or []) if isinstance(h, dict) and h.get("title")]
    source = news.get("source") if isinstance(news.get("source"), str) else ""
    if not headlines:
        if _NO_NEWS.search(_plain(text)):
            return _check(True, 1.0, "there were no headlines and the report says so")
        return _check(False, 0.0, "there were no headlines but the report does not say so")
    own = "\n".join(ln for ln in text.splitlines() if not _AGENT_LINE.match(ln))  # the analyst's own text
    lowered = _plain(own).lower()
    words = set(_WORD.findall(lowered))
    if (
        source
        and source.lower() not in ("none", "offline", "unavailable")
        and re.search(rf"\b{re.escape(source.lower())}\b", lowered)
    ):
        return _check(True, 1.0, f"names the news source {source}")
    for h in headlines:
        publisher = h.get("publisher")
        if (
            isinstance(publisher, str)
            and len(publisher) >= 3
            and re.search(rf"\b{re.escape(publisher.lower())}\b", lowered)
        ):
            return _check(True, 1.0, f"names the publisher {publisher}")
        keys = _key_words(h["title"], symbol)
        found = keys & words
        if keys and len(found) >= min(2, len(keys)):
            return _check(True, 1.0, f"cites the headline {h['title'][:80]!r} ({', '.join(sorted(found)[:4])})")
    return _check(False, 0.0, f"{len(headlines)} headline(s) from {source or 'the news source'}, none cited")


def _prose_paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, less headings, stance/confidence lines, rules and disclaimer sentences."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [
            ln
            for ln in _lines(block)
            if not (
                ln.startswith(("#", ">"))
                or _STANCE_LINE.match(ln)
                or _CONFIDENCE_LINE.match(ln)
                or _LABEL_LINE.match(ln)
                or re.fullmatch(r"[-=*_\s]{3,}", ln)
            )
        ]
        body = " ".join(s for s in _sentences("\n".join(lines)) if not _DISCLAIMER.search(s))
        if body.strip():  # a paragraph that only disclaims is not prose
            out.append(body)
    return out


def model_part(text: str) -> str:
    """The analyst's own words: the model's section of a report laid out by code (agent/report.py);
    all of an older, all-prose report."""
    _, heading, tail = text.partition(MODEL_HEADING)
    return tail if heading else text


def check_structure(text: str) -> dict[str, Any]:
    if MODEL_HEADING in text:
        data_at = text.find(DATA_HEADING)
        layout_ok = 0 <= data_at < text.find(MODEL_HEADING)
        layout = f"data section, then the model's: {'yes' if layout_ok else 'no'}"
    else:
        n = len(_prose_paragraphs(text))
        layout_ok = PARAGRAPHS[0] <= n <= PARAGRAPHS[1]
        layout = f"{n} paragraphs ({'ok' if layout_ok else f'want {PARAGRAPHS[0]}-{PARAGRAPHS[1]}'})"
    tail = [
        ln
        for ln in _lines(text)
        if not (_DISCLAIMER.search(ln) and not _STANCE_LINE.match(ln))
        and not ln.startswith(">")
        and not re.fullmatch(r"[-=*_\s]{3,}", ln)
    ][-2:]
    ending_ok = any(_STANCE_LINE.match(ln) for ln in tail) and any(_CONFIDENCE_LINE.search(ln) for ln in tail)
    disclaimer_ok = bool(_DISCLAIMER.search(_plain(text)))
    detail = (
        f"{layout}; "
        f"ends with Market Stance and Confidence lines: {'yes' if ending_ok else 'no'}; "
        f"'not investment advice': {'yes' if disclaimer_ok else 'no'}"
    )
    parts = (layout_ok, ending_ok, disclaimer_ok)
    return _check(all(parts), sum(parts) / len(parts), detail)


def check_trustworthiness(text: str) -> dict[str, Any]:
    source, number = bool(_SOURCE_WORD.search(text)), bool(_DIGIT.search(text))
    detail = f"source word: {'yes' if source else 'no'}; number: {'yes' if number else 'no'}"
    return _check(source and number, (source + number) / 2, detail)


def check_recommendation(text: str) -> dict[str, Any]:
    m = _STANCE_WORD.search(_plain(text))
    return (
        _check(True, 1.0, f"states {m.group(1).upper()}")
        if m
        else _check(False, 0.0, "no BULLISH/BEARISH/NEUTRAL word")
    )


# --- evaluation --------------------------------------------------------------------------------


def evaluate_report(report: dict[str, Any]) -> dict[str, Any]:
    """Score a stored report (module doc); pure apart from the clock. Raises BadRequest if it is not one."""
    started = time.perf_counter()
    if not isinstance(report, dict):
        raise errors.BadRequest(f"a report must be a JSON object, got {type(report).__name__}")
    text = report.get("final_report") or report.get("report") or ""
    if not isinstance(text, str):
        raise errors.BadRequest(f"final_report must be text, got {type(text).__name__}")
    ticker = report.get("ticker")
    symbol = ticker if isinstance(ticker, str) else ""
    fc = _forecast(report)
    own = model_part(text)
    checks = {
        "relevance": check_relevance(text, symbol) if symbol else _check(False, 0.0, "the report names no ticker"),
        "prices_agree": check_prices(own, fc),
        "stance_agrees": check_stance(text, report.get("recommendation"), fc),
        "news_cited": check_news(own, report.get("news"), symbol),
        "structure": check_structure(text),
        "trustworthiness": check_trustworthiness(text),
        "has_recommendation": check_recommendation(text),
    }
    overall = round(sum(c["score"] for c in checks.values()) / len(checks), 4)
    return {
        "ticker": symbol,
        "metrics": {
            "checks": {name: c["passed"] for name, c in checks.items()},
            "check_details": checks,
            "overall_score": overall,
            "status": status(overall),
            "failed_checks": [name for name, c in checks.items() if not c["passed"]],
            "duration_seconds": round(time.perf_counter() - started, 6),
            "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        "output_preview_text": text[:PREVIEW_CHARS],
        "report_created_at": report.get("created_at"),
        "recommendation": report.get("recommendation"),
        "forecast": None
        if fc is None
        else {
            "last_close": round(fc["last_close"], 4),
            "close_21d": round(fc["close_21d"], 4),
            "change_21d": round(fc["change"], 6),
            "expected_stance": fc["expected"],
            "model_version": fc["model_version"],
        },
    }


def report_path(settings: Settings, ref: str) -> Path:
    """Where the latest report of ``ref`` is kept (the Go server writes it; so does the command line)."""
    symbol = settings.parent_ticker if ref == tickers.PARENT else ref
    return tickers.confined(settings.data_dir / "reports", tickers.stem(symbol) + ".json")


def load_report(settings: Settings, ref: str) -> dict[str, Any]:
    """The stored report of ``ref`` (the parent's is its symbol's, e.g. ``reports/GSPC.json``).

    Raises NotFound when there is none or it cannot be read (the Go side then runs an analysis,
    which replaces it).
    """
    path = report_path(settings, ref)
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise errors.NotFound(f"No stored report for '{ref}'") from None
    except (ValueError, UnicodeDecodeError) as exc:
        log.warning("stored report %s is unreadable: %s", path, exc)
        raise errors.NotFound(f"No readable stored report for '{ref}' ({path.name} is not JSON)") from None
    if not isinstance(report, dict):
        raise errors.NotFound(f"No readable stored report for '{ref}' ({path.name} is not a JSON object)")
    return report


def run_evaluation(settings: Settings, ref: str, *, keep: int = 500) -> dict[str, Any]:
    """Evaluate the stored report of ``ref`` (``parent`` or a symbol), store the result, return it."""
    report = load_report(settings, ref)
    result = evaluate_report(report)
    model_id = tickers.model_id(ref)
    result = {
        "ticker": ref,
        "symbol": result["ticker"] or ref,
        "model": model_id,
        **{k: v for k, v in result.items() if k != "ticker"},
    }
    result = store.save(settings, model_id, KIND, result, keep)
    m = result["metrics"]
    log.info(
        "agent evaluation of %s: %s (%.2f), failed: %s",
        ref,
        m["status"],
        m["overall_score"],
        m["failed_checks"] or "none",
    )
    return result


def latest_evaluation(settings: Settings, ref: str) -> dict[str, Any]:
    """The latest stored evaluation of ``ref``; NotFound when there is none."""
    result = store.latest(settings, tickers.model_id(ref), KIND)
    if result is None:
        raise errors.NotFound(f"No agent evaluation for '{ref}' yet")
    return with_boolean_checks(result)


def evaluation_history(
    settings: Settings, ref: str, limit: int = 50, before: dt.datetime | None = None, before_seq: int | None = None
) -> list[dict[str, Any]]:
    """Up to ``limit`` stored evaluations of ``ref``, newest first, only those before ``before`` and
    numbered below ``before_seq`` if given."""
    found = store.history(settings, tickers.model_id(ref), KIND, limit, before, stamp=_stamp, before_seq=before_seq)
    return [with_boolean_checks(r) for r in found]


def _stamp(record: dict[str, Any]) -> Any:
    metrics = record.get("metrics")
    return metrics.get("timestamp") if isinstance(metrics, dict) else None


def with_boolean_checks(result: dict[str, Any]) -> dict[str, Any]:
    """A stored evaluation in today's shape: evaluations stored before ``check_details`` existed held
    each check's details in ``checks``, where the old service's clients read booleans."""
    metrics = result.get("metrics")
    if not isinstance(metrics, dict):
        return result
    checks = metrics.get("checks")
    if not isinstance(checks, dict) or not any(isinstance(c, dict) for c in checks.values()):
        return result
    flat = {name: bool(c.get("passed")) if isinstance(c, dict) else bool(c) for name, c in checks.items()}
    return {**result, "metrics": {**metrics, "checks": flat, "check_details": checks}}
