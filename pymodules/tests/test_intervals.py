"""The conformal interval: saved with the model, and its held-out coverage near the 80% target."""

import numpy as np

from stockagent.forecast import intervals
from stockagent.forecast.dataset import HORIZON, Windows
from stockagent.forecast.registry import Registry


def test_parent_coverage_saved_and_near_target(parent_settings):
    meta = Registry.from_settings(parent_settings).load("parent").meta
    iv = meta["interval"]
    assert iv["coverage_target"] == 0.8 and len(iv["quantiles"]) == HORIZON
    assert meta["data"]["test"]["windows"] >= 500  # a long held-out slice: ~3 years of ^GSPC
    assert iv["test_windows"] == meta["data"]["test"]["windows"]
    assert abs(iv["test_coverage"] - 0.8) <= 0.10 and abs(iv["test_coverage_95"] - 0.95) <= 0.05, iv
    assert len(iv["quantiles_95"]) == HORIZON
    assert all(a < b for a, b in zip(iv["quantiles"], iv["quantiles_95"], strict=True))
    assert set(iv["test_coverage_by_horizon"]) == {"1", "5", "21", "63"}


def test_conformal_quantile_on_known_scores():
    m = 9
    t = np.zeros((m, HORIZON, 5), np.float32)
    t[:, :, 3] = np.arange(1, m + 1)[:, None]  # absolute errors 1..9 against a zero prediction
    w = Windows(
        inputs=np.zeros((m, 60, 7), np.float32),
        targets=t,
        ends=np.arange(m),
        close=np.ones(m),
        volume_ref=np.zeros(m),
        drift=np.zeros(m),
    )
    q = intervals.calibrate(w, np.zeros_like(t))
    assert (q == 8).all()  # ceil((9 + 1) * 0.8) / 9 -> the 8th smallest of 9 scores
    cov = intervals.coverage(w, np.zeros_like(t), q)
    assert cov["overall"] == 8 / 9
