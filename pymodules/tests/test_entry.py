"""The functions Go calls, through their bytes-in/bytes-out wrappers, and the CLI."""

import json
import os
import subprocess
import sys

import pytest

from stockagent import errors
from stockagent.entries import forecast as entries


def call(fn, req=None):
    return json.loads(fn(json.dumps(req or {}).encode()))


def test_predict_and_models(entry_env):
    out = call(entries.predict, {"ticker": "parent"})
    assert out["ticker"] == "^GSPC" and len(out["predictions"]["full_forecast"]) == 63
    with pytest.raises(errors.ModelMissing):
        call(entries.predict, {"ticker": "aapl"})
    with pytest.raises(errors.NotFound):
        call(entries.predict, {"ticker": "NOPE"})
    for bad in ("../x", "", "..", "PARENT/..", "A" * 13):
        with pytest.raises(errors.BadRequest):
            call(entries.predict, {"ticker": bad})
    with pytest.raises(errors.BadRequest, match="missing field 'ticker'"):
        call(entries.predict, {})
    with pytest.raises(errors.BadRequest, match="unknown field"):
        call(entries.predict, {"ticker": "AAPL", "tikcer": 1})

    models = call(entries.models)["models"]
    assert [m["model"] for m in models] == ["parent"] and models[0]["ticker"] == "parent"
    assert models[0]["serving_version"] == models[0]["versions"][0]["version"] == out["model_version"]
    one = call(entries.model, {"ticker": "parent"})
    assert one["meta"]["interval"]["test_coverage"] == one["versions"][0]["metrics"]["interval_coverage"]
    with pytest.raises(errors.NotFound):
        call(entries.model, {"ticker": "AAPL"})
    state = call(entries.model_state, {"ticker": "parent"})
    assert state == {
        "ticker": "parent",
        "exists": True,
        "serving_version": out["model_version"],
        "data_as_of": "2024-12-31",
        "data_source": "bundled",
    }
    assert call(entries.model_state, {"ticker": "NOPE"})["exists"] is False
    tickers = call(entries.tickers)
    assert tickers["data_source"] == "bundled" and {"AAPL", "^GSPC"} <= {t["symbol"] for t in tickers["tickers"]}


def test_train_child_then_predict(entry_env):
    with pytest.raises(errors.InvalidParameter, match="epochs"):
        call(entries.train, {"ticker": "AAPL", "epochs": 0})
    res = call(
        entries.train, {"ticker": "aapl", "epochs": 1, "start_date": "2016-01-01", "strategy": "freeze", "force": True}
    )
    assert res["ticker"] == "AAPL" and res["serving"] is True and res["epochs_run"] == 1
    assert set(res["metrics"]["mae"]) == {"lstm", "naive", "drift", "served"} and "test_coverage" in res["interval"]
    out = call(entries.predict, {"ticker": "AAPL"})
    assert out["model_version"] == res["version"]
    kept = call(entries.train, {"ticker": "AAPL", "epochs": 1, "start_date": "2016-01-01", "promote": "auto"})
    assert kept["promotion"]["rule"] == "auto"  # same data and seed: as good, so promoted
    assert kept["serving"] is True


def test_run_leaves_the_pointer_to_set_serving(entry_env):
    """A server's run (run_id given) saves its version unserved; set_serving moves the pointer."""
    before = call(entries.model_state, {"ticker": "AAPL"})["serving_version"]
    res = call(
        entries.train,
        {"ticker": "AAPL", "epochs": 1, "start_date": "2016-01-01", "run_id": "0123abcd", "promote": "always"},
    )
    assert res["promotion"]["promoted"] is True
    assert call(entries.model_state, {"ticker": "AAPL"})["serving_version"] == before != res["version"]
    assert call(entries.set_serving, {"ticker": "aapl", "version": res["version"]})["changed"] is True
    assert call(entries.set_serving, {"ticker": "AAPL", "version": res["version"]})["changed"] is False
    assert call(entries.predict, {"ticker": "AAPL"})["model_version"] == res["version"]
    missing = call(entries.load_serving, {"ticker": "AAPL", "version": "v20200101000000000-abcd"})
    assert missing["serving"] == res["version"] and "has no version" in missing["error"]  # refused, kept
    loaded = call(entries.load_serving, {"ticker": "aapl", "version": res["version"]})
    assert loaded == {"ticker": "AAPL", "version": res["version"], "serving": res["version"], "error": None}
    for bad in ({"ticker": "AAPL", "version": "../x"}, {"ticker": "AAPL", "version": 3}, {"ticker": "AAPL"}):
        with pytest.raises(errors.BadRequest):
            call(entries.set_serving, bad)
    with pytest.raises(errors.NotFound):
        call(entries.set_serving, {"ticker": "AAPL", "version": "v20200101000000000-abcd"})
    with pytest.raises(errors.BadRequest):
        call(entries.train, {"ticker": "AAPL", "epochs": 1, "run_id": "../../x"})


def _cli(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "stockagent.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_cli(tmp_path):
    env = {"DATA_DIR": str(tmp_path), "DATA_SOURCE": "bundled"}
    ok = _cli("tickers", env=env)
    assert ok.returncode == 0, ok.stderr
    assert {"AAPL", "^GSPC"} <= {t["symbol"] for t in json.loads(ok.stdout)["tickers"]}
    bad = _cli("predict-child", "--ticker", "../x", env=env)
    assert bad.returncode == 1
    assert "ticker" in json.loads(bad.stdout)["detail"]
