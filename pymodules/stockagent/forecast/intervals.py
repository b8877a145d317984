"""Prediction bands for the close: 80% and 95%, conformal on volatility-normalised errors, with
adaptive conformal inference (ACI).

Score of a forecast made at cut-off t for horizon h: ``|log(close_{t+h} / close_t) - predicted| /
(sigma_t * sqrt(h))``, with sigma_t the std of the 59 daily close log returns inside its 60-day
window (:data:`SCALE`, known at t). The band is ``predicted +- q * sigma_t * sqrt(h)``: wide in stormy
markets, narrow in calm ones. q is the ``ceil((n + 1)(1 - alpha))``-th smallest of the n scores whose
outcomes are known (Lei et al. 2018), and alpha adapts as outcomes arrive, ``alpha <- alpha + gamma *
(nominal alpha - miss)`` (Gibbs & Candès 2021), so a run of misses widens the next bands and a run of
hits narrows them. An outcome h days ahead is known only h days later; :func:`adaptive` never uses it
sooner. gamma is :data:`ACI_GAMMA` / sqrt(h): with h forecasts in flight before the first of them is
scored, the full step overshoots at long horizons.

- Walk-forward (backtest.py): :func:`adaptive` over every origin of the backtest.
- Served bands (train.py, predict.py): :func:`served` walks the same procedure over a model's
  validation then test windows; the quantiles it ends with are saved (``quantiles``, 80%;
  ``quantiles_95``) and applied to the latest window's volatility. The test coverage saved with the
  model is that of the bands each test window got online. Versions saved before this (no ``scale``
  in their interval) serve their fixed 80% band as before.

Measured (docs/backtests.md): walk-forward 2015-2024 on the ten bundled tickers, naive, drift and
LSTM forecasters, every ticker x horizon (1, 5, 21) x level within 1.8 points of nominal; for drift,
the same scores without adaptation (gamma 0) missed by up to 3.5 points at h = 21, and a gamma of
0.005 at every horizon held coverage but doubled the 95% width at h = 21 (ACI's alpha dipped below 0
and took the largest score). Served, on a 1-epoch parent's test slice (^GSPC from 2004, 706
windows): 80% coverage 0.746 overall, 0.79 / 0.76 / 0.75 / 0.75 at h = 1 / 5 / 21 / 63, against the
old plain band's 0.773 (0.77 / 0.75 / 0.74 / 0.86); from 1990 (1,260 windows) 0.795, every horizon
within 0.01 of 0.8.

History: the first served band was plain split conformal on unscaled validation errors, one
width per horizon. Volatility scaling without ACI was tried then on eight held-out slices
(1-epoch parents from 1990 and 2004, children AAPL, JPM, MSFT, SPY): the mean distance from 80% went
from 0.075 to about 0.06, but the shipped parent went from 0.78 to 0.63-0.71, so it was not adopted.
ACI is what fixes that: it corrects a slice whose scores drift from its calibration period.

Guarantees: ACI bounds the long-run miss rate for any sequence (Gibbs & Candès, Prop. 4.1), not
coverage over a short slice; the measured coverage is what we show.

References: Lei et al., "Distribution-Free Predictive Inference for Regression", JASA 113, 2018;
Gibbs & Candès, "Adaptive Conformal Inference Under Distribution Shift", NeurIPS 2021;
Angelopoulos & Bates, "A Gentle Introduction to Conformal Prediction", 2021.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from .dataset import HORIZON, TARGETS, Windows

COVERAGE = 0.8  # the band served in close_low/close_high
LEVELS = (0.8, 0.95)
CLOSE = TARGETS.index("close")
ACI_GAMMA = 0.005  # Gibbs & Candès' step size; at horizon h it is divided by sqrt(h) (see the module doc)
SCALE = "std of the window's daily close log returns x sqrt(h)"


def bounds(predicted: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper close log returns (m, 63) of the intervals around ``predicted`` (m, 63, 5);
    ``half``: half-widths (63,) or (m, 63)."""
    center = predicted[..., CLOSE]
    return center - half, center + half


def coverage(windows: Windows, predicted: np.ndarray, half: np.ndarray) -> dict:
    """Share of actual closes inside their interval: overall and at horizons 1, 5, 21, 63."""
    assert windows.targets is not None, "coverage needs windows with targets"
    lo, hi = bounds(predicted, half)
    y = windows.targets[..., CLOSE]
    inside = (y >= lo) & (y <= hi)  # (m, 63)
    return {
        "overall": float(inside.mean()),
        "by_horizon": {str(h): float(inside[:, h - 1].mean()) for h in (1, 5, 21, 63)},
        "windows": len(y),
    }


def window_volatility(inputs: np.ndarray) -> np.ndarray:
    """Std of the daily close log returns inside each window (59 of them): ``(m, 60, 7)`` -> ``(m,)``.

    The window's inputs hold ``log(close_s / close_t)`` (dataset.py), whose differences are the daily
    log returns; it uses only days up to the cut-off, so it is known when the forecast is made."""
    returns = np.diff(inputs[..., CLOSE].astype(np.float64), axis=1)
    return np.maximum(returns.std(axis=1, ddof=1), 1e-6)


def scale(inputs: np.ndarray, horizons: int = HORIZON) -> np.ndarray:
    """``(m, horizons)``: :data:`SCALE` of each window at h = 1..horizons, the unit of the scores."""
    return window_volatility(inputs)[:, None] * np.sqrt(np.arange(1, horizons + 1))[None, :]


def _rank(known: list[float], alpha: float) -> float:
    """The ``ceil((n + 1)(1 - alpha))``-th smallest of the sorted ``known``, clamped to ranks 1..n."""
    k = math.ceil((len(known) + 1) * (1.0 - alpha) - 1e-9)
    return known[min(max(k, 1), len(known)) - 1]


def adaptive(
    center: np.ndarray, actual: np.ndarray, scale: np.ndarray, delay: int, level: float, gamma: float = ACI_GAMMA
) -> tuple[np.ndarray, np.ndarray, float]:
    """Bands at consecutive origins: their half-widths, the alpha used at each, and the normalised
    quantile a next origin would use once every outcome here is known.

    Origin i's score ``|actual_i - center_i| / scale_i`` becomes known ``delay`` origins later (its
    outcome lies ``delay`` trading days ahead), so origin j calibrates only on scores of origins
    ``i <= j - delay``: the ``ceil((n + 1)(1 - alpha_j))``-th smallest of those n, times ``scale_j``
    (the largest when that rank passes n; NaN while none is known). As each outcome arrives,
    ``alpha <- alpha + gamma * (1 - level - miss_i)`` (Gibbs & Candès 2021), where ``miss_i`` says
    whether origin i's own band missed. ``actual`` may be NaN where the outcome is never seen.
    """
    n = len(center)
    scores = np.abs(actual - center) / scale
    known: list[float] = []
    half = np.full(n, np.nan)
    alphas = np.full(n, np.nan)
    alpha = 1.0 - level
    for j in range(n + delay):
        i = j - delay
        if i >= 0 and math.isfinite(scores[i]):
            if math.isfinite(half[i]):
                miss = float(abs(actual[i] - center[i]) > half[i])
                alpha += gamma * (1.0 - level - miss)
            bisect.insort(known, float(scores[i]))
        if j < n:
            alphas[j] = alpha
            if known:
                half[j] = _rank(known, alpha) * scale[j]
    return half, alphas, _rank(known, alpha) if known else math.nan


def served(
    val: Windows, val_pred: np.ndarray, test: Windows, test_pred: np.ndarray, level: float
) -> tuple[np.ndarray, dict]:
    """Served band of a trained model at ``level``: :func:`adaptive` walked over its validation then
    test windows (in time order) at every horizon. Returns the normalised quantiles (63,) to serve
    (half-width ``q_h * scale``) and the :func:`coverage` of the bands each test window got online,
    from earlier outcomes only."""
    assert val.targets is not None and test.targets is not None, "calibration needs windows with targets"
    y = np.concatenate([val.targets, test.targets])[..., CLOSE].astype(np.float64)
    c = np.concatenate([val_pred, test_pred])[..., CLOSE]
    sc = scale(np.concatenate([val.inputs, test.inputs]), y.shape[1])
    q, half = np.empty(y.shape[1]), np.empty(y.shape)
    for k in range(y.shape[1]):
        h = k + 1
        half[:, k], _, q[k] = adaptive(c[:, k], y[:, k], sc[:, k], h, level, ACI_GAMMA / math.sqrt(h))
    return q, coverage(test, test_pred, half[len(val) :])
