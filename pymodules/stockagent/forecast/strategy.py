"""A long/flat strategy from a forecast's direction, against buy-and-hold, with transaction costs.

Each day t the position for the next day is decided at t's close: long (1) when the one-day forecast
of the close's log return is above 0, else flat (0). The day's strategy return is
``position_t * (close_{t+1} / close_t - 1) - cost * |position_t - position_{t-1}|`` with
``cost = cost_bps / 1e4`` and no position before the first day. Buy-and-hold is long every day and
pays one entry cost on the first day. Equity starts at 1 on the first decision day.

Statistics (:func:`stats`), on the daily returns r: total return ``prod(1 + r) - 1``; annualised
volatility ``std(r) * sqrt(252)``; Sharpe ``mean(r) / std(r) * sqrt(252)`` with a zero risk-free
rate; maximum drawdown, the largest fall from a running equity peak as a positive fraction; and
turnover, the sum of ``|position change|`` (the entry included) per year of 252 trading days, next to
``trades``, that sum over the whole period.
"""

from __future__ import annotations

import math

import numpy as np

DAYS_PER_YEAR = 252


def positions(predicted_return: np.ndarray) -> np.ndarray:
    """1 where the forecast return is above 0, else 0."""
    return (np.asarray(predicted_return) > 0).astype(np.float64)


def daily_returns(position: np.ndarray, asset_return: np.ndarray, cost_bps: float) -> np.ndarray:
    """Net returns of holding ``position[t]`` over day t (whose simple return is ``asset_return[t]``)."""
    position = np.asarray(position, dtype=np.float64)
    traded = np.abs(np.diff(position, prepend=0.0))
    return position * np.asarray(asset_return, dtype=np.float64) - cost_bps / 1e4 * traded


def equity(returns: np.ndarray) -> np.ndarray:
    """Equity ``(n + 1,)``: 1 before the first day, then after each day."""
    return np.concatenate([[1.0], np.cumprod(1.0 + np.asarray(returns, dtype=np.float64))])


def max_drawdown(curve: np.ndarray) -> float:
    peak = np.maximum.accumulate(curve)
    return float(np.max(1.0 - curve / peak))


def stats(returns: np.ndarray, position: np.ndarray) -> dict:
    """The module doc's statistics of daily ``returns`` earned holding ``position``."""
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    curve = equity(r)
    sd = float(np.std(r, ddof=1)) if n > 1 else float("nan")
    trades = float(np.sum(np.abs(np.diff(np.asarray(position, dtype=np.float64), prepend=0.0))))
    return {
        "total_return": float(curve[-1] - 1.0),
        "annualised_volatility": sd * math.sqrt(DAYS_PER_YEAR),
        "sharpe": float(np.mean(r)) / sd * math.sqrt(DAYS_PER_YEAR) if sd > 0 else float("nan"),
        "max_drawdown": max_drawdown(curve),
        "turnover_per_year": trades / n * DAYS_PER_YEAR if n else float("nan"),
        "trades": trades,
        "days": n,
        "long_share": float(np.mean(position)) if n else float("nan"),
    }


def compare(predicted_return: np.ndarray, asset_return: np.ndarray, cost_bps: float) -> dict:
    """The strategy and buy-and-hold over the same days: their statistics and equity curves."""
    pos = positions(predicted_return)
    hold = np.ones_like(pos)
    r_strategy = daily_returns(pos, asset_return, cost_bps)
    r_hold = daily_returns(hold, asset_return, cost_bps)
    return {
        "strategy": stats(r_strategy, pos),
        "buy_and_hold": stats(r_hold, hold),
        "equity_strategy": equity(r_strategy),
        "equity_buy_and_hold": equity(r_hold),
    }
