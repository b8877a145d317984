"""Statistical baselines beside the LSTM: AutoETS, AutoTheta and AutoARIMA from statsforecast.

:func:`log_returns` is the one entry: given a series of log closes and the row indexes of forecast
origins, it fits each model on the closes up to an origin (never after it) and returns the
predicted log returns ``log(close_{t+h} / close_t)`` for h = 1..``horizon``. Plain numpy in and
out, so the held-out evaluation (train.py) and a walk-forward backtest can both call it.

Cost, measured on 2 cores shared with other work, 1,000-point series: a fit and forecast takes
about 0.05 s (ETS), 0.06 s (Theta) and 0.1 s (ARIMA); ``forward`` (the fitted parameters applied
to a longer series, no new search) 0.1-8 ms. A fit per origin would cost 40 s per 200 windows, so a
model is fitted afresh at every ``refit_every``-th origin and forwarded to the origins in between,
on a trailing ``context`` of closes. 201 origins took 0.6 s (ETS), 1.1 s (Theta) and 1.8 s (ARIMA)
with a fit every 63 origins, against 1.6, 2.8 and 3.3 s with one every 21; the index's test split
(about 700 windows) costs some 12 s, plus 2-6 s to import statsforecast. Every origin still sees
only its own past: the fitted parameters come from an earlier (or the same) origin's past, and the
series forwarded ends at the origin.

statsforecast is imported only when :func:`log_returns` runs (2-6 s): never at the server's start-up.

:func:`log_returns_apart` runs the same in a Python process of its own. statsforecast's compiled
fits hold the GIL while they run, so inside the server a training's baselines stalled every
forecast waiting for it: the uncached forecast's p99 rose to 3-6x its idle value during a parent
training (`make bench`, workload `training`), against 1.2x with the baselines off. The process
costs a start and the imports (numpy, statsforecast) once per training.

References: Hyndman & Athanasopoulos, *Forecasting: Principles and Practice* (3rd ed.), chapters 8
(ETS) and 9 (ARIMA); Assimakopoulos & Nikolopoulos, "The theta model", IJF 16, 2000.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

CONTEXT = 1000  # trailing closes each model fits on: four years of trading days
REFIT_EVERY = 63  # origins between fresh fits: a quarter of daily origins
ALIASES = ("ets", "theta", "arima")


def _models() -> dict[str, Callable[[], object]]:
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    # No seasonality in daily closes; ETS without a seasonal part ("ZZN").
    return {
        "ets": lambda: AutoETS(model="ZZN", season_length=1),
        "theta": lambda: AutoTheta(season_length=1),
        "arima": lambda: AutoARIMA(season_length=1),
    }


def log_returns(
    log_close: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    *,
    aliases: tuple[str, ...] = ALIASES,
    context: int = CONTEXT,
    refit_every: int = REFIT_EVERY,
) -> dict[str, np.ndarray]:
    """``{alias: (m, horizon)}`` predicted log returns from each origin row of ``log_close``.

    ``origins`` must be increasing; the forecast at origin t reads ``log_close[t - context + 1 : t + 1]``.
    """
    origins = np.asarray(origins, dtype=np.int64)
    assert origins.ndim == 1 and (np.diff(origins) > 0).all(), "origins must be increasing"
    assert not len(origins) or 0 <= origins[0] <= origins[-1] < len(log_close), "origins outside the series"
    out = {}
    for alias in aliases:
        pred = np.empty((len(origins), horizon))
        model = None
        for k, t in enumerate(origins):
            y = tail(log_close[: t + 1], context)
            if k % refit_every == 0:
                model, pred[k] = fit(alias, y, horizon)
            else:
                pred[k] = forward(model, y, horizon)
        out[alias] = pred
    return out


def log_returns_apart(log_close: np.ndarray, origins: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """:func:`log_returns` in a process of its own (see the module doc). The process is started
    afresh ("spawn": the server's process has threads a fork would copy in mid-step), from the
    calling thread, so it inherits that thread's scheduling priority (a training's lower one)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(log_returns, np.asarray(log_close), np.asarray(origins), horizon).result()


def tail(log_close: np.ndarray, context: int = CONTEXT) -> np.ndarray:
    """The trailing ``context`` log closes a model fits on or is carried forward over."""
    return np.asarray(log_close[-context:], dtype=np.float64)


def fit(alias: str, y: np.ndarray, horizon: int) -> tuple[object, np.ndarray]:
    """``(model, returns)``: ``alias`` fitted on the log closes ``y`` and its predicted log returns
    for h = 1..``horizon`` from the last of them."""
    model = _models()[alias]()
    model.fit(y)  # type: ignore[attr-defined]
    mean = model.predict(horizon)["mean"]  # type: ignore[attr-defined]
    return model, np.asarray(mean, dtype=np.float64) - y[-1]


def forward(model: object, y: np.ndarray, horizon: int) -> np.ndarray:
    """A fitted model's predicted log returns from the last of ``y``, its parameters unchanged."""
    mean = model.forward(y, h=horizon)["mean"]  # type: ignore[attr-defined]
    return np.asarray(mean, dtype=np.float64) - y[-1]
