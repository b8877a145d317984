"""Measurement behind the served bands (intervals.served): test coverage of a freshly trained parent's
80% and 95% bands three ways: plain split conformal on validation errors, the same on
volatility-normalised errors, and the served method (normalised, with adaptive conformal inference
walked over the validation then test windows). Not part of the package.

    PYTHONPATH=pymodules .venv/bin/python pymodules/experiments/served_bands.py [START] [EPOCHS]
"""

import math
import sys

import numpy as np
import torch

from stockagent.forecast import intervals, train
from stockagent.forecast.dataset import Scalers, split
from stockagent.forecast.model import LSTMForecaster
from stockagent.market import prices
from stockagent.settings import Settings


def _rounded(cover: dict) -> tuple:
    return round(cover["overall"], 3), {h: round(v, 3) for h, v in cover["by_horizon"].items()}


def main(start: str = "2004-08-19", epochs: str = "1") -> None:
    torch.set_num_threads(2)
    settings = Settings(data_dir="/tmp/served-bands", data_source="bundled")
    cfg = train.make_config(settings, "parent", epochs=int(epochs), start_date=start)
    data = split(prices.load(cfg.ticker, settings), cfg.start_date, cfg.end_date)
    scalers = Scalers.fit(data.train)
    model, _ = train.fit(cfg, data, scalers)
    lstm = LSTMForecaster(model, scalers)
    val_pred, test_pred = lstm.predict(data.val), lstm.predict(data.test)
    assert data.val.targets is not None

    def split_conformal(level: float, scaled: bool) -> tuple:
        scores = np.abs(data.val.targets[..., intervals.CLOSE] - val_pred[..., intervals.CLOSE])
        unit = 1.0
        if scaled:
            scores, unit = scores / intervals.scale(data.val.inputs), intervals.scale(data.test.inputs)
        k = min(len(scores), math.ceil((len(scores) + 1) * level - 1e-9))
        return _rounded(intervals.coverage(data.test, test_pred, np.sort(scores, axis=0)[k - 1] * unit))

    print(f"parent from {start}, {epochs} epoch(s), {len(data.test)} test windows")
    for level in intervals.LEVELS:
        served = _rounded(intervals.served(data.val, val_pred, data.test, test_pred, level)[1])
        print(level, "plain", split_conformal(level, False), "scaled", split_conformal(level, True), "served", served)


if __name__ == "__main__":
    main(*sys.argv[1:])
