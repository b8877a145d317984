"""The monitoring functions Go calls, through their bytes-in/bytes-out wrappers, and their config."""

import json

import pytest
from test_monitoring_evaluation import GOOD, report

from stockagent import errors, settings
from stockagent.entries import monitoring as api


def call(fn, req=None):
    return json.loads(fn(json.dumps(req or {}).encode()))


@pytest.fixture
def mon_env(entry_env, load_env):
    return load_env(DRIFT_WINDOW_DAYS=40)


def test_drift_endpoints(mon_env):
    with pytest.raises(errors.NotFound, match="No drift report for 'parent' yet"):
        call(api.drift_latest, {"ticker": "parent"})
    out = call(api.drift, {"ticker": "PARENT"})
    assert out["ticker"] == "parent" and out["current"]["rows"] == 40  # DRIFT_WINDOW_DAYS
    assert set(out) >= {
        "ticker",
        "health",
        "drift_score",
        "volatility_index",
        "feature_metrics",
        "timestamp",
        "status",
        "model_version",
        "reference",
        "current",
    }
    assert call(api.drift_latest, {"ticker": "parent"}) == out
    hist = call(api.drift_history, {"ticker": "parent", "limit": 5})
    assert hist == {"ticker": "parent", "history": [out]}
    with pytest.raises(errors.NotFound, match="No trained model for 'AAPL'"):
        call(api.drift, {"ticker": "aapl"})
    with pytest.raises(errors.NotFound, match="No trained model for 'AAPL'"):
        call(api.drift_latest, {"ticker": "AAPL"})
    with pytest.raises(errors.BadRequest, match="missing field 'ticker'"):
        call(api.drift, {})
    with pytest.raises(errors.BadRequest, match="unknown field"):
        call(api.drift, {"ticker": "parent", "window": 3})
    with pytest.raises(errors.BadRequest):
        call(api.drift, {"ticker": "../x"})
    with pytest.raises(errors.InvalidParameter):
        call(api.drift_history, {"ticker": "parent", "limit": 0})


def test_history_pages_by_time(mon_env):
    out = call(api.drift, {"ticker": "parent"})
    later = "2999-01-01T00:00:00Z"
    assert call(api.drift_history, {"ticker": "parent", "before": later})["history"] == [out]
    assert call(api.drift_history, {"ticker": "parent", "before": out["timestamp"]})["history"] == []
    assert call(api.eval_history, {"ticker": "parent", "before": later})["history"] == []
    for bad in ("yesterday", "2026-01-31T12:00:00", 5):
        with pytest.raises(errors.BadRequest, match="before"):
            call(api.drift_history, {"ticker": "parent", "before": bad})


def test_history_pages_by_seq(mon_env):
    first = call(api.drift, {"ticker": "parent"})
    second = call(api.drift, {"ticker": "parent"})
    assert (first["seq"], second["seq"]) == (1, 2)
    assert call(api.drift_latest, {"ticker": "parent"}) == second
    assert call(api.drift_history, {"ticker": "parent", "before_seq": 2})["history"] == [first]
    assert call(api.drift_history, {"ticker": "parent", "before_seq": 1})["history"] == []
    for bad in (0, -3, "x"):
        with pytest.raises((errors.BadRequest, errors.InvalidParameter), match="before_seq"):
            call(api.drift_history, {"ticker": "parent", "before_seq": bad})


def test_evaluation_endpoints(mon_env):
    with pytest.raises(errors.NotFound, match="No stored report for 'AAPL'"):
        call(api.evaluate, {"ticker": "AAPL"})
    with pytest.raises(errors.NotFound):
        call(api.eval_latest, {"ticker": "AAPL"})
    folder = mon_env.data_dir / "reports"
    folder.mkdir()
    (folder / "AAPL.json").write_text(json.dumps(report(GOOD)))
    out = call(api.evaluate, {"ticker": "aapl"})
    assert out["ticker"] == "AAPL" and out["metrics"]["status"] == "Trustworthy"
    assert set(out["metrics"]) >= {"checks", "overall_score", "status", "duration_seconds", "timestamp"}
    assert call(api.eval_latest, {"ticker": "AAPL"}) == out
    assert call(api.eval_history, {"ticker": "AAPL"})["history"] == [out]


def test_monitor_status(mon_env):
    from stockagent.forecast.registry import Registry

    serving = Registry.from_settings(mon_env).serving_version("parent")
    assert call(api.monitor_status) == {
        "models": [
            {
                "ticker": "parent",
                "symbol": "^GSPC",
                "model": "parent",
                "role": "parent",
                "serving_version": serving,
                "drift": None,
                "eval": None,
            }
        ]
    }
    d = call(api.drift, {"ticker": "parent"})
    row = call(api.monitor_status)["models"][0]
    assert row["drift"] == {
        "health": d["health"],
        "drift_score": d["drift_score"],
        "volatility_index": d["volatility_index"],
        "timestamp": d["timestamp"],
        "model_version": d["model_version"],
        "current_version": True,
    }
    with pytest.raises(errors.BadRequest, match="unknown field"):
        call(api.monitor_status, {"ticker": "parent"})


def test_monitoring_settings_from_env():
    s = settings.Settings.from_env({})
    assert (s.drift_window_days, s.history_keep) == (60, 500)
    s = settings.Settings.from_env({"DRIFT_WINDOW_DAYS": "90", "MONITOR_HISTORY_KEEP": " "})
    assert (s.drift_window_days, s.history_keep) == (90, 500)
    with pytest.raises(ValueError, match=r"DRIFT_WINDOW_DAYS='x' is invalid: .*valid integer"):
        settings.Settings.from_env({"DRIFT_WINDOW_DAYS": "x"})
    with pytest.raises(ValueError, match=r"DRIFT_WINDOW_DAYS='5' is invalid: .*greater than or equal to 20"):
        settings.Settings.from_env({"DRIFT_WINDOW_DAYS": "5"})
