"""The HTTP server's answers, built in one process from the entry functions it calls: what the
command line prints for ``predict-*``, ``analyze`` and ``monitor-*``.

The Go server assembles these bodies from several entry calls (server/httpapi/predict.go,
server/analysis/analysis.go, server/httpapi/monitor.go with server/monitoring/monitoring.go);
these functions compose the same calls the same way. pymodules/tests/test_cli.py pins the shapes
against server/httpapi/openapi.json, and server/cli_test.go against a running server. What only
the server has is left out, and said so where it shows:

- no prediction cache: every forecast is computed now; a missing model is an error (ModelMissing),
  not a training started in the background;
- no semantic cache: every analysis runs the analyst (``cached`` is always false);
- threads have no owner: a ``thread_id`` names the analyst's checkpoint thread itself, so the
  server's threads (scoped to their caller) and the command line's never meet;
- no health policy: drift health and evaluation status are the built-in thresholds' (the server's
  default policy gives the same; a POLICY_FILE is the server's alone), and no retraining starts.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from . import atomicfile, errors, settings, tickers
from .entries import agent, forecast, monitoring
from .monitoring import evaluation

log = logging.getLogger(__name__)

MAX_THREAD_ID = 128  # server/httpapi/analyze.go refuses longer ones (422)

# The drift report's "policy" block where no policy ran (server/monitoring/monitoring.go fills it).
NO_POLICY = {
    "file": None,
    "rule": None,
    "action": None,
    "detail": "no health policy on the command line: the built-in thresholds decide; the server applies POLICY_FILE",
}


def _call(fn: Any, req: dict[str, Any]) -> Any:
    return json.loads(fn(json.dumps(req).encode()))


def _model(ticker: str) -> str:
    """A model reference as the server's paths and bodies take it: ``parent`` (or the parent's symbol) or a symbol."""
    return tickers.parse_model_ref(ticker, settings.load().parent_ticker)


def predict(ticker: str) -> dict[str, Any]:
    """POST /predict-child (and /predict-parent with ``parent``): ``{"result": <prediction>}``."""
    return {"result": _call(forecast.predict, {"ticker": _model(ticker)})}


def _news(symbol: str, use_fmi: bool) -> dict[str, Any]:
    """The headlines as the server passes them on: each with its non-empty fields, no empty detail."""
    raw = _call(agent.news, {"ticker": symbol, "use_fmi": use_fmi})
    keys = ("title", "publisher", "url", "published")
    out = {
        "ticker": raw["ticker"],
        "source": raw["source"],
        "headlines": [{k: h[k] for k in keys if h.get(k)} for h in raw["headlines"]],
    }
    if raw.get("detail"):
        out["detail"] = raw["detail"]
    return out


def _latest_drift(model: str) -> dict[str, Any] | None:
    """The model's latest stored drift report, as the server passes it to the analyst; None when none."""
    try:
        return _call(monitoring.drift_latest, {"ticker": model})
    except errors.NotFound:
        return None


def forecast_view(fc: dict[str, Any]) -> dict[str, Any]:
    """A forecast as the analysis's ``predictions`` holds it: its views (next_day, week, month,
    quarter, full_forecast) beside the history and its other fields."""
    views = fc.get("predictions")
    if not isinstance(views, dict):
        return fc
    return {**{k: v for k, v in fc.items() if k != "predictions"}, **views}


def analyze(
    ticker: str,
    *,
    thread_id: str | None = None,
    use_fmi: bool | None = None,
    question: str | None = None,
    new_thread: bool = True,
) -> dict[str, Any]:
    """POST /analyze: the forecast, the headlines, the analyst, and the report kept for monitoring
    (DATA_DIR/reports/<stem>.json, without its thread) when no question was asked.

    ``new_thread`` False: no thread in the answer (monitoring's own analysis).
    """
    if thread_id and len(thread_id) > MAX_THREAD_ID:
        raise errors.InvalidParameter(f"thread_id is longer than {MAX_THREAD_ID} characters")
    model = _model(ticker)
    fc = _call(forecast.predict, {"ticker": model})
    s = settings.load()
    symbol = s.parent_ticker if model == tickers.PARENT else model
    nw = _news(symbol, use_fmi is not False)
    req: dict[str, Any] = {"ticker": symbol, "prediction": fc, "headlines": nw["headlines"]}
    req["news_source"] = nw["source"]
    drift = _latest_drift(model)
    if drift is not None:
        req["drift"] = drift
    if thread_id:
        req["thread_id"] = thread_id
    if question:
        req["question"] = question
    res = _call(agent.analyze, req)
    out = {
        "ticker": symbol,
        "final_report": res["final_report"],
        "recommendation": res["recommendation"],
        "confidence": res["confidence"],
        "predictions": forecast_view(fc),
        "news_sentiment": res["news_sentiment"],
        "last_price": fc["history"][-1]["close"],
        "news": nw,
        "parse_status": res["parse_status"],
        "flags": res["flags"],
        "left_out": res["left_out"],
        "revisions": res["revisions"],
        "nodes": res["nodes"],
        "llm": res["llm"],
        "cached": False,
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if res.get("answer"):
        out["answer"] = res["answer"]
    if not question:
        atomicfile.write_text(evaluation.report_path(s, symbol), json.dumps(out))
    if thread_id or new_thread:
        out["thread_id"] = res["thread_id"]
    return out


def _drift(model: str) -> dict[str, Any]:
    rep = _call(monitoring.drift, {"ticker": model})
    rep["computed_health"] = rep["health"]
    rep["policy"] = dict(NO_POLICY)
    return rep


def _agent_eval(model: str) -> dict[str, Any]:
    """The evaluation of the latest stored report, after one analysis when none is stored; else
    ``{status: "unavailable", detail}`` saying why there is none."""
    try:
        try:
            ev = _call(monitoring.evaluate, {"ticker": model})
        except errors.NotFound:
            analyze(model, new_thread=False)
            ev = _call(monitoring.evaluate, {"ticker": model})
    except errors.StockAgentError as exc:
        return {"status": "unavailable", "detail": str(exc)}
    except Exception as exc:  # the drift report stands on its own
        log.exception("agent evaluation of %s failed", model)
        return {"status": "unavailable", "detail": f"internal error: {type(exc).__name__}: {exc}"}
    metrics = ev["metrics"]
    metrics["computed_status"] = metrics["status"]
    return ev


def monitor(ticker: str) -> dict[str, Any]:
    """POST /monitor/{ticker} (``parent`` for the parent): drift now and the agent evaluation."""
    model = _model(ticker)
    drift = _drift(model)
    agent_eval = _agent_eval(model)
    if model == tickers.PARENT:
        links = {"get_drift_json": "/monitor/parent/drift", "get_eval_json": "/monitor/parent/eval"}
        return {"ticker": model, "type": "parent", "drift": drift, "agent_eval": agent_eval, "links": links}
    return {"ticker": model, "is_parent": False, "drift": drift, "agent_eval": agent_eval}
