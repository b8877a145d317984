"""Data drift of a model: its training window's features against the most recent trading days.

**Reference** = the rows the serving version was trained on: from its ``meta.json``
``data.first_date`` (the first usable day, after the features' warm-up) through
``data.train.last_target`` (the last day any training window reads, as input or target).
**Current** = the last ``window_days`` rows of the symbol's prices now (``DRIFT_WINDOW_DAYS``, 60).

**Features, as the model sees them** (``space="model"``, the default). The LSTM never sees price
levels: dataset.py makes every window scale-free relative to its cut-off day. Levels of a stock
that doubled since training would always look like drift while the model's inputs had not moved,
so each feature here is the value the model's input holds for the *last* day of a window ending on
that day (a fixed affine standardisation follows in the model, which changes none of the numbers
below):

| column | value on day s |
|---|---|
| Open, High, Low | ``log(price_s / close_s)`` |
| Close | ``log(close_s / close_{s-1})``: the cut-off day's own close input is always 0, so the daily step of the close channel stands in |
| Volume | ``log(volume_s)`` minus the mean log volume of the 60 days up to s (the window's volume reference) |
| RSI14 | ``RSI14_s / 100`` |
| MACD | ``MACD_s / close_s`` |

``space="raw"`` compares the levels of market/features.py instead (what the old service did).

**Numbers** per feature (stats.py): ``ref_mean``, ``curr_mean``, ``ref_std``, ``curr_std``,
``shift_score = |curr_mean - ref_mean| / ref_std``, ``psi`` (10 reference quantile bins) and the
two-sample KS ``ks_stat`` and ``ks_pvalue``. ``drift_score`` = mean shift_score over the seven
features; ``volatility_index`` = sample std of the current daily log close returns / that of the
reference ones (docs/api.md's volatility ratio; it is the same in both spaces). :func:`health` applies
the old thresholds; the Go server may apply its own policy to the raw numbers instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import numpy as np

from .. import errors, runtime, tickers
from ..forecast.dataset import CONTEXT
from ..forecast.registry import Registry
from ..market import features
from ..market import prices as market_prices
from ..settings import MIN_DRIFT_WINDOW_DAYS as MIN_WINDOW_DAYS
from ..settings import Settings
from . import stats, store

log = logging.getLogger(__name__)

COLUMNS = features.COLUMNS  # Open, High, Low, Close, Volume, RSI14, MACD
SPACES = ("model", "raw")
MODEL_VIEW = {
    "Open": "log(open/close), same day",
    "High": "log(high/close), same day",
    "Low": "log(low/close), same day",
    "Close": "log(close/previous close)",
    "Volume": f"log(volume) - mean log volume of the last {CONTEXT} days",
    "RSI14": "RSI14/100",
    "MACD": "MACD/close",
}
KIND = "drift"

# Old thresholds (docs/api.md "Monitoring"): Critical first, then Degraded, else Healthy.
HEALTHY, DEGRADED, CRITICAL = "Healthy", "Degraded (Warning)", "Critical (Drift Detected)"
CRITICAL_SCORE, CRITICAL_RATIO_HIGH, CRITICAL_RATIO_LOW = 2.0, 2.5, 0.4
DEGRADED_SCORE, DEGRADED_RATIO_HIGH, DEGRADED_RATIO_LOW = 1.0, 1.5, 0.6
MIN_REFERENCE_ROWS = 250  # about a year; a training window is always longer (dataset.min_rows)


def health(score: float, ratio: float) -> str:
    """The old health string of a drift score and a volatility ratio (strict inequalities)."""
    if score > CRITICAL_SCORE or ratio > CRITICAL_RATIO_HIGH or ratio < CRITICAL_RATIO_LOW:
        return CRITICAL
    if score > DEGRADED_SCORE or ratio > DEGRADED_RATIO_HIGH or ratio < DEGRADED_RATIO_LOW:
        return DEGRADED
    return HEALTHY


def model_view(feats: np.ndarray) -> np.ndarray:
    """``(n, 7)`` levels of :func:`features.compute` -> ``(n, 7)`` model-view features (module doc).

    Rows without a full volume reference (the first 59) or a previous close (the first) are NaN.
    """
    feats = np.asarray(feats, dtype=np.float64)
    assert feats.ndim == 2 and feats.shape[1] == len(COLUMNS), (
        f"expected (n, {len(COLUMNS)}) features, got {feats.shape}"
    )
    n = len(feats)
    log_close = np.log(feats[:, 3])
    out = np.full(feats.shape, np.nan)
    out[:, 0:3] = np.log(feats[:, 0:3]) - log_close[:, None]
    out[1:, 3] = np.diff(log_close)
    log_vol = np.log(feats[:, 4])
    if n >= CONTEXT:
        csum = np.concatenate([[0.0], np.cumsum(log_vol)])
        trailing_mean = (csum[CONTEXT:] - csum[:-CONTEXT]) / CONTEXT  # (n - 59,) mean of rows s-59..s
        out[CONTEXT - 1 :, 4] = log_vol[CONTEXT - 1 :] - trailing_mean
    out[:, 5] = feats[:, 5] / 100.0
    out[:, 6] = feats[:, 6] / feats[:, 3]
    return out


def _num(x: float) -> float:
    """A float rounded to 6 significant digits (reports stay short and readable)."""
    return float(f"{float(x):.6g}")


def compare(
    reference: np.ndarray,
    current: np.ndarray,
    ref_returns: np.ndarray,
    cur_returns: np.ndarray,
    columns: tuple[str, ...] = COLUMNS,
) -> dict[str, Any]:
    """The drift numbers of two feature samples: ``(n, k)`` and ``(m, k)`` arrays, finite, columns named.

    ``ref_returns`` / ``cur_returns`` are the daily close returns of the same rows. Returns
    ``{health, drift_score, volatility_index, feature_metrics, max_psi, max_ks_stat}``.
    """
    reference, current = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    assert reference.ndim == current.ndim == 2 and reference.shape[1] == current.shape[1] == len(columns), (
        f"expected (n, {len(columns)}) samples, got {reference.shape} and {current.shape}"
    )
    metrics, shifts = {}, []
    for j, col in enumerate(columns):
        r, c = reference[:, j], current[:, j]
        shifts.append(stats.mean_shift(r, c))
        ks_stat, ks_p = stats.ks_2samp(r, c)
        metrics[col] = {
            "ref_mean": _num(r.mean()),
            "curr_mean": _num(c.mean()),
            "ref_std": _num(stats.sample_std(r)),
            "curr_std": _num(stats.sample_std(c)),
            "shift_score": _num(shifts[-1]),
            "psi": _num(stats.psi(r, c)),
            "ks_stat": _num(ks_stat),
            "ks_pvalue": _num(ks_p),
        }
    score = float(np.mean(shifts))
    ref_vol = stats.sample_std(ref_returns)
    ratio = stats.sample_std(cur_returns) / ref_vol if ref_vol > 0 else 1.0
    return {
        "health": health(score, ratio),
        "drift_score": _num(score),
        "volatility_index": _num(ratio),
        "feature_metrics": metrics,
        "max_psi": max(m["psi"] for m in metrics.values()),
        "max_ks_stat": max(m["ks_stat"] for m in metrics.values()),
    }


def reference_window(meta: dict) -> tuple[str, str]:
    """``(first day, last day)`` of the training rows of a model version's meta.json."""
    data = meta.get("data") or {}
    try:
        return data["first_date"], data["train"]["last_target"]
    except (KeyError, TypeError):
        raise ValueError(
            f"meta.json of {meta.get('model_id')} {meta.get('version')} names no training window"
        ) from None


def _serving(settings: Settings, ref: str) -> tuple[str, str, dict]:
    """``(model id, serving version, its meta)``; NotFound when the model has no serving version."""
    model_id = tickers.model_id(ref)
    registry = Registry.from_settings(settings)
    version = registry.serving_version(model_id)
    if version is None:
        raise errors.NotFound(f"No trained model for '{ref}'")
    return model_id, version, registry.meta(model_id, version)


def drift_report(settings: Settings, ref: str, *, window_days: int = 60, space: str = "model") -> dict[str, Any]:
    """Compute (without saving) the drift report of the serving model of ``ref`` (``parent`` or a symbol)."""
    if space not in SPACES:
        raise errors.InvalidParameter(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if isinstance(window_days, bool) or not isinstance(window_days, int) or window_days < MIN_WINDOW_DAYS:
        raise errors.InvalidParameter(f"window_days must be an integer >= {MIN_WINDOW_DAYS}, got {window_days!r}")
    model_id, version, meta = _serving(settings, ref)
    symbol = meta["ticker"]  # what the model learnt from (the parent: PARENT_TICKER when it trained)
    first, last = reference_window(meta)
    prices = market_prices.load(symbol, settings)
    runtime.check_cancelled()
    levels = prices.features
    feats = model_view(levels) if space == "model" else levels
    returns = np.full(len(prices), np.nan)
    returns[1:] = np.diff(np.log(levels[:, 3]))

    lo = prices.index_of(dt.date.fromisoformat(first))
    hi = prices.index_of(dt.date.fromisoformat(last) + dt.timedelta(days=1))
    ref_rows = np.arange(lo, hi)
    ref_rows = ref_rows[np.isfinite(feats[ref_rows]).all(axis=1) & np.isfinite(returns[ref_rows])]
    if len(ref_rows) < MIN_REFERENCE_ROWS:
        raise errors.InvalidParameter(
            f"the prices of {symbol} ({prices.first_date} to {prices.last_date}, {prices.source}) hold {len(ref_rows)} "
            f"rows of the model's training window {first} to {last}; drift needs at least {MIN_REFERENCE_ROWS}"
        )
    cur_rows = np.arange(max(len(prices) - window_days, 0), len(prices))
    cur_rows = cur_rows[np.isfinite(feats[cur_rows]).all(axis=1) & np.isfinite(returns[cur_rows])]
    if len(cur_rows) < MIN_WINDOW_DAYS:
        raise errors.InvalidParameter(f"{symbol} has {len(cur_rows)} usable recent rows; drift needs {MIN_WINDOW_DAYS}")

    out = compare(feats[ref_rows], feats[cur_rows], returns[ref_rows], returns[cur_rows])
    days = prices.day_strings
    report = {
        "ticker": ref,
        "symbol": symbol,
        "model": model_id,
        **{k: out[k] for k in ("health", "drift_score", "volatility_index", "feature_metrics")},
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "status": "ok",
        "model_version": version,
        "reference": {"from": days[ref_rows[0]], "to": days[ref_rows[-1]], "rows": len(ref_rows)},
        "current": {"from": days[cur_rows[0]], "to": days[cur_rows[-1]], "rows": len(cur_rows)},
        "max_psi": out["max_psi"],
        "max_ks_stat": out["max_ks_stat"],
        "feature_space": space,
        "features": MODEL_VIEW if space == "model" else dict.fromkeys(COLUMNS, "level"),
        "data_source": prices.source,
        "data_as_of": prices.last_date,
    }
    return report


def run_drift(
    settings: Settings, ref: str, *, window_days: int = 60, keep: int = 500, space: str = "model"
) -> dict[str, Any]:
    """Compute the drift report of ``ref``, store it as the latest and in the history, and return it.

    Raises NotFound (no trained model, or no price data), InvalidParameter (the prices no longer
    cover the training window, or too few recent rows).
    """
    report = drift_report(settings, ref, window_days=window_days, space=space)
    report = store.save(settings, report["model"], KIND, report, keep)
    log.info(
        "drift of %s (%s): %s, score %.3f, volatility ratio %.3f",
        ref,
        report["model_version"],
        report["health"],
        report["drift_score"],
        report["volatility_index"],
    )
    return report


def latest_drift(settings: Settings, ref: str) -> dict[str, Any]:
    """The latest stored drift report of ``ref``; NotFound when the model or the report is missing."""
    model_id = tickers.model_id(ref)
    report = store.latest(settings, model_id, KIND)
    if report is None:
        if Registry.from_settings(settings).serving_version(model_id) is None:
            raise errors.NotFound(f"No trained model for '{ref}'")
        raise errors.NotFound(f"No drift report for '{ref}' yet")
    return report


def drift_history(
    settings: Settings, ref: str, limit: int = 50, before: dt.datetime | None = None, before_seq: int | None = None
) -> list[dict[str, Any]]:
    """Up to ``limit`` stored drift reports of ``ref``, newest first, only those before ``before`` and
    numbered below ``before_seq`` if given (empty when none)."""
    return store.history(settings, tickers.model_id(ref), KIND, limit, before, before_seq=before_seq)
