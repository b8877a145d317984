"""The monitoring functions Go calls: JSON object in, JSON out (runtime.endpoint), re-exported by entry.

Requests are checked like entry's (unknown fields refused, ``ticker`` is a symbol or ``"parent"``);
errors are :mod:`stockagent.errors` classes (NotFound 404, BadRequest 400, InvalidParameter 422).
Settings come from the environment (``settings.load()``, ``config.load()``: ``DRIFT_WINDOW_DAYS``,
``MONITOR_HISTORY_KEEP``).

| function | request | answer |
|---|---|---|
| ``drift`` | ``ticker`` | runs drift now, stores and returns the report (drift.py); NotFound: no trained model / no prices |
| ``drift_latest`` | ``ticker`` | the latest stored drift report; NotFound when none |
| ``drift_history`` | ``ticker``; optional ``limit`` (1..500, default 50) | ``{ticker, history: [report, ...]}``, newest first |
| ``evaluate`` | ``ticker`` | evaluates the stored analyst report, stores and returns the result (evaluation.py); NotFound "No stored report for 'X'" when none |
| ``eval_latest`` | ``ticker`` | the latest stored evaluation; NotFound when none |
| ``eval_history`` | ``ticker``; optional ``limit`` | ``{ticker, history: [...]}``, newest first |
| ``monitor_status`` | none | ``{models: [{ticker, symbol, model, role, serving_version, drift, eval}]}`` for every trained model; ``drift``: ``{health, drift_score, volatility_index, timestamp, model_version, current_version}`` or null, ``eval``: ``{status, overall_score, failed_checks, timestamp}`` or null |

Drift reads price files and takes tens of milliseconds per model; it belongs on the long-work lane
with evaluation. The ``*_latest``, ``*_history`` and ``monitor_status`` calls only read small files.
"""

from __future__ import annotations

from typing import Any

from .. import errors, runtime, settings, tickers
from ..forecast.registry import Registry
from . import config, drift as drift_mod, evaluation, store

MAX_HISTORY = 500


def _fields(req: dict[str, Any], allowed: set[str], required: tuple[str, ...] = ()) -> None:
    """entry's request check (imported when called: entry re-exports this module, so a top-level
    import would be circular)."""
    from ..entry import _fields as check

    check(req, allowed, required)


def _ref(req: dict[str, Any], extra: set[str] = frozenset()) -> str:
    _fields(req, {"ticker", *extra}, ("ticker",))
    return tickers.parse_model_ref(req["ticker"])


def _limit(req: dict[str, Any]) -> int:
    value = req.get("limit", 50)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_HISTORY:
        raise errors.InvalidParameter(f"limit must be an integer in 1..{MAX_HISTORY}, got {value!r}")
    return value


@runtime.endpoint
def drift(req: dict[str, Any]) -> dict[str, Any]:
    """Run drift for one model now; store and return the report."""
    ref = _ref(req)
    cfg = config.load()
    return drift_mod.run_drift(settings.load(), ref, window_days=cfg.drift_window_days, keep=cfg.history_keep)


@runtime.endpoint
def drift_latest(req: dict[str, Any]) -> dict[str, Any]:
    """The latest stored drift report of one model."""
    return drift_mod.latest_drift(settings.load(), _ref(req))


@runtime.endpoint
def drift_history(req: dict[str, Any]) -> dict[str, Any]:
    """Stored drift reports of one model, newest first."""
    ref = _ref(req, {"limit"})
    return {"ticker": ref, "history": drift_mod.drift_history(settings.load(), ref, _limit(req))}


@runtime.endpoint
def evaluate(req: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the stored analyst report of one ticker; store and return the result."""
    ref = _ref(req)
    return evaluation.run_evaluation(settings.load(), ref, keep=config.load().history_keep)


@runtime.endpoint
def eval_latest(req: dict[str, Any]) -> dict[str, Any]:
    """The latest stored agent evaluation of one ticker."""
    return evaluation.latest_evaluation(settings.load(), _ref(req))


@runtime.endpoint
def eval_history(req: dict[str, Any]) -> dict[str, Any]:
    """Stored agent evaluations of one ticker, newest first."""
    ref = _ref(req, {"limit"})
    return {"ticker": ref, "history": evaluation.evaluation_history(settings.load(), ref, _limit(req))}


@runtime.endpoint
def monitor_status(req: dict[str, Any]) -> dict[str, Any]:
    """For every trained model: the latest drift health and agent evaluation (file reads only)."""
    _fields(req, set())
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
        rows.append({
            "ticker": tickers.PARENT if model_id == tickers.PARENT else (symbol or tickers.symbol_for_stem(model_id)),
            "symbol": symbol,
            "model": model_id,
            "role": "parent" if model_id == tickers.PARENT else "child",
            "serving_version": serving,
            "drift": None if d is None else {
                **{k: d.get(k) for k in ("health", "drift_score", "volatility_index", "timestamp", "model_version")},
                "current_version": d.get("model_version") == serving,  # False: measured on an older version
            },
            "eval": None if e is None else {
                "status": e["metrics"]["status"], "overall_score": e["metrics"]["overall_score"],
                "failed_checks": e["metrics"].get("failed_checks", []), "timestamp": e["metrics"]["timestamp"],
            },
        })
    return rows
