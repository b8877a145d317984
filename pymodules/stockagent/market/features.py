"""Per-day features, computed by ONE function (:func:`compute`) for training and inference alike.

Columns, in order (:data:`COLUMNS`): Open, High, Low, Close, Volume, RSI14, MACD.

- RSI14 is Wilder's: the first average gain/loss is the simple mean of the first 14 changes, then
  ``avg = (avg_prev * 13 + today) / 14`` (Wilder, *New Concepts in Technical Trading Systems*, 1978).
  ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)``; 100 when there were no losses, 50 when the price
  did not move at all. Undefined (NaN) for the first 14 rows.
- MACD is ``EMA12(close) - EMA26(close)``, where the EMAs follow pandas' ``ewm(span=n, adjust=False)``:
  ``alpha = 2 / (n + 1)``, ``ema_0 = close_0``, ``ema_t = alpha * close_t + (1 - alpha) * ema_{t-1}``.
  Seeding with the first close biases the early values, so the first :data:`WARMUP` rows of a series
  are not used as model inputs (the seed's weight after 50 rows is (25/27)^50, about 2%).
- A zero volume on a trading day is a data error (the index file has one, 2023-05-24, see
  ``bundled/SOURCES.md``); it is replaced by the previous day's volume so log volumes stay finite.

These are raw levels; :mod:`stockagent.forecast.dataset` turns windows of them into scale-free
model inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ("Open", "High", "Low", "Close", "Volume", "RSI14", "MACD")
RSI_PERIOD = 14
MACD_FAST, MACD_SLOW = 12, 26
WARMUP = 50  # rows dropped at the start of a series before features are trusted (see above)


def ema(x: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average, pandas ``ewm(span=span, adjust=False)`` convention."""
    return pd.Series(x, dtype="float64").ewm(span=span, adjust=False).mean().to_numpy()


def macd(close: np.ndarray) -> np.ndarray:
    """MACD line: EMA12 - EMA26 of the close (no signal line)."""
    return ema(close, MACD_FAST) - ema(close, MACD_SLOW)


def rsi(close: np.ndarray, period: int = RSI_PERIOD) -> np.ndarray:
    """Wilder's RSI; the first ``period`` values are NaN."""
    close = np.asarray(close, dtype="float64")
    out = np.full(close.shape, np.nan)
    if len(close) <= period:
        return out
    change = np.diff(close)
    gain, loss = np.maximum(change, 0.0), np.maximum(-change, 0.0)
    avg_gain, avg_loss = gain[:period].mean(), loss[:period].mean()
    out[period] = _rsi(avg_gain, avg_loss)
    for i in range(period, len(change)):  # Wilder's smoothing is a recursion; ~15k rows take ~10 ms
        avg_gain = (avg_gain * (period - 1) + gain[i]) / period
        avg_loss = (avg_loss * (period - 1) + loss[i]) / period
        out[i + 1] = _rsi(avg_gain, avg_loss)
    return out


def _rsi(avg_gain: float, avg_loss: float) -> float:
    if avg_loss == 0.0:
        return 100.0 if avg_gain > 0.0 else 50.0
    return 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)


def compute(ohlcv: np.ndarray) -> np.ndarray:
    """Features of a price history: ``(n, 5)`` Open/High/Low/Close/Volume -> ``(n, 7)`` :data:`COLUMNS`."""
    ohlcv = np.asarray(ohlcv, dtype="float64")
    assert ohlcv.ndim == 2 and ohlcv.shape[1] == 5, f"expected (n, 5) OHLCV, got {ohlcv.shape}"
    volume = ohlcv[:, 4].copy()
    zero = volume <= 0
    if zero.any():  # carry the previous day's volume over a zero (see the module doc)
        idx = np.where(zero, 0, np.arange(len(volume)))
        np.maximum.accumulate(idx, out=idx)
        volume = volume[idx]
        volume[volume <= 0] = 1.0  # a series that starts with zero volume: 1 share, log = 0
    close = ohlcv[:, 3]
    return np.column_stack([ohlcv[:, :4], volume, rsi(close), macd(close)])
