"""Baseline forecasters, and the interface every forecaster (the LSTM too) implements.

A forecaster has an ``alias`` (its column in evaluation tables) and ``predict(windows)`` returning
an ``(m, 63, 5)`` array in the target space of dataset.py: for each horizon, log-ratios of open,
high, low and close to the cut-off day's close, and log volume minus the window's mean log volume.
Baselines need no fitting: what they use (the last values, the drift) travels with each window.

References: Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.), section 5.2
"Some simple forecasting methods" (naive, drift); Nixtla statsforecast's ``Naive`` and
``RandomWalkWithDrift``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .dataset import HORIZON, TARGETS, Windows


class Forecaster(Protocol):
    alias: str

    def predict(self, windows: Windows) -> np.ndarray:
        """``(len(windows), 63, 5)`` predictions in target space."""
        ...


def _last_volume(windows: Windows) -> np.ndarray:
    return windows.inputs[:, -1, 4].astype(np.float64)  # log volume_t minus the volume reference


class Naive:
    """Last value carried forward: every future open/high/low/close is today's close
    (``y_{t+h} = y_t``, a log-ratio of 0), and every future volume is today's volume."""

    alias = "naive"

    def predict(self, windows: Windows) -> np.ndarray:
        out = np.zeros((len(windows), HORIZON, len(TARGETS)))
        out[..., 4] = _last_volume(windows)[:, None]
        return out


def random_walk_with_drift(drift: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``log y_{t+h} - log y_t = h * drift``: a random walk on log prices whose drift is the mean
    daily log return since the series began (FPP3 eq. 5.2, on log prices)."""
    return drift[:, None] * h[None, :]


class Drift:
    """Random walk with drift on the log close; open/high/low follow the close, volume is naive."""

    alias = "drift"

    def predict(self, windows: Windows) -> np.ndarray:
        out = np.zeros((len(windows), HORIZON, len(TARGETS)))
        out[..., 0:4] = random_walk_with_drift(windows.drift, np.arange(1, HORIZON + 1))[..., None]
        out[..., 4] = _last_volume(windows)[:, None]
        return out
