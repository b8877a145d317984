"""Training: loss goes down, the best epoch is kept, transfer strategies, progress, cancel, validation."""

import dataclasses
import threading

import numpy as np
import pytest
import torch
from conftest import make_settings

from stockagent import errors, runtime
from stockagent.forecast import dataset, train
from stockagent.forecast.dataset import Scalers
from stockagent.forecast.model import LSTMModel
from stockagent.forecast.registry import Registry
from stockagent.market import prices

SLICE = {"start_date": "2012-01-01", "end_date": "2018-12-31"}  # ~1,750 days of ^GSPC: seconds per epoch


def _val_loss(model, cfg, data, scalers):
    x = torch.from_numpy(scalers.x(data.val.inputs))
    y = torch.from_numpy(scalers.y(data.val.targets))
    return train.estimate_loss(model, x, y)


def _synthetic_prices(folder, n=1200):
    """A price series with a learnable pattern (a 40-day cycle): training must find it."""
    import pandas as pd

    rng = np.random.default_rng(0)
    t = np.arange(n)
    close = 100 * np.exp(0.15 * np.sin(2 * np.pi * t / 40) + 0.003 * rng.standard_normal(n))
    open_ = np.r_[close[0], close[:-1]]
    df = pd.DataFrame(
        {
            "Date": pd.bdate_range("2010-01-04", periods=n).strftime("%Y-%m-%d"),
            "Open": open_,
            "High": np.maximum(open_, close) * 1.003,
            "Low": np.minimum(open_, close) * 0.997,
            "Close": close,
        }
    )
    df["Adj Close"] = df["Close"]
    df["Volume"] = (1e6 * (2 + np.sin(2 * np.pi * t / 40))).round()
    folder.mkdir()
    df.to_csv(folder / "SYN.csv", index=False)


def test_training_lowers_val_loss_and_keeps_best_epoch(tmp_path):
    _synthetic_prices(tmp_path / "prices")
    s = make_settings(
        tmp_path / "data", prices_dir=tmp_path / "prices", parent_ticker="SYN", parent_start_date="2010-01-01"
    )
    result = train.train_and_save(s, "parent", epochs=2)
    art = Registry.from_settings(s).load("parent", evaluated=True)  # the weights the evaluation is of
    history = art.meta["training"]["history"]
    assert [h["epoch"] for h in history] == [1, 2] and art.meta["data"]["source"] == "prices_dir"
    assert art.meta["training"]["best_val_loss"] == min(h["val_loss"] for h in history)
    assert result["best_epoch"] == 1 + int(np.argmin([h["val_loss"] for h in history]))

    cfg = train.make_config(s, "parent", epochs=2)
    data = dataset.split(prices.load(cfg.ticker, s), cfg.start_date, cfg.end_date)
    scalers = Scalers.fit(data.train)
    train.seed_everything(cfg.seed)
    untrained = LSTMModel(cfg.model)  # the run's initial weights (same seed)
    assert art.meta["training"]["best_val_loss"] < 0.5 * _val_loss(untrained, cfg, data, scalers)
    saved = LSTMModel(cfg.model)
    saved.load_state_dict(art.state_dict)  # the saved weights are the best epoch's
    assert _val_loss(saved, cfg, data, scalers) == pytest.approx(art.meta["training"]["best_val_loss"], abs=1e-5)
    assert result["metrics"]["skill_vs_naive"] < 0.7  # and it beats the naive forecast on held-out days


def test_early_stopping_restores_best(monkeypatch, tmp_settings):
    losses = iter([0.5, 0.4, 0.45, 0.6, 0.7, 0.8, 0.9])
    seen = []
    real = train.estimate_loss

    def fake(model, x, y, batch_size=1024, step=None):
        real(model, x[:2], y[:2], step=step)  # keep the code path
        seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return next(losses)

    monkeypatch.setattr(train, "estimate_loss", fake)
    cfg = train.make_config(tmp_settings, "parent", epochs=7, **SLICE)
    cfg = dataclasses.replace(cfg, patience=3)
    data = dataset.split(prices.load(cfg.ticker, tmp_settings), cfg.start_date, cfg.end_date)
    data = dataset.Split(data.train.take(slice(0, 64)), data.val, data.test, data.info)
    model, report = train.fit(cfg, data, Scalers.fit(data.train))
    assert report["best_epoch"] == 2 and report["epochs_run"] == 5 and report["stopped_early"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, seen[1][k])


def _lstm_equal(a: dict, b: dict) -> bool:
    keys = [k for k in a if k.startswith("lstm.")]
    assert keys
    return all(torch.equal(a[k], b[k]) for k in keys)


def test_child_freeze_keeps_parent_lstm(with_parent):
    reg = Registry.from_settings(with_parent)
    parent = reg.load("parent")
    out = train.train_and_save(with_parent, "MSFT", epochs=2, strategy="freeze", start_date="2015-01-01")
    child = reg.load("MSFT")
    assert out["parent_version"] == parent.version == child.meta["parent_version"]
    assert child.meta["strategy"] == "freeze" and out["model"] == "MSFT"
    assert _lstm_equal(child.state_dict, parent.state_dict)
    assert not torch.equal(child.state_dict["head.weight"], parent.state_dict["head.weight"])


def test_child_fine_tune_moves_lstm(with_parent):
    reg = Registry.from_settings(with_parent)
    parent = reg.load("parent")
    out = train.train_and_save(with_parent, "MSFT", epochs=1, strategy="fine_tune", start_date="2015-01-01")
    child = reg.load("MSFT")
    assert child.meta["config"]["learning_rate"] == with_parent.fine_tune_learning_rate
    assert out["strategy"] == "fine_tune" and not _lstm_equal(child.state_dict, parent.state_dict)


def test_child_needs_parent(tmp_settings):
    with pytest.raises(errors.ModelMissing, match="parent model missing"):
        train.train_and_save(tmp_settings, "AAPL", epochs=1)
    with pytest.raises(errors.NotFound):  # unknown data is reported before the missing parent
        train.train_and_save(tmp_settings, "NOPE", epochs=1)


def test_progress_in_order_and_cancel(tmp_settings):
    events = []
    with runtime.local_call(on_progress=events.append):
        train.train_and_save(tmp_settings, "parent", epochs=2, **SLICE)
    epochs = [e for e in events if e["stage"] == "epoch"]
    refit = [e for e in events if e["stage"] == "refit"]
    assert [e["stage"] for e in events] == ["data", "epoch", "epoch", *["refit"] * len(refit), "saved"]
    best = 1 + min(range(2), key=lambda k: epochs[k]["val_loss"])
    assert [(e["epoch"], e["epochs"]) for e in refit] == [(k, best) for k in range(best + 1)]
    assert [(e["epoch"], e["epochs"]) for e in epochs] == [(1, 2), (2, 2)]
    assert set(epochs[0]) == {"stage", "epoch", "epochs", "train_loss", "val_loss", "best_val_loss"}
    assert epochs[1]["best_val_loss"] == min(e["val_loss"] for e in epochs)

    reg = Registry.from_settings(tmp_settings)
    before = reg.versions("parent")
    cancel = threading.Event()

    def stop_after_first_epoch(event):
        if event["stage"] == "epoch":
            cancel.set()

    with pytest.raises(errors.Cancelled), runtime.local_call(on_progress=stop_after_first_epoch, cancel=cancel):
        train.train_and_save(tmp_settings, "parent", epochs=5, **SLICE)
    assert reg.versions("parent") == before  # nothing saved


@pytest.mark.parametrize(
    "field, value",
    [
        ("epochs", 0),
        ("epochs", 1001),
        ("epochs", "5"),
        ("epochs", True),
        ("epochs", 2.5),
        ("learning_rate", 0),
        ("learning_rate", 1.5),
        ("learning_rate", -0.1),
        ("learning_rate", "x"),
        ("learning_rate", float("nan")),
        ("start_date", "2020-13-01"),
        ("start_date", "yesterday"),
        ("start_date", "2999-01-01"),
        ("start_date", 20200101),
        ("end_date", "2020-1-1"),
        ("strategy", "bogus"),
    ],
)
def test_bad_hyper_parameters(tmp_settings, field, value):
    with pytest.raises(errors.InvalidParameter, match=field):
        train.make_config(tmp_settings, "AAPL", **{field: value})


def test_bad_combinations(tmp_settings):
    with pytest.raises(errors.InvalidParameter, match="strategy"):
        train.make_config(tmp_settings, "parent", strategy="freeze")
    with pytest.raises(errors.InvalidParameter, match="start_date"):
        train.make_config(tmp_settings, "parent", start_date="2020-01-01", end_date="2019-01-01")
    with pytest.raises(errors.InvalidParameter, match="start_date"):  # too few rows left
        train.train_and_save(tmp_settings, "parent", epochs=1, start_date="2024-01-01")
    with pytest.raises(errors.InvalidParameter, match="promote"):
        train.train_and_save(tmp_settings, "parent", epochs=1, promote="never")


def test_fast_transfer_training_learns_the_same_head(with_parent):
    """Training the head on precomputed frozen-LSTM outputs equals the straightforward loop."""
    parent = Registry.from_settings(with_parent).load("parent")
    cfg = train.make_config(with_parent, "MSFT", epochs=3, strategy="freeze", start_date="2015-01-01")
    data = dataset.split(prices.load(cfg.ticker, with_parent), cfg.start_date, cfg.end_date)
    scalers = Scalers.fit(data.train)
    fast, fast_report = train.fit(cfg, data, scalers, parent)
    slow, slow_report = train.fit(cfg, data, scalers, parent, precompute=False)
    assert fast_report["epochs_run"] == slow_report["epochs_run"] == 3
    for name in ("head.weight", "head.bias"):
        a, b = fast.state_dict()[name], slow.state_dict()[name]
        assert not torch.equal(a, parent.state_dict[name]), "the head did not learn"
        rel = ((a - b).norm() / b.norm()).item()
        assert rel <= 1e-5, f"{name}: relative difference {rel:.2e}"
    for f, s in zip(fast_report["history"], slow_report["history"], strict=True):
        assert f["train_loss"] == pytest.approx(s["train_loss"], rel=1e-5)


def test_interrupted_run_resumes_from_its_checkpoint(tmp_settings):
    """A run cancelled after epoch 2 and resumed under a new attempt ends exactly where an
    uninterrupted run ends; its checkpoint exists while it is interrupted and is gone after."""
    reg = Registry.from_settings(tmp_settings)
    whole = train.train_and_save(tmp_settings, "parent", epochs=3, run_id="aaaa0000", move_pointer=False, **SLICE)
    assert not (reg.root / "parent" / ".checkpoints" / "aaaa0000.pt").exists()
    assert reg.serving_version("parent") is None  # saved, not served: the caller commits the pointer
    assert whole["promotion"]["promoted"]

    cancel = threading.Event()
    epochs = []

    def stop_after_second_epoch(event):
        if event["stage"] == "epoch":
            epochs.append(event["epoch"])
            if event["epoch"] == 2:
                cancel.set()

    # A cancelled run keeps its checkpoint: the server may hand it back to the queue.
    with pytest.raises(errors.Cancelled), runtime.local_call(on_progress=stop_after_second_epoch, cancel=cancel):
        train.train_and_save(tmp_settings, "parent", epochs=3, run_id="bbbb0000", move_pointer=False, **SLICE)
    ckpt = reg.checkpoint_path("parent", "bbbb0000")
    assert ckpt.is_file() and epochs == [1, 2]

    events = []
    with runtime.local_call(on_progress=events.append):
        resumed = train.train_and_save(
            tmp_settings, "parent", epochs=3, run_id="bbbb0000", resume_run_id="bbbb0000", move_pointer=False, **SLICE
        )
    assert [e["epoch"] for e in events if e["stage"] == "epoch"] == [3]  # epochs 1 and 2 were not run again
    assert not ckpt.exists()
    assert resumed["best_val_loss"] == whole["best_val_loss"]
    assert resumed["epochs_run"] == whole["epochs_run"] == 3
    a = reg.load("parent", whole["version"]).state_dict
    b = reg.load("parent", resumed["version"]).state_dict
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(errors.BadRequest):
        reg.checkpoint_path("parent", "../x")

    # A fresh run clears a cancelled run's leftover checkpoint.
    left = reg.checkpoint_path("parent", "cccc0000")
    reg.save_checkpoint(left, {"epoch": 1})
    train.train_and_save(tmp_settings, "parent", epochs=1, run_id="dddd0000", move_pointer=False, **SLICE)
    assert not left.exists()
