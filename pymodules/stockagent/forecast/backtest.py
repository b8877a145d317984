"""Walk-forward backtest: forecasts from rolling origins, each made from the prices up to that origin only.

Origins are the trading days of ``[start_date, end_date]``; an origin counts at horizon h when its
outcome, the close h trading days later, falls on or before ``end_date``. Before the first scored
origin, up to :data:`BURN_IN` earlier days are forecast too, unscored, so the bands have past errors
to calibrate on from the first scored day.

No look-ahead, by construction: a forecaster is refitted every ``refit_every`` origins on the
feature rows up to and including that origin (``feats[:r + 1]``), and forecasts origin t from
``feats[:t + 1]``; the features themselves (market/features.py) are causal. The test plants a price
shock and checks that no forecast before it moves.

Forecasters (:data:`FACTORIES`, a pluggable name -> factory table) return predicted log returns of
the close at each horizon:

- ``naive``: persistence (0); ``drift``: the mean daily log return since the series' first usable
  row, times h (baselines.py);
- ``lstm``: a parent LSTM trained once on the index (``PARENT_TICKER``) strictly before the first
  origin, burn-in included, so it never saw a day the backtest forecasts; then, every
  ``refit_every`` origins, the frozen-LSTM child's head refitted on the ticker's windows whose
  outcomes are known by that origin. A frozen LSTM is a fixed function of its window, so each
  window is encoded once and the head refit is a least-squares solve on those codes (the same
  squared error train.fit minimises, solved exactly; a small ridge term keeps it stable).
- ``served``: what a trained model serves (shrinkage.py), walked forward: the ``lstm`` forecast times
  a weight per horizon in [0, 1]. At each refit origin the weights are fitted on the most recent
  :data:`VALIDATION` windows whose outcomes are known by then, predicted by a head fitted on the
  windows before them (with a gap of the longest horizon, so no training outcome falls among
  theirs); then the head is refitted on all known windows, as for ``lstm``. Until enough windows
  are known, the weights are 0: persistence.
- ``ets``, ``theta``, ``arima``: AutoETS, AutoTheta and AutoARIMA (statmodels.py), fitted afresh on
  the closes up to each refit origin and carried forward, fitted parameters unchanged, over each
  later origin's own closes until the next refit.

Scores per horizon and forecaster are on close prices (metrics.py): MAE, MASE against persistence
on the same origins, directional accuracy with its Wilson 95% interval, and the 80% and 95% bands'
coverage, mean width and Winkler score. Bands are intervals.adaptive: volatility-normalised
conformal scores with adaptive conformal inference, each outcome feeding the calibration only once
it is known. The strategy (strategy.py) trades the one-day forecast's direction against buy-and-hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from .. import errors, runtime, tickers
from ..market import features
from ..market import prices as market_prices
from ..settings import Settings
from . import intervals, metrics, shrinkage, statmodels, strategy
from .dataset import CONTEXT, Scalers, make_windows, split
from .model import LSTMConfig, LSTMModel

log = logging.getLogger(__name__)

BURN_IN = 250  # unscored origins before start_date whose errors calibrate the first bands
HORIZONS = (1, 5, 21)
MAX_HORIZON = 63
FIRST_ORIGIN = features.WARMUP + CONTEXT - 1  # the first row with a full window of trusted features
RIDGE = 1e-3  # head refit: ridge term relative to the codes' mean square
MIN_FIT_WINDOWS = 64  # fewer windows with known outcomes and the head keeps the parent's
VALIDATION = 252  # served: the most recent known windows (a year of origins) its weights are fitted on


class WalkForecaster(Protocol):
    """What the engine asks of a forecaster. ``history`` is always ``feats[:t + 1]`` for some
    origin t: the ``(t + 1, 7)`` feature rows of market/features.py up to t, nothing later."""

    alias: str

    def fit(self, history: np.ndarray) -> None:
        """Learn from the rows up to the refit origin (a baseline ignores it)."""
        ...

    def forecast(self, histories: Sequence[np.ndarray], horizons: Sequence[int]) -> np.ndarray:
        """``(len(histories), len(horizons))`` predicted log returns of the close, each from the
        last row of its history."""
        ...


@dataclasses.dataclass
class Setup:
    """What a factory may read to build its forecaster for one backtest."""

    settings: Settings
    prices: market_prices.Prices
    horizons: tuple[int, ...]
    first_origin: int  # row of the first forecast origin, burn-in included
    options: dict[str, Any]  # run's keyword options (lstm_epochs, ...)
    notes: list[str]  # plain-language notes the factory adds for the result
    shared: dict[str, Any] = dataclasses.field(default_factory=dict)  # what factories share (lstm codes)


class Naive:
    alias = "naive"

    def fit(self, history: np.ndarray) -> None:
        pass

    def forecast(self, histories: Sequence[np.ndarray], horizons: Sequence[int]) -> np.ndarray:
        return np.zeros((len(histories), len(horizons)))


class Drift:
    alias = "drift"

    def fit(self, history: np.ndarray) -> None:
        pass

    def forecast(self, histories: Sequence[np.ndarray], horizons: Sequence[int]) -> np.ndarray:
        first = features.WARMUP  # as dataset.make_windows: the drift runs from the first usable row
        drift = np.array([(math.log(x[-1, 3]) - math.log(x[first, 3])) / max(len(x) - 1 - first, 1) for x in histories])
        return drift[:, None] * np.asarray(horizons, dtype=np.float64)[None, :]


class StatModel:
    """A statistical model of statmodels.py (see the module doc)."""

    def __init__(self, alias: str, horizons: Sequence[int]):
        self.alias, self.horizons = alias, tuple(horizons)
        self.model: object | None = None
        self.rows = 0  # rows of the history it was fitted on
        self.fitted = np.zeros(0)  # its forecast from that history's last row

    def fit(self, history: np.ndarray) -> None:
        self.rows = len(history)
        self.model, self.fitted = statmodels.fit(self.alias, statmodels.tail(np.log(history[:, 3])), MAX_HORIZON)

    def forecast(self, histories: Sequence[np.ndarray], horizons: Sequence[int]) -> np.ndarray:
        assert self.model is not None and tuple(horizons) == self.horizons, "forecast before fit"
        out = []
        for x in histories:
            assert len(x) >= self.rows, "a history older than the fit"
            out.append(
                self.fitted
                if len(x) == self.rows
                else statmodels.forward(self.model, statmodels.tail(np.log(x[:, 3])), MAX_HORIZON)
            )
        return np.stack(out)[:, np.asarray(horizons) - 1]


class FrozenLSTM:
    """The parent's frozen LSTM with a head refitted on the ticker (see the module doc)."""

    alias = "lstm"

    def __init__(self, model: LSTMModel, scalers: Scalers, horizons: Sequence[int]):
        self.model, self.scalers = model.eval(), scalers
        self.horizons = tuple(horizons)
        close = [(h - 1) * model.config.n_targets + 3 for h in self.horizons]  # head rows of the close
        weight = model.head.weight.detach().double().numpy()[close]  # (H, hidden)
        bias = model.head.bias.detach().double().numpy()[close]
        # the parent's head in return units: scaled output * y_std + y_mean
        std, mean = scalers.y_std[np.array(self.horizons) - 1, 3], scalers.y_mean[np.array(self.horizons) - 1, 3]
        self.coef = np.vstack([weight.T * std, bias * std + mean])  # (hidden + 1, H)
        self.codes: dict[int, np.ndarray] = {}  # window end row -> code: a causal function of the window
        self.refits = 0

    def _encode(self, history: np.ndarray, ends: Sequence[int]) -> np.ndarray:
        missing = [e for e in ends if e not in self.codes]
        for i in range(0, len(missing), 1024):
            part = np.asarray(missing[i : i + 1024])
            assert part.max() < len(history), "a window past the history"
            w = make_windows(history, part, features.WARMUP, with_targets=False)
            with torch.inference_mode():
                codes = self.model.encode(torch.from_numpy(self.scalers.x(w.inputs))).double().numpy()
            self.codes.update(zip(part.tolist(), codes, strict=True))
        return np.stack([self.codes[e] for e in ends]) if len(ends) else np.zeros((0, self.model.config.hidden))

    def known(self, history: np.ndarray) -> list[int]:
        """Window ends whose outcomes at every horizon are known by the history's last row."""
        return list(range(FIRST_ORIGIN, len(history) - max(self.horizons)))

    def codes_and_returns(self, history: np.ndarray, ends: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The windows' codes with a constant column, and their actual close log returns per horizon."""
        x = np.hstack([self._encode(history, ends), np.ones((len(ends), 1))])
        e = np.asarray(ends)
        y = np.log(history[e[:, None] + np.asarray(self.horizons)[None, :], 3] / history[e, 3][:, None])
        return x, y

    @staticmethod
    def solve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        gram = x.T @ x
        ridge = RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram))
        ridge[-1, -1] = 0.0  # the intercept is not shrunk
        return np.linalg.solve(gram + ridge, x.T @ y)

    def fit(self, history: np.ndarray) -> None:
        ends = self.known(history)
        if len(ends) < MIN_FIT_WINDOWS:
            return
        self.coef = self.solve(*self.codes_and_returns(history, ends))
        self.refits += 1

    def forecast(self, histories: Sequence[np.ndarray], horizons: Sequence[int]) -> np.ndarray:
        assert tuple(horizons) == self.horizons, "the head was fitted for other horizons"
        inputs = np.concatenate(
            [make_windows(x, np.array([len(x) - 1]), features.WARMUP, with_targets=False).inputs for x in histories]
        )
        with torch.inference_mode():
            codes = self.model.encode(torch.from_numpy(self.scalers.x(inputs))).double().numpy()
        return np.hstack([codes, np.ones((len(codes), 1))]) @ self.coef


class Served(FrozenLSTM):
    """The LSTM's forecast shrunk toward persistence by weights fitted on validation (see the module doc)."""

    alias = "served"

    def __init__(self, model: LSTMModel, scalers: Scalers, horizons: Sequence[int]):
        super().__init__(model, scalers, horizons)
        self.weights = np.zeros(len(self.horizons))

    def fit(self, history: np.ndarray) -> None:
        ends = self.known(history)
        train = ends[: -(VALIDATION + max(self.horizons))]
        if len(train) >= MIN_FIT_WINDOWS:
            x, y = self.codes_and_returns(history, ends)
            n = len(train)
            head = self.solve(x[:n], y[:n])
            self.weights = shrinkage.weights(x[-VALIDATION:] @ head, y[-VALIDATION:])
        super().fit(history)

    def forecast(self, histories: Sequence[np.ndarray], horizons: Sequence[int]) -> np.ndarray:
        return super().forecast(histories, horizons) * self.weights


_parents: dict[tuple, tuple[LSTMModel, Scalers, dict]] = {}  # one training per parent config, newest last
PARENTS_KEPT = 4  # a server runs many backtests: keep a few parents, not one per start date ever asked


def parent(settings: Settings, before: dt.date, epochs: int, hidden: int, layers: int) -> tuple:
    """``(model, scalers, info)``: a parent trained on the index from PARENT_START_DATE through
    the day before ``before`` (kept in memory for later runs with the same arguments).
    Raises ValueError when that period is too short."""
    from .train import TrainConfig, fit

    index = market_prices.load(settings.parent_ticker, settings)
    end = (before - dt.timedelta(days=1)).isoformat()
    start = settings.parent_start_date.isoformat()
    key = (str(index.path), len(index), start, end, epochs, hidden, layers)
    if key not in _parents:
        data = split(index, start, end)
        scalers = Scalers.fit(data.train)
        cfg = TrainConfig(
            ticker=settings.parent_ticker,
            model_id=tickers.PARENT,
            role="parent",
            start_date=start,
            end_date=end,
            epochs=epochs,
            learning_rate=settings.learning_rate,
            device=settings.torch_device(),
            model=LSTMConfig(hidden=hidden, layers=layers),
        )
        model, report = fit(cfg, data, scalers)
        info = {"ticker": settings.parent_ticker, "from": data.info["first_date"], "through": data.info["last_date"]}
        _parents[key] = (model.cpu().eval(), scalers, info | {"epochs_run": report["epochs_run"]})
        while len(_parents) > PARENTS_KEPT:
            del _parents[next(iter(_parents))]
    return _parents[key]


def _lstm(setup: Setup, kind: type[FrozenLSTM] = FrozenLSTM) -> WalkForecaster | None:
    o = setup.options
    before = dt.date.fromisoformat(setup.prices.day_strings[setup.first_origin])
    try:
        model, scalers, info = parent(setup.settings, before, o["lstm_epochs"], o["lstm_hidden"], o["lstm_layers"])
    except ValueError as exc:
        setup.notes.append(f"lstm left out: too little index history before {before} to train its parent ({exc})")
        return None
    if "lstm" not in setup.shared:
        setup.notes.append(
            f"lstm: a parent trained on {info['ticker']} from {info['from']} through {info['through']} "
            f"({info['epochs_run']} epochs), before the first origin, so it never saw a forecast day; "
            "its head is refitted on the ticker every refit_every origins"
        )
        setup.shared["lstm"] = {}  # window codes, shared: each window is encoded once
    if kind is Served:
        setup.notes.append(
            f"served: the lstm forecast times per-horizon weights in [0, 1], fitted at each refit on the "
            f"latest {VALIDATION} windows with known outcomes"
        )
    net = kind(model, scalers, setup.horizons)
    net.codes = setup.shared["lstm"]
    return net


def _stat(alias: str) -> Callable[[Setup], WalkForecaster | None]:
    return lambda setup: StatModel(alias, setup.horizons)


# What a request that names none scores: the others cost minutes more on a small CPU.
DEFAULT_FORECASTERS = ("naive", "drift", "lstm")

FACTORIES: dict[str, Callable[[Setup], WalkForecaster | None]] = {
    "naive": lambda setup: Naive(),
    "drift": lambda setup: Drift(),
    "lstm": _lstm,
    "served": lambda setup: _lstm(setup, Served),
    **{alias: _stat(alias) for alias in statmodels.ALIASES},
}


def walk(
    feats: np.ndarray,
    origins: np.ndarray,
    models: Sequence[WalkForecaster],
    horizons: tuple[int, ...],
    refit_every: int,
) -> dict[str, np.ndarray]:
    """``{alias: (len(origins), len(horizons))}`` predicted close log returns: each model refitted on
    ``feats[:r + 1]`` at every ``refit_every``-th origin r, and forecasting origin t from ``feats[:t + 1]``."""
    predicted = {m.alias: np.empty((len(origins), len(horizons))) for m in models}
    for b in range(0, len(origins), refit_every):
        runtime.check_cancelled()
        block = origins[b : b + refit_every]
        histories = [feats[: t + 1] for t in block]
        for m in models:
            m.fit(histories[0])
            predicted[m.alias][b : b + len(block)] = m.forecast(histories, horizons)
        runtime.progress({"stage": "backtest", "done": b + len(block), "total": len(origins)})
    return predicted


def _day(field: str, value) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad(field, value)
    except ValueError:
        return _bad(field, value)


def _bad(field: str, value):
    raise errors.InvalidParameter(f"{field} must be a date written YYYY-MM-DD, got {value!r}")


def _clean(x) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None


def _number(field: str, value, least: float, most: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not least <= value <= most:
        raise errors.InvalidParameter(f"{field} must be a number in {least}..{most}, got {value!r}")


def _positive_int(field: str, value, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise errors.InvalidParameter(f"{field} must be an integer in 1..{most}, got {value!r}")
    return value


def run(
    settings: Settings,
    ticker: str,
    start_date: str,
    end_date: str,
    horizons: Sequence[int] = HORIZONS,
    refit_every: int = 21,
    cost_bps: float = 5.0,
    forecasters: Sequence[str] = DEFAULT_FORECASTERS,
    *,
    lstm_epochs: int = 3,
    lstm_hidden: int = LSTMConfig.hidden,
    lstm_layers: int = LSTMConfig.layers,
    aci_gamma: float = intervals.ACI_GAMMA,
) -> dict:
    """Walk-forward backtest of ``ticker`` (a validated symbol) over ``[start_date, end_date]``.

    Returns a JSON-ready dict (see docs/backtests.md). Sends ``{"stage": "backtest", "done", "total"}``
    progress events (origins forecast so far) and checks for cancellation between refits.
    Raises NotFound (no prices), InvalidParameter (bad arguments, too few days), Cancelled.
    """
    started = time.monotonic()
    start, end = _day("start_date", start_date), _day("end_date", end_date)
    if start > end:
        raise errors.InvalidParameter(f"start_date {start} is after end_date {end}")
    if not isinstance(horizons, (list, tuple)) or not horizons:
        raise errors.InvalidParameter(f"horizons must be a list of trading-day counts, got {horizons!r}")
    hs = tuple(sorted({_positive_int("horizons", h, MAX_HORIZON) for h in horizons}))
    refit_every = _positive_int("refit_every", refit_every, 10_000)
    _number("cost_bps", cost_bps, 0, 1000)
    _number("aci_gamma", aci_gamma, 0, 0.5)
    options = {
        "lstm_epochs": _positive_int("lstm_epochs", lstm_epochs, 1000),
        "lstm_hidden": _positive_int("lstm_hidden", lstm_hidden, 1024),
        "lstm_layers": _positive_int("lstm_layers", lstm_layers, 8),
    }
    if (
        not isinstance(forecasters, (list, tuple))
        or not forecasters
        or any(not isinstance(f, str) or f not in FACTORIES for f in forecasters)
    ):
        raise errors.InvalidParameter(f"forecasters must be some of {', '.join(FACTORIES)}, got {forecasters!r}")
    prices = market_prices.load(ticker, settings)
    feats = prices.features
    lo = max(prices.index_of(start), FIRST_ORIGIN)
    hi = prices.index_of(end + dt.timedelta(days=1))  # rows [lo, hi) are the scored origins' days
    if hi - lo < 2:
        raise errors.InvalidParameter(
            f"fewer than 2 usable trading days of {prices.symbol} between {start} and {end} "
            f"(data from {prices.first_date} to {prices.last_date}; the first {FIRST_ORIGIN} days warm up)"
        )
    feats = feats[:hi]  # nothing after end_date is ever read
    first = max(FIRST_ORIGIN, lo - BURN_IN)
    origins = np.arange(first, hi - 1)  # each has at least the one-day outcome inside the data
    notes: list[str] = []
    setup = Setup(settings, prices, hs, first, options, notes)
    models = [m for m in (FACTORIES[name](setup) for name in dict.fromkeys(forecasters)) if m is not None]

    predicted = walk(feats, origins, models, hs, refit_every)
    for m in models:
        if isinstance(m, Served):
            shown = ", ".join(f"h={h} {w:.2f}" for h, w in zip(hs, m.weights, strict=True))
            notes.append(f"served: weights at the last refit {shown} (0 is persistence, 1 the lstm)")
    close = feats[:, 3]
    steps = origins[:, None] + np.asarray(hs)[None, :]
    known = steps < hi
    actual = np.where(known, np.log(close[np.minimum(steps, hi - 1)] / close[origins][:, None]), np.nan)
    vol = intervals.window_volatility(make_windows(feats, origins, features.WARMUP, with_targets=False).inputs)
    scored = origins >= lo
    rows = []
    for k, h in enumerate(hs):
        use = scored & known[:, k]
        last = close[origins[use]]
        y = last * np.exp(actual[use, k])
        for m in models:
            center = predicted[m.alias][:, k]
            y_hat = last * np.exp(center[use])
            hits, n, ci = metrics.directional_ci(y, y_hat, last)
            row: dict[str, Any] = {
                "horizon": h,
                "forecaster": m.alias,
                "n": int(use.sum()),
                "mae": _clean(metrics.mae(y, y_hat)) if n else None,
                "mase": _clean(metrics.mase(y, y_hat, last)) if n else None,
                "directional_accuracy": _clean(hits / n) if n and ci[0] is not None else None,
                "directional_ci": [_clean(c) if c is not None else None for c in ci],
                "coverage": {},
                "width": {},
                "winkler": {},
            }
            for level in intervals.LEVELS:
                key = str(round(level * 100))
                half, _, _ = intervals.adaptive(
                    center, actual[:, k], vol * math.sqrt(h), h, level, aci_gamma / math.sqrt(h)
                )
                ok = use & np.isfinite(half)
                lo_p, hi_p = (close[origins[ok]] * np.exp(center[ok] + s * half[ok]) for s in (-1, 1))
                y_ok = close[origins[ok]] * np.exp(actual[ok, k])
                have = bool(ok.any())
                row["coverage"][key] = _clean(metrics.coverage(y_ok, lo_p, hi_p)) if have else None
                row["width"][key] = _clean(np.mean(hi_p - lo_p)) if have else None
                row["winkler"][key] = _clean(metrics.winkler(y_ok, lo_p, hi_p, 1.0 - level)) if have else None
            rows.append(row)

    # strategy: decided at each scored origin's close, held over the next day
    days = origins[scored]
    asset = close[days + 1] / close[days] - 1.0
    h1 = hs.index(1) if 1 in hs else None
    by_forecaster, equity, primary = {}, [], None
    if h1 is not None:
        for m in models:
            cmp = strategy.compare(predicted[m.alias][scored, h1], asset, cost_bps)
            by_forecaster[m.alias] = {k: _clean(v) for k, v in cmp["strategy"].items()}
        primary = next((a for a in ("served", "lstm", "drift") if a in by_forecaster), next(iter(by_forecaster), None))
    strategy_block = None
    if primary is not None:
        cmp = strategy.compare(predicted[primary][scored, h1], asset, cost_bps)
        dates = [prices.day_strings[int(r)] for r in days] + [prices.day_strings[int(days[-1]) + 1]]
        equity = [
            {"date": d, "strategy": round(float(s), 6), "buy_and_hold": round(float(b), 6)}
            for d, s, b in zip(dates, cmp["equity_strategy"], cmp["equity_buy_and_hold"], strict=True)
        ]
        strategy_block = {
            "forecaster": primary,
            "cost_bps": float(cost_bps),
            "strategy": by_forecaster[primary],
            "buy_and_hold": {k: _clean(v) for k, v in cmp["buy_and_hold"].items()},
            "by_forecaster": by_forecaster,
        }
    else:
        notes.append("no strategy: it trades the one-day forecast, and horizon 1 was not asked for")

    notes += _notes(rows, strategy_block)
    return {
        "ticker": prices.symbol,
        "data_source": prices.source,
        "data_range": {
            "first_origin": prices.day_strings[lo],
            "last_origin": prices.day_strings[int(days[-1])],
            "last_outcome": prices.day_strings[hi - 1],
            "origins": int(scored.sum()),
            "burn_in_from": prices.day_strings[first],
            "burn_in_origins": int((~scored).sum()),
        },
        "config": {
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "horizons": list(hs),
            "refit_every": refit_every,
            "cost_bps": float(cost_bps),
            "forecasters": [m.alias for m in models],
            "levels": [round(level * 100) for level in intervals.LEVELS],
            "aci_gamma": aci_gamma,
            "lstm": {"epochs": lstm_epochs, "hidden": lstm_hidden, "layers": lstm_layers}
            if any(isinstance(m, FrozenLSTM) for m in models)
            else None,
            "units": "close price (mae, width, winkler); shares (coverage, directional accuracy)",
        },
        "scores": rows,
        "strategy": strategy_block,
        "equity": equity,
        "served": _served(settings, ticker, start),
        "notes": notes,
        "seconds": round(time.monotonic() - started, 3),
    }


def _served(settings: Settings, ticker: str, start: dt.date) -> dict | None:
    """The serving model of ``ticker``, if any, and whether its training data reached into the backtest."""
    from .registry import Registry

    try:
        registry = Registry.from_settings(settings)
        model_id = tickers.model_id(ticker)
        version = registry.serving_version(model_id)
        if version is None:
            return None
        as_of = registry.meta(model_id, version).get("data_as_of")
    except Exception as exc:  # the backtest never depends on the registry
        log.info("backtest: serving model of %s unreadable (%s)", ticker, exc)
        return None
    return {
        "model": model_id,
        "version": version,
        "data_as_of": as_of,
        "saw_backtest_period": bool(as_of and as_of >= start.isoformat()),
    }


def _notes(rows: list[dict], strat: dict | None) -> list[str]:
    out = []
    for h in sorted({r["horizon"] for r in rows}):
        better = [r["forecaster"] for r in rows if r["horizon"] == h and r["mase"] is not None and r["mase"] < 1]
        out.append(
            f"h={h}: {', '.join(better)} beat persistence on MAE (MASE below 1)"
            if better
            else f"h={h}: no forecaster beats persistence on MAE"
        )
    for r in rows:
        ci = r["directional_ci"]
        if ci[0] is not None and ci[0] > 0.5:
            out.append(
                f"h={r['horizon']}: {r['forecaster']} calls the direction better than a coin (95% interval above 50%)"
            )
    if strat is not None:
        s, b = strat["strategy"], strat["buy_and_hold"]
        if s["sharpe"] is not None and b["sharpe"] is not None:
            verdict = "above" if s["sharpe"] > b["sharpe"] else "not above"
            out.append(
                f"long/flat on {strat['forecaster']}'s direction: Sharpe {s['sharpe']:.2f}, "
                f"{verdict} buy-and-hold's {b['sharpe']:.2f}"
            )
    return out
