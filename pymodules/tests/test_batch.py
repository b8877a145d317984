"""Batch forecasts: one LSTM forward for the parent and its frozen children, the same answers as
single forecasts, and per-ticker failures that leave the other tickers answered."""

import json

import numpy as np
import pytest
import torch

from stockagent import errors
from stockagent.entries import forecast as entries
from stockagent.forecast import batch, predict, train

FROZEN = ("MSFT", "AAPL")


@pytest.fixture(scope="module")
def children(parent_settings, tmp_path_factory):
    """A data folder with the session's parent, two frozen children and a fine-tuned one."""
    import shutil

    from conftest import make_settings

    s = make_settings(tmp_path_factory.mktemp("batch") / "data")
    shutil.copytree(parent_settings.models_dir, s.models_dir)
    for t in FROZEN:
        train.train_and_save(s, t, epochs=1, strategy="freeze", start_date="2019-01-01")
    train.train_and_save(s, "JPM", epochs=1, strategy="fine_tune", start_date="2019-01-01")
    return s


def _single_scaled(i: predict.Inputs) -> np.ndarray:
    f = i.loaded.forecaster
    with torch.inference_mode():
        out, _ = f.model(torch.from_numpy(f.scalers.x(i.window.inputs)))
    return out[0].numpy()


def test_shared_forward_equals_single_forecasts(children):
    p = predict.Predictor(children)
    group = [p.inputs(r) for r in ("parent", *FROZEN)]
    assert len({i.loaded.encoder for i in group}) == 1, "frozen children share the parent's LSTM"
    assert p.inputs("JPM").loaded.encoder != group[0].loaded.encoder, "a fine-tuned LSTM is its own"
    shared = batch.scaled_outputs(group, threads=2)
    for i, got in zip(group, shared, strict=True):
        want = _single_scaled(i)
        rel = np.abs(got - want).max() / np.abs(want).max()
        assert rel <= 1e-5, f"{i.ref}: relative difference {rel:.2e} in the scaled space"

    entries, forwards = batch.forecast_many(p, ["parent", "MSFT", "JPM", "AAPL"])
    assert forwards == 2  # parent + frozen children; JPM's own
    for e in entries:
        single = p.forecast(e["ticker"])
        got, want = e["result"], single
        assert {k: v for k, v in got.items() if k != "forecast"} == {
            k: v for k, v in want.items() if k not in ("predictions", "history")
        }
        rows = want["predictions"]["full_forecast"]
        columns = got["forecast"]
        assert set(columns) == set(rows[0]) and all(len(v) == 63 for v in columns.values())
        assert columns["date"] == [r["date"] for r in rows]
        for k in (*predict.COLUMNS, "volume"):
            assert columns[k] == pytest.approx([r[k] for r in rows], rel=1e-5), k


def test_failures_are_per_ticker(children, load_env):
    load_env(DATA_DIR=children.data_dir, DATA_SOURCE="bundled")
    req = {"tickers": ["msft", "ZZZZ", "AMZN", "not a ticker!", "MSFT", "parent"], "threads": 1}
    out = json.loads(entries.predict_batch(json.dumps(req).encode()))
    got = [(r["ticker"], r.get("error")) for r in out["results"]]
    assert got == [
        ("MSFT", None),
        ("ZZZZ", "not_found"),
        ("AMZN", "untrained"),
        ("not a ticker!", "invalid_ticker"),
        ("parent", None),
    ]
    assert (out["answered"], out["failed"], out["lstm_forwards"]) == (2, 3, 1)
    assert "train" in out["results"][2]["detail"]
    assert out["results"][0]["result"]["ticker"] == "MSFT" and out["results"][4]["result"]["ticker"] == "^GSPC"


@pytest.mark.parametrize(
    "req, kind",
    [
        ({"tickers": []}, errors.InvalidParameter),
        ({"tickers": ["AAPL"], "threads": 0}, errors.InvalidParameter),
        ({"tickers": "AAPL"}, errors.BadRequest),  # a value of the wrong type: the request is malformed
        ({"tickers": ["AAPL", 7]}, errors.BadRequest),
        ({"tickers": ["AAPL"], "threads": True}, errors.BadRequest),
    ],
)
def test_bad_batches(req, kind):
    with pytest.raises(kind):
        entries.predict_batch(json.dumps(req).encode())
