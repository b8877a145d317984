"""Monitoring entry points: drift and the analyst's evaluation.

Settings come from ``settings.load()`` (``DRIFT_WINDOW_DAYS``, ``MONITOR_HISTORY_KEEP``: settings.py).

| function | answer |
|---|---|
| ``drift`` | runs drift now, stores and returns the report (drift.py); NotFound: no trained model / no prices |
| ``drift_latest`` | the latest stored drift report; NotFound when none |
| ``drift_history`` | ``{ticker, history: [report, ...]}``, newest first, each with its ``seq``; ``before``, ``before_seq``: only older ones |
| ``evaluate`` | evaluates the stored analyst report, stores and returns the result (evaluation.py); NotFound "No stored report for 'X'" when none |
| ``eval_latest`` | the latest stored evaluation; NotFound when none |
| ``eval_history`` | ``{ticker, history: [...]}``, newest first, each with its ``seq``; ``before``, ``before_seq``: only older ones |
| ``monitor_status`` | ``{models: [{ticker, symbol, model, role, serving_version, drift, eval}]}`` for every trained model; ``drift``: ``{health, drift_score, volatility_index, timestamp, model_version, current_version}`` or null, ``eval``: ``{status, overall_score, failed_checks, timestamp}`` or null |

Drift reads price files and takes tens of milliseconds per model; it belongs on the long-work lane
with evaluation. The ``*_latest``, ``*_history`` and ``monitor_status`` calls only read small files.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .. import errors, settings, tickers
from ..contract.models import PagedHistoryRequest, TickerRequest
from ..contract.registry import entry
from ..forecast.registry import Registry
from ..monitoring import drift as drift_mod
from ..monitoring import evaluation, store


@entry(lane="long", request=TickerRequest, raises=(errors.NotFound,))
def drift(req: TickerRequest) -> dict[str, Any]:
    """Run drift for one model now; store and return the report."""
    s = settings.load()
    return drift_mod.run_drift(s, req.ticker, window_days=s.drift_window_days, keep=s.history_keep)


@entry(lane="inference", request=TickerRequest, raises=(errors.NotFound,))
def drift_latest(req: TickerRequest) -> dict[str, Any]:
    """The latest stored drift report of one model."""
    return drift_mod.latest_drift(settings.load(), req.ticker)


@entry(lane="inference", request=PagedHistoryRequest, raises=(errors.NotFound,))
def drift_history(req: PagedHistoryRequest) -> dict[str, Any]:
    """Stored drift reports of one model, newest first."""
    found = drift_mod.drift_history(settings.load(), req.ticker, req.limit, _moment(req.before), req.before_seq)
    return {"ticker": req.ticker, "history": found}


@entry(lane="long", request=TickerRequest, raises=(errors.NotFound,))
def evaluate(req: TickerRequest) -> dict[str, Any]:
    """Evaluate the stored analyst report of one ticker; store and return the result."""
    s = settings.load()
    return evaluation.run_evaluation(s, req.ticker, keep=s.history_keep)


@entry(lane="inference", request=TickerRequest, raises=(errors.NotFound,))
def eval_latest(req: TickerRequest) -> dict[str, Any]:
    """The latest stored agent evaluation of one ticker."""
    return evaluation.latest_evaluation(settings.load(), req.ticker)


@entry(lane="inference", request=PagedHistoryRequest, raises=(errors.NotFound,))
def eval_history(req: PagedHistoryRequest) -> dict[str, Any]:
    """Stored agent evaluations of one ticker, newest first."""
    found = evaluation.evaluation_history(settings.load(), req.ticker, req.limit, _moment(req.before), req.before_seq)
    return {"ticker": req.ticker, "history": found}


def _moment(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


@entry(lane="inference")
def monitor_status() -> dict[str, Any]:
    """For every trained model: the latest drift health and agent evaluation (file reads only)."""
    return {"models": status_of_models(settings.load())}


def status_of_models(s: settings.Settings) -> list[dict[str, Any]]:
    """The rows of :func:`monitor_status` (parent first, then children by id)."""
    registry = Registry.from_settings(s)
    ids = registry.list_models()
    ids.sort(key=lambda i: (i != tickers.PARENT, i))
    rows = []
    for model_id in ids:
        serving = registry.serving_version(model_id)
        symbol = registry.meta(model_id, serving)["ticker"] if serving else None
        d = store.latest(s, model_id, drift_mod.KIND)
        e = store.latest(s, model_id, evaluation.KIND)
        rows.append(
            {
                "ticker": tickers.PARENT
                if model_id == tickers.PARENT
                else (symbol or tickers.symbol_for_stem(model_id)),
                "symbol": symbol,
                "model": model_id,
                "role": "parent" if model_id == tickers.PARENT else "child",
                "serving_version": serving,
                "drift": None
                if d is None
                else {
                    **{
                        k: d.get(k) for k in ("health", "drift_score", "volatility_index", "timestamp", "model_version")
                    },
                    "current_version": d.get("model_version") == serving,  # False: measured on an older version
                },
                "eval": None
                if e is None
                else {
                    "status": e["metrics"]["status"],
                    "overall_score": e["metrics"]["overall_score"],
                    "failed_checks": e["metrics"].get("failed_checks", []),
                    "timestamp": e["metrics"]["timestamp"],
                },
            }
        )
    return rows
