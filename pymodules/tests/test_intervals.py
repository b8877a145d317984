"""The served bands: saved with the model, their held-out coverage near 80% and 95%, and their parts."""

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


def test_coverage_on_known_errors():
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
    cov = intervals.coverage(w, np.zeros_like(t), np.full(HORIZON, 8.0))
    assert cov["overall"] == 8 / 9 and cov["by_horizon"]["21"] == 8 / 9 and cov["windows"] == m
    half = np.tile(np.arange(1, m + 1)[:, None] - 0.5, (1, HORIZON))  # each window's band just misses
    assert intervals.coverage(w, np.zeros_like(t), half)["overall"] == 0.0


def test_window_volatility_is_the_std_of_daily_returns():
    x = np.zeros((1, 60, 7), np.float32)
    x[0, :, 3] = np.cumsum(np.tile([0.01, -0.01], 30))  # daily log returns alternate +-1%
    returns = np.diff(x[0, :, 3].astype(np.float64))
    assert intervals.window_volatility(x)[0] == np.float64(returns.std(ddof=1))
    assert intervals.scale(x)[0, 3] == intervals.window_volatility(x)[0] * 2  # h = 4: times sqrt(4)
