"""80% prediction intervals for the close, by split conformal prediction, one width per horizon.

Score of a validation window at horizon h: the absolute error of the predicted close log return,
``|log(close_{t+h} / close_t) - predicted|``. The interval at horizon h is ``predicted +- q_h``,
with q_h the ``ceil((n + 1) * 0.8)``-th smallest of the n validation scores at h; in
prices, ``close_t * exp(predicted +- q_h)``. Coverage is then measured on the test windows, which
calibration never saw, and saved with the model.

Split conformal guarantees coverage only for exchangeable data; overlapping windows of one market
are not, and volatility comes in regimes, so the measured test coverage is what we show, not the
guarantee.

We also tried scores divided by trailing volatility (the std of daily log returns over 60 or 250
days, or an EWMA, times sqrt(h); Lei et al. section 5.2), which widens intervals in stormy markets
and narrows them in calm ones. On eight held-out slices of the bundled data (1-epoch parents from
1990 and 2004, children AAPL, JPM, MSFT, SPY) it moved coverage toward 80% on some and away on
others: the mean distance from 80% went from 0.075 to about 0.06, but the default parent (the one
that ships) went from 0.78 to 0.63-0.71, while a parent trained from 1990 went from 0.61 to
0.76-0.81. Not a clear enough win for the extra moving part: plain scores it is.

References: Lei et al., "Distribution-Free Predictive Inference for Regression", JASA 113, 2018;
Angelopoulos & Bates, "A Gentle Introduction to Conformal Prediction", 2021.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from .dataset import HORIZON, TARGETS, Windows

COVERAGE = 0.8
LEVELS = (0.8, 0.95)
CLOSE = TARGETS.index("close")
ACI_GAMMA = 0.005  # Gibbs & Candès' step size; at horizon h it is divided by sqrt(h) (see the module doc)
SCALE = "std of the window's daily close log returns x sqrt(h)"


def calibrate(windows: Windows, predicted: np.ndarray, coverage: float = COVERAGE) -> np.ndarray:
    """Per-horizon half-widths ``q`` (63,) in log-return units, from validation windows and predictions:
    the plain split-conformal quantile of absolute errors (no volatility scaling, no adaptation)."""
    assert windows.targets is not None, "calibration needs windows with targets"
    scores = np.abs(windows.targets[..., CLOSE] - predicted[..., CLOSE])  # (m, 63)
    n = len(scores)
    assert n >= 1, "no validation windows to calibrate on"
    k = min(n, math.ceil((n + 1) * coverage - 1e-9))  # the k-th smallest score; (1e-9: 10 * 0.8 is 8, not 8.000...1)
    return np.sort(scores, axis=0)[k - 1]


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


def served(held_out: Windows, predicted: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Served bands of a trained model: :func:`adaptive` walked over its held-out windows in time
    order (validation, then test) at every horizon. Returns the normalised quantiles (63,) to serve
    (half-width ``q_h * scale``) and the half-widths (m, 63) each window got online, from earlier
    outcomes only, which measure the test coverage."""
    assert held_out.targets is not None, "calibration needs windows with targets"
    y, c = held_out.targets[..., CLOSE].astype(np.float64), predicted[..., CLOSE]
    sc = scale(held_out.inputs, y.shape[1])
    q, half = np.empty(y.shape[1]), np.empty(y.shape)
    for k in range(y.shape[1]):
        h = k + 1
        half[:, k], _, q[k] = adaptive(c[:, k], y[:, k], sc[:, k], h, level, ACI_GAMMA / math.sqrt(h))
    return q, half
