"""The functions the Go server calls: JSON object in, JSON out (see runtime.endpoint).

Each one reads and validates its request, then calls into the modules that do the work. Failures
are exceptions from :mod:`stockagent.errors`; the HTTP layer maps their class names to statuses:
BadRequest 400, InvalidParameter 422, NotFound 404, ModelMissing 202 (+ training), Conflict 409,
Unavailable 503, Cancelled (the caller went away); anything else is a 500.

``ticker`` fields take a symbol (validated as docs/api.md says) or ``"parent"`` (any case) for the
parent model. Unknown request fields are refused (BadRequest), so a typo never passes silently.

| function | request | answer |
|---|---|---|
| ``train`` | ``ticker``; optional ``epochs``, ``learning_rate``, ``start_date``, ``end_date``, ``strategy`` (children), ``promote`` (``auto`` default: the new version serves only if its held-out MAE is no worse than the serving one's; or ``always``), ``force`` (ignored: Go decides whether to train), ``run_id`` (checkpoint every epoch; the serving pointer is then left to the caller's fenced commit and ``set_serving``), ``resume_run_id`` (continue from that run's checkpoint) | train.train_and_save's result, with ``promotion`` and ``tracking`` |
| ``set_serving`` | ``ticker``, ``version`` | ``{ticker, version, changed}``: serving.json points at ``version`` (a copy of the server's pointer) |
| ``predict`` | ``ticker`` | the ``<prediction>`` of docs/api.md plus our fields (forecast/predict.py) |
| ``predict_batch`` | ``tickers`` (list); optional ``threads`` | ``{results: [{ticker, result} or {ticker, error, detail}, ...], answered, failed, lstm_forwards}``, compact predictions (forecast/batch.py) |
| ``models`` | none | ``{models: [summary, ...]}`` |
| ``model`` | ``ticker`` | one summary plus the serving version's full ``meta`` |
| ``tickers`` | none | ``{tickers: [{symbol, first_date, last_date, rows, source}], data_source}`` |
| ``model_state`` | ``ticker`` | ``{ticker, exists, serving_version, data_as_of, data_source}`` (cheap) |
| ``runs`` | ``ticker``; optional ``limit`` (1..500, default 50) | ``{ticker, runs: [run-log entry, ...]}``, newest first (forecast/tracking.py); NotFound when the model has no runs |
| ``analyze`` | ``ticker``, ``prediction``; optional ``headlines``, ``news_source``, ``thread_id``, ``question`` | the analyst's report (agent/runner.py) |
| ``news`` | ``ticker``; optional ``use_fmi`` | ``{ticker, source, headlines: [{title, publisher, url, published}], detail}`` |
| ``embed`` | ``text`` or ``texts`` | ``{vectors, dim, model}`` (L2-normalized) |
| ``llm_status`` | none | ``{available, provider, model, detail}`` (cheap: loads nothing) |
| ``feature_store_sync`` | ``tickers`` (list) | the features of each into Feast, offline and online (featurestore.py); Unavailable without Feast |
| ``feature_store_check`` | ``ticker`` | ``{ticker, date, online_as_of, consistent, max_relative_difference, features}`` |
| ``embed_status`` | none | ``{available, model, dim, loaded, detail}`` (cheap) |
| ``noop`` | none | ``{}`` (benchmarks: a back-end's cost per call) |
| ``features`` | ``ticker`` | ``{ticker, rows, last_date, last}``: the feature frame computed afresh, summarised (benchmarks) |

The agent, the LLM and the embedding model are imported by the first call that needs them, so a
missing or broken optional part never fails the forecasting functions.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import orjson

from . import errors, runtime, settings
from . import tickers as symbols  # the name `tickers` is the endpoint below
from .forecast import batch as forecast_batch
from .forecast import predict as forecast_predict
from .forecast import train as forecast_train
from .forecast.registry import Registry
from .market import prices

log = logging.getLogger(__name__)

_TRAIN_FIELDS = {"ticker", "epochs", "learning_rate", "start_date", "end_date", "strategy", "promote", "force",
                 "run_id", "resume_run_id"}
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
    """Train and save a model version (runs on the long-work lane; sends progress events).

    ``promote``: ``"auto"`` (default) lets the new version take the serving pointer only if its
    held-out MAE (mean LSTM close MAE over the horizons, both versions scored on the new run's test
    windows) is no worse than the serving version's; a first model always serves. ``"always"``
    promotes regardless. The decision is in the answer's ``promotion``, the version's meta.json and
    the run log (see ``runs``). A run with a ``run_id`` (the server's) saves the version without
    moving the pointer: the server commits it and then calls ``set_serving``.
    """
    _fields(req, _TRAIN_FIELDS, ("ticker",))
    ref = symbols.parse_model_ref(req["ticker"])
    hparams = {k: req[k] for k in ("epochs", "learning_rate", "start_date", "end_date", "strategy") if req.get(k) is not None}
    s = settings.load()
    run_id = req.get("run_id")
    result = forecast_train.train_and_save(s, ref, promote=req.get("promote") or "auto", run_id=run_id,
                                           resume_run_id=req.get("resume_run_id"), move_pointer=run_id is None, **hparams)
    synced = _sync_features(s, ref)
    if synced is not None:
        result["feature_store"] = synced
    return result


@runtime.endpoint
def set_serving(req: dict[str, Any]) -> dict[str, Any]:
    """Point serving.json at ``version``: the server's copy of its serving pointer, after its
    fenced commit or when the file disagrees with the store at start-up. A no-op when it agrees."""
    _fields(req, {"ticker", "version"}, ("ticker", "version"))
    ref = symbols.parse_model_ref(req["ticker"])
    version = req["version"]
    if not isinstance(version, str):
        raise errors.BadRequest("version must be a string")
    registry = Registry.from_settings(settings.load())
    model_id = symbols.model_id(ref)
    changed = registry.serving_version(model_id) != version
    if changed:
        registry.set_serving(model_id, version)
    return {"ticker": ref, "version": version, "changed": changed}


@runtime.endpoint
def predict(req: dict[str, Any]) -> dict[str, Any]:
    """The forecast of the parent or a child model (NotFound before ModelMissing)."""
    _fields(req, {"ticker"}, ("ticker",))
    ref = symbols.parse_model_ref(req["ticker"])
    s = settings.load()
    return _predictor(s).forecast(ref)


BATCH_MAX_THREADS = 64


@runtime.endpoint
def predict_batch(req: dict[str, Any]) -> bytes:
    """Forecasts for many tickers, one LSTM forward per shared LSTM (forecast/batch.py).

    ``tickers``: a non-empty list (the HTTP layer bounds its length); an invalid, unknown or
    untrained ticker gets an entry ``{ticker, error, detail}`` and the others are answered.
    Duplicates are answered once, in first-seen order. ``threads``: torch threads for the shared
    forward (default 1).
    """
    _fields(req, {"tickers", "threads"}, ("tickers",))
    raw, threads = req["tickers"], req.get("threads", 1)
    if not isinstance(raw, list) or not raw:
        raise errors.InvalidParameter("tickers must be a non-empty list")
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= BATCH_MAX_THREADS:
        raise errors.InvalidParameter(f"threads must be an integer from 1 to {BATCH_MAX_THREADS}")
    order: list[dict | str] = []  # per distinct item: its failure entry, or its ref
    refs: dict[str, None] = {}  # insertion-ordered set
    for item in raw:
        try:
            ref = symbols.parse_model_ref(item)
        except errors.StockAgentError as exc:
            order.append(forecast_batch.failure(item if isinstance(item, str) else repr(item), exc))
            continue
        if ref not in refs:
            refs[ref] = None
            order.append(ref)
    entries, forwards = forecast_batch.forecast_many(_predictor(settings.load()), list(refs), threads)
    answered = dict(zip(refs, entries))
    results = [answered[o] if isinstance(o, str) else o for o in order]
    failed = sum("error" in r for r in results)
    return orjson.dumps({"results": results, "answered": len(results) - failed, "failed": failed, "lstm_forwards": forwards})


def _symbol(s: settings.Settings, ref: str) -> str:
    """The price symbol of a model reference: ``parent`` is the parent ticker."""
    return s.parent_ticker if ref == symbols.PARENT else ref


def _feature_store(s: settings.Settings):
    from . import featurestore  # imports Feast only when the store is used

    return featurestore.FeatureStore(s)


@runtime.endpoint
def feature_store_sync(req: dict[str, Any]) -> dict[str, Any]:
    """Write the features of ``tickers`` (symbols or ``parent``) into the feature store (featurestore.py)."""
    _fields(req, {"tickers"}, ("tickers",))
    if not isinstance(req["tickers"], list) or not req["tickers"]:
        raise errors.InvalidParameter("tickers must be a non-empty list")
    s = settings.load()
    return _feature_store(s).sync([_symbol(s, symbols.parse_model_ref(t)) for t in req["tickers"]])


@runtime.endpoint
def feature_store_check(req: dict[str, Any]) -> dict[str, Any]:
    """The feature store's online features of ``ticker``'s latest day against the in-process ones."""
    _fields(req, {"ticker"}, ("ticker",))
    s = settings.load()
    return _feature_store(s).check(_symbol(s, symbols.parse_model_ref(req["ticker"])))


def _sync_features(s: settings.Settings, ref: str) -> dict[str, Any] | None:
    """After a training, with FEATURE_STORE=feast: the ticker's features into the store. A failure
    is logged and reported in the result, never fails the training."""
    from . import featurestore

    if featurestore.mode() != "feast":
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
    symbol = _symbol(s, ref)
    try:
        data = prices.load(symbol, s)
        as_of, source = data.last_date, data.source
    except errors.NotFound:
        as_of = source = None
    return {"ticker": ref, "exists": serving is not None, "serving_version": serving, "data_as_of": as_of, "data_source": source}


@runtime.endpoint
def runs(req: dict[str, Any]) -> dict[str, Any]:
    """The training runs of one model from its run log, newest first (NotFound when it has none)."""
    _fields(req, {"ticker", "limit"}, ("ticker",))
    ref = symbols.parse_model_ref(req["ticker"])
    limit = req.get("limit", 50)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
        raise errors.InvalidParameter(f"limit must be an integer in 1..500, got {limit!r}")
    from .forecast import tracking

    found = tracking.read_runs(settings.load(), symbols.model_id(ref), limit)
    if not found:
        raise errors.NotFound(f"No training runs for '{ref}'")
    return {"ticker": ref, "runs": found}



# --- the analyst, news and embeddings ----------------------------------------------------------

_ANALYZE_FIELDS = {"ticker", "prediction", "headlines", "news_source", "thread_id", "question"}
_NEWS_SOURCES = ("finnhub", "yahoo", "none")
_MAX_HEADLINES = 50
_MAX_QUESTION_CHARS = 2000
_MAX_THREAD_ID_CHARS = 200


def _agent_context():
    from .agent.context import Context

    return Context.from_env()


def _headlines(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise errors.BadRequest(f"headlines must be a list, got {type(raw).__name__}")
    if len(raw) > _MAX_HEADLINES:
        raise errors.BadRequest(f"at most {_MAX_HEADLINES} headlines, got {len(raw)}")
    out = []
    for i, h in enumerate(raw):
        if not isinstance(h, dict) or not isinstance(h.get("title"), str) or not h["title"].strip():
            raise errors.BadRequest(f"headlines[{i}] must be an object with a non-empty 'title'")
        out.append({k: str(h.get(k) or "") for k in ("title", "publisher", "url", "published")})
    return out


def _optional_str(req: dict[str, Any], name: str, limit: int) -> str | None:
    value = req.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.BadRequest(f"{name} must be a string, got {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise errors.BadRequest(f"{name} is longer than {limit} characters")
    return value or None


@runtime.endpoint
def analyze(req: dict[str, Any]) -> dict[str, Any]:
    """The analyst's report on a forecast Go passes in (long-work lane; sends progress events).

    It never fetches the forecast or the news itself. With no LLM configured it raises
    Unavailable; an LLM call that times out raises Unavailable too (nothing to cache).
    """
    _fields(req, _ANALYZE_FIELDS, ("ticker", "prediction"))
    ticker = symbols.normalize(req["ticker"])
    prediction = req["prediction"]
    if not isinstance(prediction, dict):
        raise errors.BadRequest(f"prediction must be an object, got {type(prediction).__name__}")
    from .agent import tools as agent_tools

    try:
        agent_tools.forecast_facts(prediction)
    except (KeyError, TypeError, ValueError) as exc:
        raise errors.BadRequest(f"prediction is not a forecast: {exc}") from None
    headlines = _headlines(req.get("headlines"))
    news_source = req.get("news_source") or ("none" if not headlines else None)
    if news_source not in _NEWS_SOURCES:
        raise errors.BadRequest(f"news_source must be one of {', '.join(_NEWS_SOURCES)}, got {news_source!r}")
    thread_id = _optional_str(req, "thread_id", _MAX_THREAD_ID_CHARS)
    question = _optional_str(req, "question", _MAX_QUESTION_CHARS)

    from . import llm
    from .agent import runner

    ctx = _agent_context()
    chat = llm.select(ctx, threads=_thread_budget())
    if question:
        tokens, limit = chat.count_tokens(question), ctx.question_limit()
        if tokens > limit:
            raise errors.InvalidParameter(
                f"question is {tokens} tokens long ({chat.counted_by}); the limit is {limit} tokens "
                f"(AGENT_MAX_QUESTION_TOKENS, at most a third of LLM_CTX={ctx.llm_ctx} less the answer)")
    return runner.analyze(ticker=ticker, prediction=prediction, headlines=headlines, news_source=news_source,
                          chat=chat, settings=ctx, data_dir=settings.load().data_dir,
                          thread_id=thread_id, question=question)


def _thread_budget() -> int:
    """The CPU threads this worker may use (configure_thread sets it per worker thread)."""
    import torch

    return max(1, torch.get_num_threads())


@runtime.endpoint
def news(req: dict[str, Any]) -> dict[str, Any]:
    """Headlines for a ticker: Finnhub (FMI_API_KEY), then Yahoo Finance, else none (never raises
    for a network failure: the answer's source is "none" and ``detail`` says why)."""
    _fields(req, {"ticker", "use_fmi"}, ("ticker",))
    ticker = symbols.normalize(req["ticker"])
    use_fmi = req.get("use_fmi", True)
    if not isinstance(use_fmi, bool):
        raise errors.BadRequest(f"use_fmi must be true or false, got {use_fmi!r}")
    from .agent import tools as agent_tools

    return agent_tools.fetch_news(ticker, _agent_context(), use_fmi=use_fmi)


@runtime.endpoint
def embed(req: dict[str, Any]) -> dict[str, Any]:
    """Normalized sentence embeddings (inference lane): ``{"text": s}`` or ``{"texts": [s, ...]}``."""
    _fields(req, {"text", "texts"})
    if ("text" in req) == ("texts" in req):
        raise errors.BadRequest("give exactly one of 'text' or 'texts'")
    from .llm import embeddings

    texts = [req["text"]] if "text" in req else req["texts"]
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise errors.BadRequest("'text' must be a string and 'texts' a list of strings")
    if not texts:
        raise errors.BadRequest("'texts' is empty")
    if len(texts) > embeddings.MAX_TEXTS:
        raise errors.BadRequest(f"at most {embeddings.MAX_TEXTS} texts per call, got {len(texts)}")
    vectors = embeddings.embed(texts, device=settings.load().torch_device())
    return {"vectors": vectors, "dim": embeddings.dim(), "model": embeddings.MODEL_NAME}


@runtime.endpoint
def llm_status(req: dict[str, Any]) -> dict[str, Any]:
    """Which LLM the analyst would use and whether it looks usable (loads nothing, calls nothing)."""
    _fields(req, set())
    from . import llm

    return llm.status(_agent_context())


@runtime.endpoint
def embed_status(req: dict[str, Any]) -> dict[str, Any]:
    """Whether the embedding model is installed, its dimension and whether it is loaded (cheap)."""
    _fields(req, set())
    from .llm import embeddings

    return embeddings.status()


# Monitoring (drift, agent evaluation): defined in monitoring/api.py, called by Go from here.
from .monitoring.api import (  # noqa: E402,F401
    drift,
    drift_history,
    drift_latest,
    eval_history,
    eval_latest,
    evaluate,
    monitor_status,
)


# --- benchmark workloads (make bench): the same functions through every back-end ----------------


@runtime.endpoint
def noop(req: dict[str, Any]) -> dict[str, Any]:
    """Nothing but the request and answer round trip: a back-end's own cost per call."""
    return {}


@runtime.endpoint
def features(req: dict[str, Any]) -> dict[str, Any]:
    """The model's feature function (market/features.compute) over one symbol's whole price history.

    Computed afresh on every call (the cached ``Prices.features`` would make it free); the answer is
    a summary: the row count and the last row.
    """
    _fields(req, {"ticker"}, ("ticker",))
    from .market import features as feature_frame

    symbol = symbols.normalize(req["ticker"])
    data = prices.load(symbol, settings.load())
    frame = feature_frame.compute(data.ohlcv)
    return {
        "ticker": symbol,
        "rows": len(frame),
        "last_date": data.last_date,
        "last": {name: round(float(v), 6) for name, v in zip(feature_frame.COLUMNS, frame[-1])},
    }
