"""The prediction: docs/api.md's shape, NYSE dates, intervals, reload on a new version."""

import json
import re
import shutil

import numpy as np
import orjson
import pytest
from conftest import make_settings

from stockagent import errors, tickers
from stockagent.forecast import backtest_results, predict, train
from stockagent.forecast.registry import Registry
from stockagent.market import prices as market_prices

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def test_forecast_shape(parent_settings):
    out = predict.Predictor(parent_settings).forecast("parent")
    assert out["ticker"] == "^GSPC" and out["last_date"] == "2024-12-31" == out["data_as_of"]
    assert out["future_window_days"] == 63 and out["data_source"] == "bundled"
    assert out["next_business_days"] == ["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-08"]
    p = out["predictions"]
    assert [len(p[k]) for k in ("week", "month", "quarter", "full_forecast")] == [5, 21, 63, 63]
    assert p["next_day"] == p["full_forecast"][0] and p["week"] == p["full_forecast"][:5]
    days = [r["date"] for r in p["full_forecast"]]
    assert all(DATE.fullmatch(d) for d in days) and days == sorted(set(days))
    assert "2025-01-09" not in days and "2025-01-20" not in days and days[5] == "2025-01-10"
    assert days[-1] == "2025-04-03"
    for r in p["full_forecast"]:
        assert set(r) == {
            "date",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "close_low",
            "close_high",
            *predict.BANDS_95,
        }
        assert r["low"] <= min(r["open"], r["close"]) <= max(r["open"], r["close"]) <= r["high"]
        assert r["close_low_95"] < r["close_low"] < r["close"] < r["close_high"] < r["close_high_95"]
        assert r["volume"] > 0
    h = out["history"]
    assert (
        len(h) == 90 and h[-1] == {"date": "2024-12-31", "close": 5881.63} and all(DATE.fullmatch(r["date"]) for r in h)
    )
    ev = out["evaluation"]
    assert set(ev["mae"]) == {"lstm", "naive", "served"} and set(ev["mae"]["lstm"]) == {"1", "5", "21", "63"}
    assert ev["serving_weights"] == "refit" and out["summary"].endswith("(held-out).")
    assert 0 <= ev["interval_coverage"] <= 1 and out["model_version"].startswith("v")
    json.dumps(out, allow_nan=False)  # every number finite
    assert np.isfinite([r["close"] for r in p["full_forecast"]]).all()


def test_errors_and_reload(with_parent):
    pred = predict.Predictor(with_parent)
    with pytest.raises(errors.NotFound):
        pred.forecast("NOPE")  # unknown data first: a 404, not a 202
    with pytest.raises(errors.ModelMissing):
        pred.forecast("AAPL")
    first = pred.forecast("parent")
    assert pred.forecast("parent")["model_version"] == first["model_version"]
    assert pred.model("parent") is pred.model("parent")  # kept in memory
    out = train.train_and_save(with_parent, "AAPL", epochs=1, start_date="2016-01-01")
    child = pred.forecast("AAPL")
    assert child["ticker"] == "AAPL" and child["model_version"] == out["version"] and child["model"] == "AAPL"
    reg = Registry.from_settings(with_parent)
    again = train.train_and_save(with_parent, "AAPL", epochs=1, start_date="2017-01-01")
    assert pred.forecast("AAPL")["model_version"] == again["version"]  # a new serving version is picked up
    reg.set_serving("AAPL", out["version"])
    assert pred.forecast("AAPL")["model_version"] == out["version"]  # and a rollback too


def test_serve_loads_first_and_refuses_a_broken_version(with_parent):
    """Predictor.serve switches only to a version that loaded; a broken one is refused with the reason,
    the previous version keeps serving, even once serving.json names the broken one."""
    pred = predict.Predictor(with_parent)
    reg = Registry.from_settings(with_parent)
    first = pred.forecast("parent")["model_version"]
    second = train.train_and_save(with_parent, "parent", epochs=1, start_date="2016-01-01", promote="always")["version"]
    reg.set_serving("parent", first)
    assert pred.serve("parent", second) is None
    assert pred.serving("parent") == second
    assert pred.forecast("parent")["model_version"] == second  # the named version wins over the file's

    broken = reg.new_version("parent")
    shutil.copytree(reg.root / "parent" / second, reg.root / "parent" / broken)
    (reg.root / "parent" / broken / "weights.pt").write_bytes(b"not a checkpoint")
    reason = pred.serve("parent", broken)
    assert isinstance(reason, str) and reason  # refused, with the reason
    assert pred.serving("parent") == second
    reg.set_serving("parent", broken)
    assert pred.forecast("parent")["model_version"] == second  # the file's broken version is refused too


def test_past_forecasts_use_the_held_out_cutoffs(parent_settings):
    out = predict.Predictor(parent_settings).past_forecasts("parent")
    reg = Registry.from_settings(parent_settings)
    test = reg.meta("parent", out["model_version"])["data"]["test"]
    assert out["test_period"] == {"from": test["first_cutoff"], "to": test["last_target"], "windows": test["windows"]}
    closes = {r["date"]: r["close"] for r in out["closes"]}
    assert out["closes"][0]["date"] == test["first_cutoff"] and out["closes"][-1]["date"] == test["last_target"]
    cutoffs = [f["cutoff"] for f in out["forecasts"]]
    assert len(cutoffs) == predict.PAST_FORECASTS and cutoffs == sorted(set(cutoffs))
    assert cutoffs[0] == test["first_cutoff"] and cutoffs[-1] == test["last_cutoff"]
    for f in out["forecasts"]:
        assert f["last_close"] == closes[f["cutoff"]]
        path = f["path"]
        assert len(path) == 63 and all(r["date"] > f["cutoff"] for r in path)
        assert [r["date"] for r in path] == sorted(r["date"] for r in path)
        for r in path:
            assert r["close_low"] < r["close"] < r["close_high"]
            assert r["actual"] == pytest.approx(closes[r["date"]], rel=1e-4)  # what followed, from the prices
    inside = [r["close_low"] <= r["actual"] <= r["close_high"] for f in out["forecasts"] for r in f["path"]]
    assert 0 < sum(inside) <= len(inside)
    json.dumps(out, allow_nan=False)


def test_model_saved_before_volatility_bands_still_serves(with_parent):
    """A version whose meta.json predates the 95% and volatility-scaled bands serves its fixed 80% band."""
    reg = Registry.from_settings(with_parent)
    version = reg.serving_version("parent")
    path = with_parent.models_dir / "parent" / version / "meta.json"
    meta = json.loads(path.read_text())
    for key in ("scale", "quantiles_95"):
        del meta["interval"][key]
    meta["interval"]["quantiles"] = [0.01 * (h + 1) ** 0.5 for h in range(63)]  # log-return half-widths
    path.write_text(json.dumps(meta))
    out = predict.Predictor(with_parent).forecast("parent")
    rows = out["predictions"]["full_forecast"]
    assert set(rows[0]) == {"date", "open", "high", "low", "close", "volume", "close_low", "close_high"}
    assert "fields_95" not in out["interval"]
    for h, r in enumerate(rows, 1):
        assert r["close_high"] / r["close_low"] == pytest.approx(np.exp(2 * 0.01 * h**0.5), rel=1e-3)


def test_summary_names_the_newest_stored_backtest(with_parent):
    """A backtest stored after the model was loaded shows in the next forecast's summary; a
    backtest of the baselines alone does not (it measured nothing of this model's bands)."""
    pred = predict.Predictor(with_parent)
    assert pred.forecast("parent")["summary"].endswith("(held-out).")
    span = {"first_origin": "2023-01-03", "last_outcome": "2023-12-29"}
    baselines = {"scores": [{"horizon": 1, "forecaster": "naive", "coverage": {"80": 0.5}}], "data_range": span}
    backtest_results.save(with_parent.models_dir, "parent", {"forecasters": ["naive"]}, baselines)
    assert pred.forecast("parent")["summary"].endswith("(held-out).")
    lstm = [{"horizon": h, "forecaster": "lstm", "coverage": {"80": c}} for h, c in ((1, 0.78), (5, 0.80))]
    backtest_results.save(with_parent.models_dir, "parent", {"forecasters": ["lstm"]}, {**baselines, "scores": lstm})
    assert pred.forecast("parent")["summary"].endswith("80% band held 79% (backtest 2023-01\u20132023-12).")


def test_encoded_answer_equals_the_fresh_one_and_follows_changes(with_parent, tmp_path):
    """The server's encoded answer, whose parts around the forecast rows are encoded once, is the
    answer built whole, key order included, and it follows new prices, a new serving version and a
    new summary from the next call on."""
    folder = tmp_path / "prices"
    folder.mkdir()
    name = tickers.stem("^GSPC") + ".csv"
    lines = (market_prices.BUNDLED_DIR / name).read_text().splitlines(keepends=True)
    (folder / name).write_text("".join(lines[:-1]))  # a day short of the bundled history
    s = make_settings(with_parent.data_dir, prices_dir=folder)
    pred = predict.Predictor(s)

    def same() -> dict:
        fresh = pred.forecast("parent")
        assert json.dumps(orjson.loads(pred.forecast_json("parent"))) == json.dumps(fresh)
        return fresh

    first = same()
    frame = pred._frames["parent"]
    assert same() == first and pred._frames["parent"] is frame  # reused while nothing changed

    (folder / name).write_text("".join(lines))  # a new day of prices
    assert same()["last_date"] == "2024-12-31" != first["last_date"]

    reg = Registry.from_settings(s)
    version = reg.new_version("parent")
    shutil.copytree(reg.root / "parent" / first["model_version"], reg.root / "parent" / version)
    reg.set_serving("parent", version)
    assert same()["model_version"] == version

    span = {"first_origin": "2023-01-03", "last_outcome": "2023-12-29"}
    lstm = [{"horizon": 1, "forecaster": "lstm", "coverage": {"80": 0.78}}]
    backtest_results.save(s.models_dir, "parent", {"forecasters": ["lstm"]}, {"scores": lstm, "data_range": span})
    assert "backtest 2023-01" in same()["summary"]
