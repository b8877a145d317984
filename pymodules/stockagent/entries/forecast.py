"""Forecasting entry points: training, the serving pointer's copy, forecasts, the model registry.

| function | answer |
|---|---|
| ``train`` | train.train_and_save's result, with ``promotion`` and ``tracking`` |
| ``set_serving`` | ``{ticker, version, changed}``: serving.json points at ``version`` (a copy of the server's pointer) |
| ``load_serving`` | ``{ticker, version, serving, error}``: this process loaded ``version`` and serves it, or ``error`` says why not |
| ``predict`` | the ``<prediction>`` of docs/api.md plus our fields (forecast/predict.py) |
| ``past_forecasts`` | ``{ticker, model_version, test_period, closes, forecasts: [{cutoff, last_close, path}]}``: forecasts at held-out cut-offs against what followed (forecast/predict.py) |
| ``predict_batch`` | ``{results: [{ticker, result} or {ticker, error, detail}, ...], answered, failed, lstm_forwards}`` (forecast/batch.py) |
| ``models`` | ``{models: [summary, ...]}`` |
| ``model`` | one summary plus the serving version's full ``meta`` |
| ``tickers`` | ``{tickers: [{symbol, first_date, last_date, rows, source}], data_source}`` |
| ``model_state`` | ``{ticker, exists, serving_version, data_as_of, data_source}`` (cheap) |
| ``runs`` | ``{ticker, runs: [run-log entry, ...]}``, newest first (forecast/tracking.py) |
| ``backtest_check`` | the backtest request made whole: dates, horizons, refit_every, cost_bps (checked against the data) |
| ``backtest`` | the walk-forward backtest's result (forecast/backtest.py) with ``backtest_id``, ``model``, ``created``, ``request`` |
| ``backtests`` | ``{ticker, backtests: [result, ...]}``: the stored results, newest first (forecast/backtest_results.py) |
| ``feature_store_sync`` | the features of each ticker into Feast, offline and online (featurestore.py) |
| ``feature_store_check`` | ``{ticker, date, online_as_of, consistent, max_relative_difference, features}`` |
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, Literal

import orjson
import pydantic

from .. import errors, settings
from .. import tickers as symbols  # the name `tickers` is the entry point below
from ..contract.models import HistoryRequest, ModelRef, Request, Response, TickerRequest
from ..contract.registry import entry
from ..forecast import backtest as forecast_backtest
from ..forecast import backtest_results
from ..forecast import batch as forecast_batch
from ..forecast import predict as forecast_predict
from ..forecast import train as forecast_train
from ..forecast.registry import Registry
from ..market import prices

log = logging.getLogger(__name__)

_predictors: dict[settings.Settings, forecast_predict.Predictor] = {}
_predictors_lock = threading.Lock()


def _predictor(s: settings.Settings) -> forecast_predict.Predictor:
    """One Predictor (and its in-memory models) per settings, i.e. one per process in the server."""
    p = _predictors.get(s)
    if p is None:
        with _predictors_lock:
            p = _predictors.get(s) or _predictors.setdefault(s, forecast_predict.Predictor(s))
    return p


def _symbol(s: settings.Settings, ref: str) -> str:
    """The price symbol of a model reference: ``parent`` is the parent ticker."""
    return s.parent_ticker if ref == symbols.PARENT else ref


class TrainRequest(Request):
    """A training; unset hyper-parameters take the settings' defaults."""

    ticker: ModelRef
    epochs: int | None = None
    learning_rate: float | None = None
    start_date: str | None = None
    end_date: str | None = None
    strategy: str | None = None
    """Children: freeze or fine_tune."""
    promote: Literal["auto", "always"] | None = None
    """Auto (the default): the new version serves only if its held-out MAE is no worse than the serving one's."""
    force: bool | None = None
    """Ignored: Go decides whether to train."""
    run_id: str | None = None
    """Checkpoint every epoch; the pointer is then left to the caller's fenced commit."""
    resume_run_id: str | None = None
    """Continue from that run's checkpoint."""


@entry(lane="long", request=TrainRequest, raises=(errors.NotFound, errors.ModelMissing, errors.Unavailable))
def train(req: TrainRequest) -> dict[str, Any]:
    """Train and save a model version (sends progress events).

    ``promote``: ``"auto"`` (default) lets the new version take the serving pointer only if its
    held-out MAE (mean LSTM close MAE over the horizons, both versions scored on the new run's test
    windows) is no worse than the serving version's; a first model always serves. ``"always"``
    promotes regardless. The decision is in the answer's ``promotion``, the version's meta.json and
    the run log (see ``runs``). A run with a ``run_id`` (the server's) saves the version without
    moving the pointer: the server commits it and then calls ``set_serving``.
    """
    hparams = {
        k: v
        for k in ("epochs", "learning_rate", "start_date", "end_date", "strategy")
        if (v := getattr(req, k)) is not None
    }
    s = settings.load()
    result = forecast_train.train_and_save(
        s,
        req.ticker,
        promote=req.promote or "auto",
        run_id=req.run_id,
        resume_run_id=req.resume_run_id,
        move_pointer=req.run_id is None,
        **hparams,
    )
    synced = _sync_features(s, req.ticker)
    if synced is not None:
        result["feature_store"] = synced
    return result


class SetServingRequest(Request):
    ticker: ModelRef
    version: str


class SetServingResponse(Response):
    ticker: str
    version: str
    changed: bool
    """False: serving.json pointed at version already."""


@entry(lane="inference", request=SetServingRequest, response=SetServingResponse, raises=(errors.NotFound,))
def set_serving(req: SetServingRequest) -> SetServingResponse:
    """Point serving.json at ``version``: the server's copy of its serving pointer, after its
    fenced commit or when the file disagrees with the store at start-up. A no-op when it agrees."""
    registry = Registry.from_settings(settings.load())
    model_id = symbols.model_id(req.ticker)
    changed = registry.serving_version(model_id) != req.version
    if changed:
        registry.set_serving(model_id, req.version)
    return SetServingResponse(ticker=req.ticker, version=req.version, changed=changed)


class LoadServingResponse(Response):
    ticker: str
    version: str
    serving: str | None
    """The version this process serves now (null: none loaded yet)."""
    error: str | None
    """Why ``version`` could not be loaded; null when it serves."""


@entry(lane="inference", request=SetServingRequest, response=LoadServingResponse)
def load_serving(req: SetServingRequest) -> LoadServingResponse:
    """Load ``version`` into this process's memory and serve it: the server's answer to a notice
    that the shared serving pointer moved. A version that cannot be loaded is refused, with the
    reason, and the one loaded before keeps serving."""
    predictor = _predictor(settings.load())
    model_id = symbols.model_id(req.ticker)
    error = predictor.serve(model_id, req.version)
    return LoadServingResponse(ticker=req.ticker, version=req.version, serving=predictor.serving(model_id), error=error)


@entry(lane="inference", request=TickerRequest, raises=(errors.NotFound, errors.ModelMissing, errors.Unavailable))
def predict(req: TickerRequest) -> bytes:
    """The forecast of the parent or a child model (NotFound before ModelMissing)."""
    return _predictor(settings.load()).forecast_json(req.ticker)


@entry(lane="inference", request=TickerRequest, raises=(errors.NotFound, errors.ModelMissing, errors.Unavailable))
def past_forecasts(req: TickerRequest) -> dict[str, Any]:
    """The serving version's forecasts at held-out cut-offs of its evaluation, with what followed."""
    return _predictor(settings.load()).past_forecasts(req.ticker)


BATCH_MAX_THREADS = 64


class PredictBatchRequest(Request):
    tickers: list[str] = pydantic.Field(min_length=1)
    """Symbols or parent, each checked on its own: an invalid one gets a failure entry, the others are answered."""
    threads: int = pydantic.Field(1, ge=1, le=BATCH_MAX_THREADS)
    """Torch threads of the shared forward."""


@entry(lane="inference", request=PredictBatchRequest, raises=(errors.Unavailable,))
def predict_batch(req: PredictBatchRequest) -> bytes:
    """Forecasts for many tickers, one LSTM forward per shared LSTM (forecast/batch.py).

    An invalid, unknown or untrained ticker gets an entry ``{ticker, error, detail}`` and the others
    are answered. Duplicates are answered once, in first-seen order. The HTTP layer bounds the length.
    """
    order: list[dict | str] = []  # per distinct item: its failure entry, or its ref
    refs: dict[str, None] = {}  # insertion-ordered set
    for item in req.tickers:
        try:
            ref = symbols.parse_model_ref(item)
        except errors.StockAgentError as exc:
            order.append(forecast_batch.failure(item, exc))
            continue
        if ref not in refs:
            refs[ref] = None
            order.append(ref)
    entries, forwards = forecast_batch.forecast_many(_predictor(settings.load()), list(refs), req.threads)
    answered = dict(zip(refs, entries, strict=True))
    results = [answered[o] if isinstance(o, str) else o for o in order]
    failed = sum("error" in r for r in results)
    return orjson.dumps(
        {"results": results, "answered": len(results) - failed, "failed": failed, "lstm_forwards": forwards}
    )


def _feature_store(s: settings.Settings):
    from .. import featurestore  # imports Feast only when the store is used

    return featurestore.FeatureStore(s)


class TickersRequest(Request):
    tickers: list[ModelRef] = pydantic.Field(min_length=1)


@entry(lane="long", request=TickersRequest, raises=(errors.NotFound, errors.Unavailable))
def feature_store_sync(req: TickersRequest) -> dict[str, Any]:
    """Write the features of ``tickers`` (symbols or ``parent``) into the feature store (featurestore.py)."""
    s = settings.load()
    return _feature_store(s).sync([_symbol(s, t) for t in req.tickers])


@entry(lane="inference", request=TickerRequest, raises=(errors.NotFound, errors.Unavailable))
def feature_store_check(req: TickerRequest) -> dict[str, Any]:
    """The feature store's online features of ``ticker``'s latest day against the in-process ones."""
    s = settings.load()
    return _feature_store(s).check(_symbol(s, req.ticker))


def _sync_features(s: settings.Settings, ref: str) -> dict[str, Any] | None:
    """After a training, with FEATURE_STORE=feast: the ticker's features into the store. A failure
    is logged and reported in the result, never fails the training."""

    if s.feature_store != "feast":
        return None
    try:
        return _feature_store(s).sync([_symbol(s, ref)])
    except Exception as exc:  # the model is saved already; the store can be synced again by hand
        log.warning("feature store sync of %s failed: %s", ref, exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


def _summary(registry: Registry, model_id: str) -> dict[str, Any]:
    serving = registry.serving_version(model_id)
    versions, symbol = [], None
    for version in reversed(registry.versions(model_id)):  # newest first
        meta = registry.meta(model_id, version)
        symbol = symbol or meta["ticker"]
        versions.append(
            {
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
                    "served_skill_vs_naive": meta["metrics"].get("served_skill_vs_naive"),
                    "serving_weights": meta.get("serving", {}).get("weights", "evaluated"),
                    "interval_coverage": meta["interval"]["test_coverage"],
                },
            }
        )
    return {
        "ticker": symbols.PARENT if model_id == symbols.PARENT else symbol,
        "symbol": symbol,
        "model": model_id,
        "role": "parent" if model_id == symbols.PARENT else "child",
        "serving_version": serving,
        "versions": versions,
    }


@entry(lane="inference")
def models() -> dict[str, Any]:
    """Every model with its versions (newest first), held-out metrics, and the serving version."""
    registry = Registry.from_settings(settings.load())
    return {"models": [_summary(registry, model_id) for model_id in registry.list_models()]}


@entry(lane="inference", request=TickerRequest, raises=(errors.NotFound,))
def model(req: TickerRequest) -> dict[str, Any]:
    """One model: its summary and the serving version's full meta.json (NotFound if none)."""
    registry = Registry.from_settings(settings.load())
    model_id = symbols.model_id(req.ticker)
    if not registry.versions(model_id):
        raise errors.NotFound(f"No model for '{req.ticker}'")
    out = _summary(registry, model_id)
    serving = out["serving_version"]
    out["meta"] = registry.meta(model_id, serving) if serving else None
    return out


@entry(lane="inference")
def tickers() -> dict[str, Any]:
    """What can be forecast without a download, with each symbol's data range and source."""
    s = settings.load()
    return {"tickers": prices.list_tickers(s), "data_source": prices.active_source(s)}


class ModelState(Response):
    ticker: str
    exists: bool
    """A version serves."""
    serving_version: str | None
    data_as_of: str | None
    """The last date of the model's prices; null: no prices."""
    data_source: str | None


@entry(lane="inference", request=TickerRequest, response=ModelState)
def model_state(req: TickerRequest) -> ModelState:
    """Cheap state: is there a serving model, which, and how recent the data."""
    s = settings.load()
    serving = Registry.from_settings(s).serving_version(symbols.model_id(req.ticker))
    as_of: str | None = None
    source: str | None = None
    try:
        data = prices.load(_symbol(s, req.ticker), s)
        as_of, source = data.last_date, data.source
    except errors.NotFound:
        pass
    return ModelState(
        ticker=req.ticker, exists=serving is not None, serving_version=serving, data_as_of=as_of, data_source=source
    )


@entry(lane="inference", request=HistoryRequest, raises=(errors.NotFound,))
def runs(req: HistoryRequest) -> dict[str, Any]:
    """The training runs of one model from its run log, newest first (NotFound when it has none)."""
    from ..forecast import tracking

    found = tracking.read_runs(settings.load(), symbols.model_id(req.ticker), req.limit)
    if not found:
        raise errors.NotFound(f"No training runs for '{req.ticker}'")
    return {"ticker": req.ticker, "runs": found}


BACKTEST_HORIZONS = forecast_backtest.HORIZONS
MAX_REFIT_EVERY = 252  # a year of origins between refits; more is one fit for the whole range
MAX_COST_BPS = 1000
MAX_BACKTEST_EPOCHS = 1000  # as a training's


class BacktestRequest(Request):
    """A walk-forward backtest of one model's ticker over ``[start_date, end_date]``."""

    ticker: ModelRef
    start_date: str
    """First forecast origin, YYYY-MM-DD, within the ticker's data."""
    end_date: str
    """Last day of the range, YYYY-MM-DD, after start_date and within the data."""
    horizons: list[int] | None = None
    """A subset of 1, 5 and 21 trading days; unset: all three."""
    refit_every: int | None = pydantic.Field(None, ge=1, le=MAX_REFIT_EVERY)
    """Refit the forecasters every this many origins; unset: the engine's default."""
    cost_bps: float = pydantic.Field(ge=0, le=MAX_COST_BPS)
    """Transaction cost of the strategy per unit of turnover, in basis points (callers default it to BACKTEST_COST_BPS)."""
    forecasters: list[str] | None = None
    """Some of naive, drift, lstm, served, ets, theta and arima; unset: naive, drift and lstm."""
    epochs: int | None = pydantic.Field(None, ge=1, le=MAX_BACKTEST_EPOCHS)
    """Epochs of the LSTM the backtest trains before its first origin; unset: the engine's default."""


class BacktestConfig(Response):
    """A backtest request made whole: what the run uses and what its stored result is keyed by."""

    ticker: str
    symbol: str
    start_date: str
    end_date: str
    horizons: list[int]
    refit_every: int | None
    cost_bps: float
    forecasters: list[str]
    epochs: int | None


def _iso_day(name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise errors.InvalidParameter(f"{name} must be a date YYYY-MM-DD, got {value!r}") from None


def _backtest_config(s: settings.Settings, req: BacktestRequest) -> BacktestConfig:
    """Check ``req`` against the rules and the ticker's data (InvalidParameter, NotFound)."""
    start, end = _iso_day("start_date", req.start_date), _iso_day("end_date", req.end_date)
    if start >= end:
        raise errors.InvalidParameter(f"start_date {start} must be before end_date {end}")
    horizons = sorted(set(req.horizons if req.horizons is not None else BACKTEST_HORIZONS))
    if not horizons or not set(horizons) <= set(BACKTEST_HORIZONS):
        raise errors.InvalidParameter(f"horizons must be a non-empty subset of 1, 5 and 21, got {req.horizons}")
    known = list(forecast_backtest.FACTORIES)
    asked = req.forecasters if req.forecasters is not None else list(forecast_backtest.DEFAULT_FORECASTERS)
    if not asked or not set(asked) <= set(known):
        raise errors.InvalidParameter(
            f"forecasters must be a non-empty subset of {', '.join(known)}, got {req.forecasters}"
        )
    symbol = _symbol(s, req.ticker)
    data = prices.load(symbol, s)
    first, last = dt.date.fromisoformat(data.first_date), dt.date.fromisoformat(data.last_date)
    if start <= first or end > last:
        raise errors.InvalidParameter(
            f"the backtest range {start} to {end} must lie within {symbol}'s data, which runs from {first} to {last} "
            "(with at least one day before start_date to learn from)"
        )
    return BacktestConfig(
        ticker=req.ticker,
        symbol=symbol,
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        horizons=horizons,
        refit_every=req.refit_every,
        cost_bps=req.cost_bps,
        forecasters=[f for f in known if f in asked],
        epochs=req.epochs,
    )


@entry(lane="inference", request=BacktestRequest, response=BacktestConfig, raises=(errors.NotFound, errors.Unavailable))
def backtest_check(req: BacktestRequest) -> BacktestConfig:
    """The backtest request made whole and checked against the ticker's data, without running it:
    the server's check before it queues the backtest."""
    return _backtest_config(settings.load(), req)


@entry(lane="long", request=BacktestRequest, raises=(errors.NotFound, errors.Unavailable))
def backtest(req: BacktestRequest) -> dict[str, Any]:
    """Run a walk-forward backtest (forecast/backtest.py; sends progress events: origins done of
    total) and store its result with the model's others (forecast/backtest_results.py)."""
    s = settings.load()
    config = _backtest_config(s, req)
    options: dict[str, Any] = {"refit_every": config.refit_every} if config.refit_every is not None else {}
    if config.epochs is not None:
        options["lstm_epochs"] = config.epochs
    result = forecast_backtest.run(
        s,
        config.symbol,
        config.start_date,
        config.end_date,
        horizons=tuple(config.horizons),
        cost_bps=config.cost_bps,
        forecasters=tuple(config.forecasters),
        **options,
    )
    return backtest_results.save(s.models_dir, symbols.model_id(req.ticker), config.model_dump(), result)


@entry(lane="inference", request=TickerRequest)
def backtests(req: TickerRequest) -> dict[str, Any]:
    """The stored backtest results of one model, newest first (at most backtest_results.KEEP)."""
    s = settings.load()
    return {"ticker": req.ticker, "backtests": backtest_results.read(s.models_dir, symbols.model_id(req.ticker))}
