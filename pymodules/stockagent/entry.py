"""The functions the Go server calls: JSON object in, JSON out (see runtime.endpoint).

Each one reads and validates its request, then calls into the modules that do the work. Failures
are exceptions from :mod:`stockagent.errors`; the HTTP layer maps their class names to statuses:
BadRequest 400, InvalidParameter 422, NotFound 404, ModelMissing 202 (+ training), Conflict 409,
Unavailable 503, Cancelled (the caller went away); anything else is a 500.

``ticker`` fields take a symbol (validated as API.md says) or ``"parent"`` (any case) for the
parent model. Unknown request fields are refused (BadRequest), so a typo never passes silently.

| function | request | answer |
|---|---|---|
| ``train`` | ``ticker``; optional ``epochs``, ``learning_rate``, ``start_date``, ``end_date``, ``strategy`` (children), ``promote`` (``always`` default, or ``auto``), ``force`` (ignored: Go decides whether to train) | train.train_and_save's result |
| ``predict`` | ``ticker`` | the ``<prediction>`` of API.md plus our fields (forecast/predict.py) |
| ``models`` | none | ``{models: [summary, ...]}`` |
| ``model`` | ``ticker`` | one summary plus the serving version's full ``meta`` |
| ``tickers`` | none | ``{tickers: [{symbol, first_date, last_date, rows, source}], data_source}`` |
| ``model_state`` | ``ticker`` | ``{ticker, exists, serving_version, data_as_of, data_source}`` (cheap) |
"""

from __future__ import annotations

import threading
from typing import Any

from . import errors, runtime, settings
from . import tickers as symbols  # the name `tickers` is the endpoint below
from .forecast import predict as forecast_predict
from .forecast import train as forecast_train
from .forecast.registry import Registry
from .market import prices

_TRAIN_FIELDS = {"ticker", "epochs", "learning_rate", "start_date", "end_date", "strategy", "promote", "force"}
_predictors: dict[settings.Settings, forecast_predict.Predictor] = {}
_predictors_lock = threading.Lock()


def _fields(req: dict[str, Any], allowed: set[str], required: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(req) - allowed)
    if unknown:
        raise errors.BadRequest(f"unknown field(s): {', '.join(unknown)}; expected {', '.join(sorted(allowed)) or 'none'}")
    for name in required:
        if req.get(name) is None:
            raise errors.BadRequest(f"missing field '{name}'")


def _predictor(s: settings.Settings) -> forecast_predict.Predictor:
    """One Predictor (and its in-memory models) per settings, i.e. one per process in the server."""
    p = _predictors.get(s)
    if p is None:
        with _predictors_lock:
            p = _predictors.get(s) or _predictors.setdefault(s, forecast_predict.Predictor(s))
    return p


@runtime.endpoint
def train(req: dict[str, Any]) -> dict[str, Any]:
    """Train and save a model version (runs on the long-work lane; sends progress events)."""
    _fields(req, _TRAIN_FIELDS, ("ticker",))
    ref = symbols.parse_model_ref(req["ticker"])
    hparams = {k: req[k] for k in ("epochs", "learning_rate", "start_date", "end_date", "strategy") if req.get(k) is not None}
    return forecast_train.train_and_save(settings.load(), ref, promote=req.get("promote") or "always", **hparams)


@runtime.endpoint
def predict(req: dict[str, Any]) -> dict[str, Any]:
    """The forecast of the parent or a child model (NotFound before ModelMissing)."""
    _fields(req, {"ticker"}, ("ticker",))
    ref = symbols.parse_model_ref(req["ticker"])
    s = settings.load()
    return _predictor(s).forecast(ref)


def _summary(registry: Registry, model_id: str) -> dict[str, Any]:
    serving = registry.serving_version(model_id)
    versions, symbol = [], None
    for version in reversed(registry.versions(model_id)):  # newest first
        meta = registry.meta(model_id, version)
        symbol = symbol or meta["ticker"]
        versions.append({
            "version": version,
            "created": meta["created"],
            "serving": version == serving,
            "data_as_of": meta["data_as_of"],
            "strategy": meta.get("strategy"),
            "parent_version": meta.get("parent_version"),
            "best_epoch": meta["training"]["best_epoch"],
            "metrics": {
                "mae": meta["metrics"]["mae"],
                "skill_vs_naive": meta["metrics"]["skill_vs_naive"],
                "interval_coverage": meta["interval"]["test_coverage"],
            },
        })
    return {
        "ticker": symbols.PARENT if model_id == symbols.PARENT else symbol,
        "symbol": symbol,
        "model": model_id,
        "role": "parent" if model_id == symbols.PARENT else "child",
        "serving_version": serving,
        "versions": versions,
    }


@runtime.endpoint
def models(req: dict[str, Any]) -> dict[str, Any]:
    """Every model with its versions (newest first), held-out metrics, and the serving version."""
    _fields(req, set())
    registry = Registry.from_settings(settings.load())
    return {"models": [_summary(registry, model_id) for model_id in registry.list_models()]}


@runtime.endpoint
def model(req: dict[str, Any]) -> dict[str, Any]:
    """One model: its summary and the serving version's full meta.json (NotFound if none)."""
    _fields(req, {"ticker"}, ("ticker",))
    ref = symbols.parse_model_ref(req["ticker"])
    registry = Registry.from_settings(settings.load())
    model_id = symbols.model_id(ref)
    if not registry.versions(model_id):
        raise errors.NotFound(f"No model for '{ref}'")
    out = _summary(registry, model_id)
    serving = out["serving_version"]
    out["meta"] = registry.meta(model_id, serving) if serving else None
    return out


@runtime.endpoint
def tickers(req: dict[str, Any]) -> dict[str, Any]:
    """What can be forecast without a download, with each symbol's data range and source."""
    _fields(req, set())
    s = settings.load()
    return {"tickers": prices.list_tickers(s), "data_source": prices.active_source(s)}


@runtime.endpoint
def model_state(req: dict[str, Any]) -> dict[str, Any]:
    """Cheap state for cache invalidation: is there a serving model, which, and how recent the data."""
    _fields(req, {"ticker"}, ("ticker",))
    ref = symbols.parse_model_ref(req["ticker"])
    s = settings.load()
    serving = Registry.from_settings(s).serving_version(symbols.model_id(ref))
    symbol = s.parent_ticker if ref == symbols.PARENT else ref
    try:
        data = prices.load(symbol, s)
        as_of, source = data.last_date, data.source
    except errors.NotFound:
        as_of = source = None
    return {"ticker": ref, "exists": serving is not None, "serving_version": serving, "data_as_of": as_of, "data_source": source}

