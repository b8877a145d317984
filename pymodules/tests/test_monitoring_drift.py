"""Drift: the model's own features, Critical on injected shifts, Healthy on stable data, storage."""

import datetime as dt
import functools
import json
import os
import shutil
import threading

import numpy as np
import pandas as pd
import pytest
from conftest import make_settings

from stockagent import errors
from stockagent.forecast import dataset, train
from stockagent.forecast.registry import Registry
from stockagent.market import features, prices
from stockagent.monitoring import drift, store

CHILD_START = "2015-01-01"  # the child's training window then runs 2015-01-02 .. 2021-12-29
STABLE_END = "2019-06-28"  # 60 days inside that window: drift score 0.05, volatility ratio 0.90


@pytest.fixture(scope="module")
def with_child(parent_settings, tmp_path_factory):
    """A data folder holding the session's parent and an AAPL child (1 epoch, frozen, from 2015)."""
    s = make_settings(tmp_path_factory.mktemp("child") / "data")
    shutil.copytree(parent_settings.models_dir, s.models_dir)
    train.train_and_save(s, "AAPL", epochs=1, strategy="freeze", start_date=CHILD_START)
    return s


def _aapl_frame() -> pd.DataFrame:
    return pd.read_csv(prices.BUNDLED_DIR / "AAPL.csv")


def _prices_dir(tmp_path, frame: pd.DataFrame):
    folder = tmp_path / "prices"
    folder.mkdir()
    frame.to_csv(folder / "AAPL.csv", index=False, float_format="%.6f")
    return folder


def test_model_view_is_the_models_input_on_the_cut_off_day():
    p = prices.load("AAPL", make_settings("/tmp/unused"))
    view = drift.model_view(p.features)
    ends = np.array([100, 2000, len(p) - 1])
    w = dataset.make_windows(p.features, ends, features.WARMUP, with_targets=False).inputs  # (3, 60, 7)
    got = view[ends]
    np.testing.assert_allclose(got[:, 0:3], w[:, -1, 0:3] - w[:, -1, 3:4], atol=1e-6)  # vs the same day's close
    np.testing.assert_allclose(got[:, 3], w[:, -1, 3] - w[:, -2, 3], atol=1e-6)  # the close channel's last step
    np.testing.assert_allclose(got[:, 4:], w[:, -1, 4:], atol=1e-6)  # relative volume, RSI/100, MACD/close
    assert np.isnan(view[: dataset.CONTEXT - 1, 4]).all() and np.isfinite(view[dataset.CONTEXT - 1 :]).all()


def test_compare_on_synthetic_frames():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(3000, 7))
    ref_ret = rng.normal(0, 0.01, 3000)
    stable = drift.compare(ref, ref[rng.choice(3000, 60)], ref_ret, ref_ret[rng.choice(3000, 60)])
    assert stable["health"] == drift.HEALTHY and stable["drift_score"] < 0.5
    assert 0.6 < stable["volatility_index"] < 1.5
    shifted = drift.compare(ref, rng.normal(3.0, 1.0, (60, 7)), ref_ret, rng.normal(0, 0.01, 60))
    assert shifted["health"] == drift.CRITICAL and shifted["drift_score"] > 2
    assert all(m["psi"] > 1 and m["ks_pvalue"] < 1e-6 for m in shifted["feature_metrics"].values())
    calm = drift.compare(ref, ref[:60], ref_ret, rng.normal(0, 0.003, 60))  # volatility collapsed
    assert calm["health"] == drift.CRITICAL and calm["volatility_index"] < 0.4
    assert list(stable["feature_metrics"]) == list(features.COLUMNS)
    assert set(stable["feature_metrics"]["Close"]) == {
        "ref_mean",
        "curr_mean",
        "ref_std",
        "curr_std",
        "shift_score",
        "psi",
        "ks_stat",
        "ks_pvalue",
    }


def test_parent_drift_uses_its_training_window(with_parent):
    report = drift.run_drift(with_parent, "parent")
    meta = Registry.from_settings(with_parent).load("parent").meta
    assert report["ticker"] == "parent" and report["symbol"] == "^GSPC" and report["model"] == "parent"
    assert report["model_version"] == meta["version"] and report["status"] == "ok"
    # from the first usable day (the volume reference needs 60 rows) to the last training target
    assert meta["data"]["first_date"] <= report["reference"]["from"] < "2004-12-31"
    assert report["reference"]["to"] == meta["data"]["train"]["last_target"]
    assert report["current"] == {"from": "2024-10-07", "to": "2024-12-31", "rows": 60}
    assert report["health"] == drift.health(report["drift_score"], report["volatility_index"])
    assert report["feature_space"] == "model" and set(report["features"]) == set(features.COLUMNS)
    # The levels moved far (the index roughly tripled); the model's scale-free inputs did not.
    raw = drift.drift_report(with_parent, "parent", space="raw")
    assert raw["health"] == drift.CRITICAL and raw["drift_score"] > 2 > report["drift_score"]
    json.dumps(report, allow_nan=False)


def test_injected_volatility_is_critical(with_child, tmp_path):
    df = _aapl_frame()
    last = df.index[-60:]
    close = df["Close"].to_numpy()
    r = np.diff(np.log(close))[-60:]  # the last 60 daily log returns
    new_close = close[-61] * np.exp(np.cumsum(10 * r))  # the same path, ten times as volatile
    factor = new_close / close[-60:]
    for col in ("Open", "High", "Low", "Close", "Adj Close"):
        df.loc[last, col] = df.loc[last, col].to_numpy() * factor
    s = make_settings(with_child.data_dir, prices_dir=_prices_dir(tmp_path, df))
    report = drift.run_drift(s, "AAPL")
    assert report["health"] == drift.CRITICAL and report["volatility_index"] > 2.5
    assert report["data_source"] == "prices_dir" and report["model"] == "AAPL"
    assert report["feature_metrics"]["Close"]["ks_pvalue"] < 0.01


def test_level_shift_before_the_window_is_drift_in_levels_only(with_child, tmp_path):
    """Prices tripled 200 days ago: the levels drifted, the model's scale-free inputs did not."""
    df = _aapl_frame()
    for col in ("Open", "High", "Low", "Close", "Adj Close"):
        df.loc[df.index[-200:], col] *= 3.0
    s = make_settings(with_child.data_dir, prices_dir=_prices_dir(tmp_path, df))
    assert drift.drift_report(s, "AAPL", space="raw")["health"] == drift.CRITICAL
    shifted = drift.drift_report(s, "AAPL")
    original = drift.drift_report(with_child, "AAPL")
    assert shifted["health"] == original["health"]
    assert shifted["drift_score"] == pytest.approx(original["drift_score"], rel=1e-3)
    assert shifted["volatility_index"] == pytest.approx(original["volatility_index"], rel=1e-3)
    for col, m in shifted["feature_metrics"].items():
        assert m["shift_score"] == pytest.approx(original["feature_metrics"][col]["shift_score"], rel=1e-2, abs=1e-3), (
            col
        )


def test_stable_data_is_healthy(with_child, tmp_path):
    df = _aapl_frame()
    df = df[df["Date"] <= STABLE_END]  # the last 60 days now lie inside the training window
    s = make_settings(with_child.data_dir, prices_dir=_prices_dir(tmp_path, df))
    report = drift.run_drift(s, "AAPL")
    assert report["current"]["to"] == STABLE_END and report["reference"]["to"] >= STABLE_END
    assert report["health"] == drift.HEALTHY, report
    assert report["drift_score"] < 0.5


def test_window_days_and_bad_references(with_child):
    assert drift.drift_report(with_child, "AAPL", window_days=120)["current"]["rows"] == 120
    with pytest.raises(errors.NotFound, match="No trained model for 'MSFT'"):
        drift.run_drift(with_child, "MSFT")
    with pytest.raises(errors.NotFound, match="No trained model for 'MSFT'"):
        drift.latest_drift(with_child, "MSFT")
    with pytest.raises(errors.InvalidParameter):
        drift.drift_report(with_child, "AAPL", space="levels")
    with pytest.raises(errors.InvalidParameter, match="window_days"):
        drift.drift_report(with_child, "AAPL", window_days=5)


def test_latest_and_history_are_stored(with_child, tmp_path):
    s = make_settings(tmp_path / "data")
    shutil.copytree(with_child.models_dir, s.models_dir)
    with pytest.raises(errors.NotFound, match="No drift report for 'AAPL' yet"):
        drift.latest_drift(s, "AAPL")
    first = drift.run_drift(s, "AAPL")
    second = drift.run_drift(s, "AAPL")
    folder = s.data_dir / "monitoring" / "AAPL"
    assert json.loads((folder / "drift_latest.json").read_text()) == second == drift.latest_drift(s, "AAPL")
    lines = (folder / "drift_history.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines] == [first, second]
    assert drift.drift_history(s, "AAPL", 10) == [second, first]  # newest first
    assert drift.drift_history(s, "AAPL", 1) == [second]
    assert drift.drift_history(s, "parent", 10) == []
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp")]


@pytest.fixture
def no_fsync(monkeypatch):
    """Durability is not under test here, and fsync is slow on some disks."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def test_history_is_bounded(tmp_settings, no_fsync):
    n = 2 * store.TRIM_SLACK + 10
    for i in range(n):
        store.save(tmp_settings, "parent", "drift", {"i": i}, keep=5)
    lines = (store.folder(tmp_settings, "parent") / "drift_history.jsonl").read_text().splitlines()
    assert 5 <= len(lines) <= 5 + store.TRIM_SLACK
    assert json.loads(lines[-1]) == {"i": n - 1, "seq": n}
    assert [(r["i"], r["seq"]) for r in store.history(tmp_settings, "parent", "drift", 3)] == [
        (n - 1, n),
        (n - 2, n - 1),
        (n - 3, n - 2),
    ]


def test_history_before_a_time(tmp_settings, no_fsync):
    for day in (1, 2, 3):
        store.save(tmp_settings, "parent", "drift", {"timestamp": f"2026-01-0{day}T00:00:00+00:00", "i": day}, keep=10)
    store.save(tmp_settings, "parent", "drift", {"i": "no time"}, keep=10)
    older = functools.partial(store.history, tmp_settings, "parent", "drift")
    assert [r["i"] for r in older(10, dt.datetime(2026, 1, 3, tzinfo=dt.UTC))] == [2, 1]
    assert [r["i"] for r in older(1, dt.datetime(2026, 1, 3, tzinfo=dt.UTC))] == [2]
    assert older(10, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) == []
    assert [r["i"] for r in older(10)] == ["no time", 3, 2, 1]
    assert [r["i"] for r in older(10, before_seq=3)] == [2, 1]
    assert [r["i"] for r in older(10, dt.datetime(2026, 1, 3, tzinfo=dt.UTC), before_seq=2)] == [1]


def test_seq_pages_exactly_through_records_of_one_second(tmp_settings, no_fsync, monkeypatch):
    """Records that share a time are told apart by their seq: paging by it visits each once, while
    records are saved, and the history is trimmed, between the pages."""
    monkeypatch.setattr(store, "TRIM_SLACK", 0)
    stamp = "2026-01-01T00:00:00+00:00"
    for i in range(12):
        store.save(tmp_settings, "parent", "drift", {"timestamp": stamp, "i": i}, keep=14)
    seen, cursor = {}, None
    for page in range(10):
        rows = store.history(tmp_settings, "parent", "drift", 5, before_seq=cursor)
        if not rows:
            break
        seen |= {r["i"]: r["seq"] for r in rows}
        cursor = rows[-1]["seq"]
        store.save(tmp_settings, "parent", "drift", {"timestamp": stamp, "i": 100 + page}, keep=14)
    assert list(seen) == list(range(11, -1, -1))
    # The saves trimmed the oldest lines; the records left keep the numbers they were read with.
    left = store.history(tmp_settings, "parent", "drift", 100)
    assert len(left) == 14 and {r["i"]: r["seq"] for r in left if r["i"] < 100} == {i: seen[i] for i in range(1, 12)}


def test_records_saved_without_seq_keep_their_numbers(tmp_settings, no_fsync):
    folder = store.folder(tmp_settings, "parent")
    folder.mkdir(parents=True)
    history = folder / "drift_history.jsonl"
    history.write_text("".join(json.dumps({"i": i}) + "\n" for i in range(4)) + '{"i": "cut sh')
    before = [(r["i"], r["seq"]) for r in store.history(tmp_settings, "parent", "drift", 10)]
    assert before == [(3, 4), (2, 3), (1, 2), (0, 1)]
    stored = store.save(tmp_settings, "parent", "drift", {"i": 4}, keep=10)
    assert stored == {"i": 4, "seq": 6} == store.latest(tmp_settings, "parent", "drift")
    after = [(r["i"], r["seq"]) for r in store.history(tmp_settings, "parent", "drift", 10)]
    assert after == [(4, 6), *before]  # the line cut short is skipped, and the new one is whole


def test_latest_write_is_atomic(tmp_settings, monkeypatch):
    store.save(tmp_settings, "parent", "drift", {"run": 1}, keep=10)

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        store.save(tmp_settings, "parent", "drift", {"run": 2}, keep=10)
    monkeypatch.undo()
    folder = store.folder(tmp_settings, "parent")
    assert store.latest(tmp_settings, "parent", "drift") == {"run": 1, "seq": 1}  # the old record, whole
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp")]
    with pytest.raises(ValueError):  # NaN is refused before anything is written
        store.save(tmp_settings, "parent", "drift", {"x": float("nan")}, keep=10)
    assert store.latest(tmp_settings, "parent", "drift") == {"run": 1, "seq": 1}


def test_concurrent_saves_keep_every_line_whole(tmp_settings, no_fsync):
    def work(k):
        for i in range(20):
            store.save(tmp_settings, "AAPL", "drift", {"k": k, "i": i, "pad": "x" * 2000}, keep=1000)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = store.history(tmp_settings, "AAPL", "drift", 1000)
    assert len(rows) == 120 and {(r["k"], r["i"]) for r in rows} == {(k, i) for k in range(6) for i in range(20)}
