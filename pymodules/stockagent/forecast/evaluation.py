"""Held-out evaluation: every forecaster on the same test windows, scored on the close price.

:func:`evaluate` returns one row per (ticker, horizon, metric) with one column per forecaster
(``lstm``, ``naive``, ``drift``, the statistical ``ets``, ``theta``, ``arima`` when scored, and
``served``: the forecast the version serves, train.py's choice), the long-table shape of Nixtla's
``evaluate``; walk-forward cut-offs can add a ``cutoff`` column later without changing the readers.
"""

from __future__ import annotations

import math

import numpy as np

from . import metrics
from .dataset import Windows

HORIZONS = (1, 5, 21, 63)
CLOSE = 3  # index of the close in the target space (dataset.TARGETS)


def close_prices(windows: Windows, predicted: np.ndarray) -> np.ndarray:
    """Close prices (m, 63) implied by target-space predictions."""
    return windows.close[:, None] * np.exp(predicted[..., CLOSE])


def _clean(x: float) -> float | None:
    return None if not math.isfinite(x) else round(x, 6)


def evaluate(ticker: str, windows: Windows, predictions: dict[str, np.ndarray]) -> list[dict]:
    """Rows ``{ticker, horizon, metric, <alias>: value, ...}`` for MAE, RMSE, MAPE and directional accuracy."""
    assert windows.targets is not None, "evaluation needs windows with targets"
    actual = close_prices(windows, windows.targets)
    last = windows.close
    rows = []
    for h in HORIZONS:
        y = actual[:, h - 1]
        per_model = {alias: close_prices(windows, p)[:, h - 1] for alias, p in predictions.items()}
        for name, fn in metrics.METRICS.items():
            rows.append(
                {"ticker": ticker, "horizon": h, "metric": name}
                | {a: _clean(fn(y, y_hat)) for a, y_hat in per_model.items()}
            )
        rows.append(
            {"ticker": ticker, "horizon": h, "metric": "directional_accuracy"}
            | {a: _clean(metrics.directional_accuracy(y, y_hat, last)) for a, y_hat in per_model.items()}
        )
    return rows


def summary(rows: list[dict], metric: str = "mae") -> dict:
    """``{alias: {horizon: value}}`` of one metric, e.g. for the prediction's ``evaluation`` field."""
    out: dict[str, dict[str, float | None]] = {}
    for row in rows:
        if row["metric"] != metric:
            continue
        for alias, value in row.items():
            if alias not in ("ticker", "horizon", "metric"):
                out.setdefault(alias, {})[str(row["horizon"])] = value
    return out


def skill(rows: list[dict], alias: str = "lstm") -> float | None:
    """Mean over the evaluated horizons of ``alias``'s MAE / naive MAE (below 1: it beats naive)."""
    ratios = [r[alias] / r["naive"] for r in rows if r["metric"] == "mae" and r.get(alias) and r.get("naive")]
    return round(float(np.mean(ratios)), 6) if ratios else None


def skill_interval(
    windows: Windows,
    predicted: np.ndarray,
    naive: np.ndarray,
    *,
    level: float = 0.95,
    resamples: int = 500,
    block: int = 63,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A ``level`` interval of :func:`skill` (``predicted`` against ``naive``) by a moving-block
    bootstrap over the windows: consecutive windows share most of their target days, so they are
    resampled in runs of ``block`` (the horizon), never one by one. None with fewer than two blocks.
    """
    assert windows.targets is not None, "the interval needs windows with targets"
    m = len(windows)
    if m < 2 * block:
        return None
    actual = close_prices(windows, windows.targets)
    cols = [h - 1 for h in HORIZONS]
    err = np.abs(close_prices(windows, predicted) - actual)[:, cols]  # (m, 4)
    base = np.abs(close_prices(windows, naive) - actual)[:, cols]
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, m - block + 1, size=(resamples, -(-m // block)))
    idx = (starts[..., None] + np.arange(block)).reshape(resamples, -1)[:, :m]  # (resamples, m)
    ratios = (err[idx].mean(axis=1) / base[idx].mean(axis=1)).mean(axis=1)  # (resamples,)
    lo, hi = np.quantile(ratios, [(1 - level) / 2, (1 + level) / 2])
    return round(float(lo), 6), round(float(hi), 6)
