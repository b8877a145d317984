"""Forecast accuracy metrics: plain functions of (actual, predicted[, last]) arrays of the same shape.

Each returns a float; NaN means "undefined here" (callers turn it into JSON null).
"""

from __future__ import annotations

import math
import statistics

import numpy as np


def mae(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Mean absolute error, in the units of ``y``."""
    return float(np.mean(np.abs(y - y_hat)))


def rmse(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Root mean squared error, in the units of ``y``."""
    return float(np.sqrt(np.mean((y - y_hat) ** 2)))


def mape(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Mean absolute percentage error, in percent (prices are positive, so it is defined)."""
    return float(100.0 * np.mean(np.abs((y - y_hat) / y)))


def directional_accuracy(y: np.ndarray, y_hat: np.ndarray, last: np.ndarray) -> float:
    """Share of forecasts whose move from ``last`` has the sign of the actual move.

    Undefined (NaN) for a forecaster that never predicts a move, such as the naive one: "no change"
    is not a direction. A predicted move of exactly zero counts as a miss otherwise.
    """
    predicted = np.sign(y_hat - last)
    if not predicted.any():
        return float("nan")
    return float(np.mean(predicted == np.sign(y - last)))


METRICS = {"mae": mae, "rmse": rmse, "mape": mape}


# --- walk-forward scores (backtest.py) ---------------------------------------------------------


def mase(y: np.ndarray, y_hat: np.ndarray, last: np.ndarray) -> float:
    """Mean absolute scaled error against persistence: MAE of ``y_hat`` over the MAE of the naive
    forecast ``last`` on the same origins and horizon (not the in-sample one-step naive MAE of
    Hyndman & Koehler 2006). Below 1: better than persistence. NaN when persistence is exact."""
    scale = float(np.mean(np.abs(y - last)))
    return float("nan") if scale == 0 else mae(y, y_hat) / scale


def directional_ci(
    y: np.ndarray, y_hat: np.ndarray, last: np.ndarray, confidence: float = 0.95
) -> tuple[int, int, list]:
    """``(hits, n, [lo, hi])``: hits of :func:`directional_accuracy` and the Wilson score interval
    of the hit rate at ``confidence`` (``[None, None]`` when undefined, as for persistence)."""
    predicted = np.sign(y_hat - last)
    n = len(y)
    if n == 0 or not predicted.any():
        return 0, n, [None, None]
    hits = int(np.sum(predicted == np.sign(y - last)))
    return hits, n, list(wilson(hits, n, confidence))


def wilson(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (Wilson 1927; Brown, Cai & DasGupta 2001)."""
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    p, z2n = hits / n, z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of ``y`` inside ``[lo, hi]`` (bounds included)."""
    return float(np.mean((y >= lo) & (y <= hi)))


def winkler(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, alpha: float) -> float:
    """Mean interval (Winkler) score of central ``1 - alpha`` intervals: the width, plus
    ``(2 / alpha)`` times the distance by which ``y`` falls outside (Gneiting & Raftery 2007, eq. 43).
    Lower is better; in the units of ``y``."""
    width = hi - lo
    below = np.where(y < lo, lo - y, 0.0)
    above = np.where(y > hi, y - hi, 0.0)
    return float(np.mean(width + (2.0 / alpha) * (below + above)))
