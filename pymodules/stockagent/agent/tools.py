"""What the analyst works with besides the LLM: forecast facts computed in Python, and news.

Forecast facts (:func:`forecast_facts`): the numbers the performance analyst and the critic use,
computed from the prediction (forecast/predict.py's answer) so the LLM is given facts instead of
being asked to do arithmetic: the move at 5, 21 and 63 trading days, its 80% interval, and the
model's held-out accuracy against the naive baseline. Drift facts (:func:`drift_facts`): the
latest drift check of the model's inputs, as monitoring stored it.

News (:func:`fetch_news`): Finnhub's company news when ``FMI_API_KEY`` is set, Yahoo Finance as
fallback, none when offline or ``NEWS_SOURCE=none``. Each request is bounded by ``NEWS_TIMEOUT``
seconds; any failure means "no headlines from that source", never an error. The fetchers are
plain callables, so tests inject their own and never touch the network.

Headlines reach the LLM only through :func:`headline_block`, a delimited block of quoted,
cleaned one-line titles that the prompt declares to be data, not instructions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..settings import Settings

log = logging.getLogger(__name__)

HORIZONS = (5, 21, 63)  # trading days: a week, a month, a quarter
DIRECTION_HORIZON = 21  # the stance is checked against the one-month direction
FINNHUB_URL = "https://finnhub.io/api/v1/company-news"
FINNHUB_DAYS = 7  # headlines of the last week
SOURCE_LABELS = {"finnhub": "Finnhub", "yahoo": "Yahoo Finance", "none": "no news available offline"}
HEADLINES_BEGIN = "<<<HEADLINES"
HEADLINES_END = "HEADLINES>>>"
MAX_TITLE_CHARS = 200

Headline = dict[str, str]  # {title, publisher, url, published}
Fetcher = Callable[[str], list[Headline]]


# --- the forecast in numbers -------------------------------------------------------------------


def slim_prediction(prediction: Mapping[str, Any], history_days: int = 5) -> dict[str, Any]:
    """The parts of a prediction the agent reads (it is stored with each checkpoint): the 63 rows
    once (not the week/month/full copies), the last few closes and the evaluation."""
    preds = prediction.get("predictions") or {}
    rows = preds.get("quarter") or preds.get("full_forecast") or []
    keep = (
        "ticker",
        "model",
        "model_version",
        "last_date",
        "data_as_of",
        "data_source",
        "evaluation",
        "interval",
        "summary",
    )
    out = {k: prediction[k] for k in keep if k in prediction}
    out["predictions"] = {"quarter": list(rows)}
    out["history"] = list(prediction.get("history") or [])[-history_days:]
    return out


def _direction(move_pct: float, band_pct: float) -> str:
    return "up" if move_pct > band_pct else "down" if move_pct < -band_pct else "flat"


def forecast_facts(prediction: Mapping[str, Any], band_pct: float = 1.0) -> dict[str, Any]:
    """Numbers from the forecast (JSON-able; keys are strings). Raises ValueError when the
    prediction lacks the rows or the last close."""
    preds = prediction.get("predictions") or {}
    rows = preds.get("quarter") or preds.get("full_forecast") or []
    history = prediction.get("history") or []
    if not rows or not history:
        raise ValueError("the prediction has no forecast rows or no price history")
    last_close = float(history[-1]["close"])
    if not last_close > 0:
        raise ValueError(f"the last close is {last_close}")
    horizons: dict[str, dict[str, Any]] = {}
    for h in HORIZONS:
        if len(rows) < h:
            continue
        r = rows[h - 1]
        move = (float(r["close"]) / last_close - 1) * 100
        item = {
            "days": h,
            "date": r["date"],
            "close": round(float(r["close"]), 2),
            "move_pct": round(move, 2),
            "direction": _direction(move, band_pct),
        }
        if r.get("close_low") is not None and r.get("close_high") is not None:
            item["low"], item["high"] = round(float(r["close_low"]), 2), round(float(r["close_high"]), 2)
            item["low_pct"] = round((item["low"] / last_close - 1) * 100, 2)
            item["high_pct"] = round((item["high"] / last_close - 1) * 100, 2)
        horizons[str(h)] = item

    ev = prediction.get("evaluation") or {}
    mae = ev.get("mae") or {}
    # the forecast shown is the served one (the LSTM shrunk toward "no change"); older models serve the LSTM
    lstm, naive = mae.get("served") or mae.get("lstm") or {}, mae.get("naive") or {}
    accuracy: dict[str, dict[str, float]] = {}
    for h in HORIZONS:
        m, n = lstm.get(str(h), lstm.get(h)), naive.get(str(h), naive.get(h))
        if m is not None and n:
            accuracy[str(h)] = {
                "model_mae": round(float(m), 2),
                "naive_mae": round(float(n), 2),
                "vs_naive_pct": round((float(m) / float(n) - 1) * 100, 1),
            }
    skill = ev["served_skill_vs_naive"] if ev.get("served_skill_vs_naive") is not None else ev.get("skill_vs_naive")
    main = horizons.get(str(DIRECTION_HORIZON)) or (list(horizons.values())[-1] if horizons else None)

    return {
        "ticker": prediction.get("ticker", ""),
        "last_date": prediction.get("last_date") or history[-1].get("date"),
        "last_close": round(last_close, 2),
        "model_version": prediction.get("model_version"),
        "horizons": horizons,
        "direction": main["direction"] if main else "flat",
        "direction_move_pct": main["move_pct"] if main else 0.0,
        "direction_days": main["days"] if main else DIRECTION_HORIZON,
        "band_pct": band_pct,
        "accuracy": accuracy,
        "skill_vs_naive": skill,
        "beats_naive": None if skill is None else bool(skill < 1),
        "test_period": ev.get("test_period"),
        "interval_coverage": ev.get("interval_coverage"),
        "interval_coverage_target": ev.get("interval_coverage_target"),
        "summary": prediction.get("summary"),
    }


def drift_facts(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The latest drift check as the report states it, from monitoring/drift.py's stored record:
    its verdict and its two statistics beside the thresholds that verdict applies, when it ran and
    on which model version. None: no drift check yet. Raises KeyError, TypeError or ValueError for
    a record without them."""
    if record is None:
        return None
    from ..monitoring import drift  # late import: monitoring's evaluation imports this package

    when = dt.datetime.fromisoformat(record["timestamp"])
    when = when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)
    health = record["health"]
    if not isinstance(health, str) or not health:
        raise ValueError(f"the drift record's health is {health!r}")
    current = record.get("current") or {}
    return {
        "health": health,
        "checked": when.strftime("%Y-%m-%d %H:%M UTC"),
        "model_version": record.get("model_version"),
        "window_days": current.get("rows"),
        "drift_score": round(float(record["drift_score"]), 2),
        "volatility_ratio": round(float(record["volatility_index"]), 2),
        "score_limits": {"degraded": drift.DEGRADED_SCORE, "critical": drift.CRITICAL_SCORE},
        "ratio_limits": {
            "degraded": [drift.DEGRADED_RATIO_LOW, drift.DEGRADED_RATIO_HIGH],
            "critical": [drift.CRITICAL_RATIO_LOW, drift.CRITICAL_RATIO_HIGH],
        },
    }


def _signed(x: float) -> str:
    return f"{x:+.1f}%"


def format_facts(f: Mapping[str, Any]) -> str:
    """The facts as short lines for a prompt (every price written as $X.XX)."""
    lines = [f"Ticker: {f['ticker']}. Last close: ${f['last_close']:.2f} on {f['last_date']}."]
    for h in f["horizons"].values():
        line = (
            f"- In {h['days']} trading days ({h['date']}): forecast ${h['close']:.2f}, "
            f"{_signed(h['move_pct'])} ({h['direction']})"
        )
        if "low" in h:
            line += f"; 80% range ${h['low']:.2f} to ${h['high']:.2f}"
        lines.append(line + ".")
    lines.append(
        f"Forecast direction over {f['direction_days']} days: {f['direction'].upper()} "
        f"({_signed(f['direction_move_pct'])}; moves within ±{f['band_pct']:g}% count as flat)."
    )
    if f["accuracy"]:
        parts = []
        for h, a in f["accuracy"].items():
            word = "better" if a["vs_naive_pct"] < 0 else "worse"
            parts.append(
                f"{h} days: error ${a['model_mae']:.2f} vs naive ${a['naive_mae']:.2f} "
                f"({abs(a['vs_naive_pct']):.1f}% {word})"
            )
        lines.append(
            "Past accuracy on held-out data, model vs naive (last close carried forward): " + "; ".join(parts) + "."
        )
    if f["skill_vs_naive"] is not None:
        verdict = "beats" if f["beats_naive"] else "does not beat"
        lines.append(
            f"Overall error ratio to naive: {f['skill_vs_naive']:.2f} (below 1 is better): "
            f"the model {verdict} the naive baseline."
        )
    if f["interval_coverage"] is not None and f["interval_coverage_target"] is not None:
        lines.append(
            f"The 80% range held {f['interval_coverage'] * 100:.0f}% of held-out outcomes "
            f"(target {f['interval_coverage_target'] * 100:.0f}%)."
        )
    d = f.get("drift")
    if d is None:
        lines.append("Drift of the model's inputs: no drift check yet.")
    else:
        score, ratio = d["score_limits"], d["ratio_limits"]["degraded"]
        lines.append(
            f"Drift of the model's inputs, checked {d['checked']}: {d['health']}; drift score "
            f"{d['drift_score']:.2f} (above {score['degraded']:g} is degraded); volatility ratio "
            f"{d['volatility_ratio']:.2f} (outside {ratio[0]:g} to {ratio[1]:g} is degraded)."
        )
    return "\n".join(lines)


# --- news ----------------------------------------------------------------------------------------


def _iso(ts: Any) -> str:
    """A timestamp (unix seconds or an ISO string) as ``YYYY-MM-DDTHH:MM:SSZ``; '' if unreadable."""
    try:
        if isinstance(ts, (int, float)):
            return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(ts, str) and ts:
            parsed = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        pass
    return ""


def _headline(title: Any, publisher: Any, url: Any, published: Any) -> Headline | None:
    title = " ".join(str(title or "").split())
    if not title:
        return None
    return {"title": title, "publisher": str(publisher or ""), "url": str(url or ""), "published": _iso(published)}


def finnhub_fetcher(api_key: str, timeout: float, limit: int) -> Fetcher:
    """Finnhub's REST ``company-news`` for the last week (the key travels in a header)."""

    def fetch(ticker: str) -> list[Headline]:
        today = dt.date.today()
        query = urllib.parse.urlencode(
            {"symbol": ticker, "from": (today - dt.timedelta(days=FINNHUB_DAYS)).isoformat(), "to": today.isoformat()}
        )
        req = urllib.request.Request(
            f"{FINNHUB_URL}?{query}", headers={"X-Finnhub-Token": api_key, "Accept": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            items = json.loads(resp.read(2_000_000))
        if not isinstance(items, list):
            raise ValueError(f"Finnhub answered {str(items)[:200]}")
        items.sort(key=lambda it: it.get("datetime") or 0, reverse=True)
        out = [_headline(it.get("headline"), it.get("source"), it.get("url"), it.get("datetime")) for it in items]
        return [h for h in out if h][:limit]

    return fetch


def _with_deadline(fn: Callable[[], Any], timeout: float, what: str) -> Any:
    """``fn()`` in a daemon thread, abandoned after ``timeout`` seconds (for libraries that take no
    timeout; the thread ends on its own when the library gives up)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    t = threading.Thread(target=run, name=f"news-{what}", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"{what} did not answer within {timeout:g}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def yahoo_fetcher(timeout: float, limit: int) -> Fetcher:
    """yfinance's ``Ticker(t).news`` (both its old flat and its newer ``content`` layout)."""

    def fetch(ticker: str) -> list[Headline]:
        from ..market import prices

        if not prices.yahoo_reachable():  # a quick TCP probe, cached for minutes
            raise ConnectionError("Yahoo Finance is unreachable")

        def load() -> list:
            import yfinance as yf

            return yf.Ticker(ticker).get_news(count=limit) or []

        out = []
        for it in _with_deadline(load, timeout, "Yahoo Finance"):
            c = it.get("content") if isinstance(it.get("content"), dict) else None
            if c is not None:
                url = (c.get("canonicalUrl") or {}).get("url") or (c.get("clickThroughUrl") or {}).get("url")
                out.append(
                    _headline(c.get("title"), (c.get("provider") or {}).get("displayName"), url, c.get("pubDate"))
                )
            else:
                out.append(
                    _headline(it.get("title"), it.get("publisher"), it.get("link"), it.get("providerPublishTime"))
                )
        return [h for h in out if h][:limit]

    return fetch


def fetch_news(
    ticker: str,
    ctx: Settings,
    *,
    use_fmi: bool = True,
    finnhub: Fetcher | None = None,
    yahoo: Fetcher | None = None,
) -> dict[str, Any]:
    """``{ticker, source, headlines, detail}``: the first source in order that gives headlines.

    ``NEWS_SOURCE=auto`` tries Finnhub (with a key and ``use_fmi``) then Yahoo; ``finnhub`` or
    ``yahoo`` tries only that one; ``none`` tries nothing. Failures are reported in ``detail``.
    """
    if ctx.news_source == "none":
        return {"ticker": ticker, "source": "none", "headlines": [], "detail": "NEWS_SOURCE=none"}
    order: list[tuple[str, Fetcher]] = []
    notes: list[str] = []
    if ctx.news_source in ("auto", "finnhub"):
        if not ctx.fmi_api_key:
            notes.append("finnhub: FMI_API_KEY is not set")
        elif not use_fmi:
            notes.append("finnhub: not requested (use_fmi=false)")
        else:
            order.append(("finnhub", finnhub or finnhub_fetcher(ctx.fmi_api_key, ctx.news_timeout, ctx.news_limit)))
    if ctx.news_source in ("auto", "yahoo"):
        order.append(("yahoo", yahoo or yahoo_fetcher(ctx.news_timeout, ctx.news_limit)))
    for source, fetch in order:
        try:
            headlines = [h for h in (fetch(ticker) or []) if h and h.get("title")][: ctx.news_limit]
        except Exception as exc:  # offline, timeouts, bad answers: all mean "not from here"
            log.info("news for %s from %s failed: %s", ticker, source, exc)
            notes.append(f"{source}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        if headlines:
            return {"ticker": ticker, "source": source, "headlines": headlines, "detail": "; ".join(notes)}
        notes.append(f"{source}: no headlines")
    return {"ticker": ticker, "source": "none", "headlines": [], "detail": "; ".join(notes) or "no news source"}


_DELIMS = re.compile(r"<{2,}|>{2,}")


def clean_line(text: Any, limit: int = MAX_TITLE_CHARS) -> str:
    """One line of plain text: no control characters, no block delimiters, at most ``limit`` chars."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text or ""))
    text = " ".join(_DELIMS.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def headline_block(headlines: Sequence[Mapping[str, Any]]) -> str:
    """Headlines as a numbered list of JSON-quoted titles between the block delimiters."""
    lines = [HEADLINES_BEGIN]
    for i, h in enumerate(headlines, 1):
        publisher = clean_line(h.get("publisher"), 60)
        lines.append(
            f"{i}. {json.dumps(clean_line(h.get('title')), ensure_ascii=False)}"
            + (f" ({publisher})" if publisher else "")
        )
    lines.append(HEADLINES_END)
    return "\n".join(lines)


def quote_block(name: str, text: str, limit: int = 600) -> str:
    """Model-written text passed on to another prompt, delimited and cleaned like headlines."""
    body = clean_line(text, limit) or "(empty)"
    return f"<<<{name}\n{body}\n{name}>>>"


def source_label(source: str) -> str:
    """How the report names its news source."""
    return SOURCE_LABELS.get(source, SOURCE_LABELS["none"])
