"""Refit for serving, the evaluated weights behind every held-out number, fair promotion, the
serving choice made on validation only, and resuming inside the refit."""

import threading

import numpy as np
import pytest
import torch
from conftest import make_settings
from test_train import SLICE, _synthetic_prices

from stockagent import errors, runtime
from stockagent.forecast import dataset, evaluation, train
from stockagent.forecast.dataset import Scalers
from stockagent.forecast.model import LSTMConfig, LSTMForecaster, LSTMModel
from stockagent.forecast.registry import EVALUATED_WEIGHTS, Registry
from stockagent.market import prices


def _synthetic_settings(tmp_path, **overrides):
    _synthetic_prices(tmp_path / "prices")
    return make_settings(
        tmp_path / "data",
        prices_dir=tmp_path / "prices",
        parent_ticker="SYN",
        parent_start_date="2010-01-01",
        **overrides,
    )


def _lstm_mae(art, windows) -> float:
    net = LSTMModel(LSTMConfig(**art.meta["config"]["model"]))
    net.load_state_dict(art.state_dict)
    predicted = LSTMForecaster(net, Scalers.from_json(art.scalers)).predict(windows)
    table = evaluation.evaluate("SYN", windows, {"lstm": predicted})
    return float(np.mean(list(evaluation.summary(table)["lstm"].values())))


def test_refit_serves_every_day_and_the_evaluation_is_of_the_held_out_weights(tmp_path):
    s = _synthetic_settings(tmp_path)
    out = train.train_and_save(s, "parent", epochs=2)
    reg = Registry.from_settings(s)
    served, evaluated = reg.load("parent"), reg.load("parent", evaluated=True)
    history = prices.load("SYN", s)
    serving = out["served_weights"]
    everything, _ = dataset.all_windows(history, "2010-01-01", None)
    assert serving["weights"] == "refit" and serving["last_date"] == history.last_date == out["data_as_of"]
    assert int(everything.ends[-1]) + dataset.HORIZON == len(history) - 1  # the last target is the last close
    assert serving["windows"] == len(everything) and serving["epochs"] == out["best_epoch"]
    assert out["evaluation"]["weights"] == "evaluated" and served.meta["serving"] == serving
    assert any(not torch.equal(served.state_dict[k], evaluated.state_dict[k]) for k in served.state_dict)
    assert served.scalers != evaluated.scalers  # the refit's scalers are fitted on every window

    # The stored held-out MAE is the evaluated weights' on the test windows, not the refit's.
    test = dataset.split(history, "2010-01-01", None).test
    stored = float(np.mean(list(out["metrics"]["mae"]["lstm"].values())))
    assert _lstm_mae(evaluated, test) == pytest.approx(stored, rel=1e-4)
    assert _lstm_mae(served, test) != pytest.approx(stored, rel=1e-4)


def test_refit_off_serves_the_evaluated_weights(tmp_path):
    s = _synthetic_settings(tmp_path, refit=False)
    out = train.train_and_save(s, "parent", epochs=1)
    reg = Registry.from_settings(s)
    assert out["served_weights"] == {"weights": "evaluated", "refit": False}
    assert not (reg.root / "parent" / out["version"] / EVALUATED_WEIGHTS).exists()
    a, b = reg.load("parent").state_dict, reg.load("parent", evaluated=True).state_dict
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_promotion_scores_the_serving_versions_evaluated_weights(tmp_path):
    """The serving version's refit saw the new run's test days: promotion must not score it."""
    s = _synthetic_settings(tmp_path)
    first = train.train_and_save(s, "parent", epochs=1)  # its refit saw every day
    reg = Registry.from_settings(s)
    cfg = train.make_config(s, "parent", epochs=1, end_date="2014-03-31")  # test windows the refit saw
    trained = train.train(cfg, prices.load("SYN", s))
    record = train.decide_promotion(trained, reg, cfg, "auto")
    old_evaluated = reg.load("parent", first["version"], evaluated=True)
    old_refit = reg.load("parent", first["version"])
    assert record["serving_mae"] == pytest.approx(_lstm_mae(old_evaluated, trained.test), rel=1e-4)
    assert record["serving_mae"] != pytest.approx(_lstm_mae(old_refit, trained.test), rel=1e-4)


def test_the_serving_choice_is_made_on_validation_only(tmp_path, monkeypatch):
    """An LSTM that is perfect on the test windows but wrong-signed on validation ones: validation
    says "shrink to zero", so the served forecast is the naive one, though the test split would
    have said "keep it all"."""
    s = _synthetic_settings(tmp_path, refit=False)
    data = dataset.split(prices.load("SYN", s), "2010-01-01", None)
    first_test = int(data.test.ends[0])

    class Oracle:
        alias = "lstm"

        def __init__(self, *args, **kwargs):
            pass

        def predict(self, windows):
            sign = 1.0 if windows.ends[0] >= first_test else -1.0
            return sign * windows.targets.astype(np.float64)

    monkeypatch.setattr(train, "LSTMForecaster", Oracle)
    out = train.train_and_save(s, "parent", epochs=1)
    meta = Registry.from_settings(s).meta("parent", out["version"])
    assert meta["choice"]["weights"] == [0.0] * dataset.HORIZON
    mae = meta["metrics"]["mae"]
    # the test split would have kept the LSTM whole: it is all but exact there
    assert all(mae["lstm"][h] < 1e-3 * mae["naive"][h] for h in mae["naive"])
    assert mae["served"] == mae["naive"] and out["metrics"]["served_skill_vs_naive"] == pytest.approx(1.0)
    assert out["summary"].startswith("No measurable skill over 'no change'")


def test_a_run_cancelled_in_its_refit_resumes_there(tmp_settings):
    """Cancelled after the first refit epoch, the run resumes in the refit: no evaluation epoch
    runs again, and it ends with the weights of an uninterrupted run."""
    reg = Registry.from_settings(tmp_settings)
    whole = train.train_and_save(tmp_settings, "parent", epochs=3, run_id="aaaa1111", move_pointer=False, **SLICE)
    assert whole["best_epoch"] >= 2, "the refit needs two epochs for this test"

    cancel = threading.Event()

    def stop_in_refit(event):
        if event["stage"] == "refit" and event["epoch"] == 1:
            cancel.set()

    with pytest.raises(errors.Cancelled), runtime.local_call(on_progress=stop_in_refit, cancel=cancel):
        train.train_and_save(tmp_settings, "parent", epochs=3, run_id="bbbb1111", move_pointer=False, **SLICE)
    ckpt = reg.checkpoint_path("parent", "bbbb1111")
    assert torch.load(ckpt, weights_only=True)["phase"] == "refit"

    events = []
    with runtime.local_call(on_progress=events.append):
        resumed = train.train_and_save(
            tmp_settings, "parent", epochs=3, run_id="bbbb1111", resume_run_id="bbbb1111", move_pointer=False, **SLICE
        )
    assert not [e for e in events if e["stage"] == "epoch"]
    assert [e["epoch"] for e in events if e["stage"] == "refit"][-1] == whole["best_epoch"]
    assert not ckpt.exists()
    assert resumed["metrics"] == whole["metrics"] and resumed["served_weights"] == whole["served_weights"]
    for evaluated in (False, True):
        a = reg.load("parent", whole["version"], evaluated=evaluated).state_dict
        b = reg.load("parent", resumed["version"], evaluated=evaluated).state_dict
        assert all(torch.equal(a[k], b[k]) for k in a)
