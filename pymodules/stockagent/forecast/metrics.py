"""Forecast accuracy metrics: plain functions of (actual, predicted[, last]) arrays of the same shape.

Each returns a float; NaN means "undefined here" (callers turn it into JSON null).
"""

from __future__ import annotations

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
