"""Inference: the API's ``<prediction>`` for the parent or a child, from models kept in memory.

A model is loaded once per id and kept; each forecast stats ``serving.json`` (a few microseconds)
and reloads only when the pointer changed, so a newly saved version serves from the next call on.
The server can also name the version to serve (:meth:`Predictor.serve`, on a replica told that the
shared serving pointer moved). Either way a version is loaded first and switched to only once it
loaded: a version that cannot be loaded is refused and the previous one keeps serving.
Prices and their features are cached in memory by file (market/prices.py) and the trading calendar
by day (market/calendar.py), so a forecast costs one LSTM pass over one window plus building the
answer: no file reads and no pandas. The server's form (:meth:`Predictor.forecast_json`) encodes only
the forecast rows per call; the rest of the answer is encoded once per prices, model version and
summary.

The answer (docs/api.md) plus our fields: ``model_version``, ``data_as_of`` (the last market day the
forecast rests on), ``data_source``, per row ``close_low``/``close_high`` (the 80% band) and
``close_low_95``/``close_high_95`` (the 95% band, absent for models saved before it; both widen with
the latest window's volatility, intervals.py), an ``evaluation`` block (held-out accuracy of this
model against the naive baseline, the interval's measured coverage, and which weights serve), a
one-line ``summary`` (summary.py) and a ``disclaimer``. The served forecast is the LSTM's shrunk by
the version's validation-fitted weights (shrinkage.py), applied in :func:`price_columns`. Prices
come from :func:`price_columns`, which batch.py calls on many forecasts at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading

import numpy as np
import orjson
import torch

from .. import errors, tickers
from ..market import calendar, features
from ..market import prices as market_prices
from ..settings import Settings
from . import backtest_results, intervals, shrinkage, summary
from .dataset import CONTEXT, HORIZON, Scalers, Windows, latest_window, split
from .intervals import CLOSE, bounds
from .model import LSTMConfig, LSTMForecaster, LSTMModel
from .registry import Registry

log = logging.getLogger(__name__)

HISTORY_DAYS = 90
PAST_FORECASTS = 6  # held-out cut-offs drawn against what followed: enough to see, few enough to read
DISCLAIMER = "Forecasts are statistical estimates, not investment advice."


@dataclasses.dataclass
class _Loaded:
    stamp: tuple | None  # Registry.serving_stamp when loaded
    version: str
    forecaster: LSTMForecaster
    q: np.ndarray  # (63,) 80% band: half-widths in log-return units, in units of intervals.scale if ``scaled``
    q95: np.ndarray | None  # (63,) the 95% band likewise (None: a model saved before it had one)
    scaled: bool  # False: a model saved before bands followed volatility; its q are log returns
    evaluation: dict  # the prediction's "evaluation" block, built once
    encoder: str  # digest of the LSTM's weights: equal digests, one shared forward (batch.py)
    shrink: np.ndarray  # (63,) the serving choice's weights on the predicted returns (ones: the LSTM as is)
    meta: dict
    summary: str  # summary.line of meta and the newest stored backtest
    backtests: str | None  # backtest_results.stamp the summary was made at

    def half_widths(self, scale: np.ndarray, q: np.ndarray | None = None) -> np.ndarray:
        """``(m, 63)`` half-widths in log-return units of the band ``q`` (default: the 80% one) for
        windows of ``intervals.scale`` ``scale``: wider where the window's market was more volatile."""
        q = self.q if q is None else q
        return q * scale if self.scaled else np.broadcast_to(q, (len(scale), len(q)))


class Predictor:
    """Forecasts from in-memory models; safe to call from several threads."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.registry = Registry.from_settings(settings)
        self.device = settings.torch_device()
        self._loaded: dict[str, _Loaded] = {}
        # symbol -> (prices, latest window, its intervals.scale)
        self._windows: dict[str, tuple[market_prices.Prices, Windows, np.ndarray]] = {}
        self._frames: dict[str, _Frame] = {}  # ref -> the encoded parts of its answer that are not the forecast
        self._lock = threading.Lock()

    def model(self, model_id: str) -> _Loaded:
        """The serving model of ``model_id``, reloaded if ``serving.json`` changed. Raises ModelMissing."""
        stamp = self.registry.serving_stamp(model_id)
        cur = self._loaded.get(model_id)
        if cur is not None and stamp is not None and cur.stamp == stamp:
            return self._summarised(model_id, cur)
        with self._lock:
            version = self.registry.serving_version(model_id)
            if version is None:
                self._loaded.pop(model_id, None)
                raise errors.ModelMissing(
                    "parent model missing" if model_id == tickers.PARENT else f"no trained model for '{model_id}'"
                )
            cur = self._loaded.get(model_id)
            if cur is None or cur.version != version:
                try:
                    cur = self._load(model_id, version, stamp)
                except Exception as exc:
                    if cur is None:  # nothing to fall back on
                        raise
                    log.warning(
                        "model %s version %s cannot be loaded (%s); still serving %s",
                        model_id,
                        version,
                        _reason(exc),
                        cur.version,
                    )
            cur.stamp = stamp  # a refused version is retried only when the pointer moves again
            self._loaded[model_id] = cur
            return self._summarised(model_id, cur)

    def _summarised(self, model_id: str, cur: _Loaded) -> _Loaded:
        """``cur`` with its summary naming the newest stored backtest: re-read only when the
        model's newest result changed (one short folder listing per forecast)."""
        stamp = backtest_results.stamp(self.settings.models_dir, model_id)
        if stamp != cur.backtests:
            newest = backtest_results.newest(self.settings.models_dir, model_id) if stamp is not None else None
            cur.summary, cur.backtests = summary.line(cur.meta, newest), stamp
        return cur

    def serve(self, model_id: str, version: str) -> str | None:
        """Load ``version`` of ``model_id`` and serve it from now on, whatever ``serving.json``
        says until it changes. Returns None when it serves, else why it could not be loaded (the
        version served before, if any, keeps serving)."""
        with self._lock:
            cur = self._loaded.get(model_id)
            if cur is not None and cur.version == version:
                return None
            stamp = self.registry.serving_stamp(model_id)
            try:
                self._loaded[model_id] = self._load(model_id, version, stamp)
            except Exception as exc:
                reason = _reason(exc)
                log.warning(
                    "model %s version %s refused: %s; serving %s",
                    model_id,
                    version,
                    reason,
                    cur.version if cur is not None else "nothing",
                )
                if cur is not None:
                    cur.stamp = stamp  # the file names the refused version too: do not retry per call
                return reason
            return None

    def serving(self, model_id: str) -> str | None:
        """The version held in memory for ``model_id`` (None: none loaded yet)."""
        cur = self._loaded.get(model_id)
        return cur.version if cur is not None else None

    def _load(self, model_id: str, version: str, stamp) -> _Loaded:
        art = self.registry.load(model_id, version, map_location=self.device)
        log.info("loaded model %s version %s", model_id, version)
        meta = art.meta
        test = meta["data"]["test"]
        evaluation = {
            "test_period": {"from": test["first_cutoff"], "to": test["last_target"], "windows": test["windows"]},
            "horizons": [1, 5, 21, 63],
            "metric": "mae of the close",
            "mae": {k: v for k, v in meta["metrics"]["mae"].items() if k in ("lstm", "naive", "served")},
            "skill_vs_naive": meta["metrics"]["skill_vs_naive"],
            "served_skill_vs_naive": meta["metrics"].get("served_skill_vs_naive"),
            "interval_coverage": meta["interval"]["test_coverage"],
            "interval_coverage_target": meta["interval"]["coverage_target"],
            "serving_weights": meta.get("serving", {}).get("weights", "evaluated"),
        }
        forecaster = self._forecaster(art)
        return _Loaded(
            stamp,
            version,
            forecaster,
            np.asarray(meta["interval"]["quantiles"], dtype=np.float64),
            np.asarray(meta["interval"]["quantiles_95"], dtype=np.float64)
            if "quantiles_95" in meta["interval"]
            else None,
            "scale" in meta["interval"],
            evaluation,
            _digest(forecaster.model.lstm),
            np.asarray(meta["choice"]["weights"] if "choice" in meta else np.ones(HORIZON), dtype=np.float64),
            meta,
            summary.line(meta),
            None,
        )

    def _forecaster(self, art) -> LSTMForecaster:
        net = LSTMModel(LSTMConfig(**art.meta["config"]["model"]))
        net.load_state_dict(art.state_dict)
        return LSTMForecaster(net, Scalers.from_json(art.scalers), self.device)

    def inputs(self, ref: str) -> Inputs:
        """What a forecast for ``ref`` (``"parent"`` or a validated symbol) reads.

        Raises NotFound (no price data; checked first), ModelMissing (no model), InvalidParameter
        (too little history for one window).
        """
        symbol = self.settings.parent_ticker if ref == tickers.PARENT else ref
        prices = market_prices.load(symbol, self.settings)
        if len(prices) < features.WARMUP + CONTEXT:
            raise errors.InvalidParameter(
                f"{symbol} has {len(prices)} days of prices; a forecast needs {features.WARMUP + CONTEXT}"
            )
        loaded = self.model(tickers.model_id(ref))
        cached = self._windows.get(symbol)
        if cached is None or cached[0] is not prices:  # prices.load returns a new object when the file changed
            window = latest_window(prices)
            cached = self._windows[symbol] = (prices, window, intervals.scale(window.inputs))
        return Inputs(ref, symbol, prices, cached[1], cached[2], loaded)

    def past_forecasts(self, ref: str, count: int = PAST_FORECASTS) -> dict:
        """What the serving version forecast at ``count`` of its evaluation's held-out cut-offs
        (the test split of its own training data, spread evenly), each with its 80% band and the
        closes that followed, and the closes of the whole test period to draw them over. These are
        the evaluated weights' forecasts: a refit's weights saw those days.

        Raises as :meth:`inputs`; NotFound when the price history no longer holds those cut-offs.
        """
        i = self.inputs(ref)
        data_info = self.registry.meta(tickers.model_id(ref), i.loaded.version)["data"]
        held_out = split(i.prices, data_info["first_date"], data_info["last_date"])
        if held_out.info["test"] != data_info["test"]:
            raise errors.NotFound(
                f"the held-out cut-offs of {i.symbol} version {i.loaded.version} are no longer in its price history"
            )
        test = held_out.test
        picked = test.take(np.unique(np.linspace(0, len(test) - 1, min(count, len(test))).round().astype(int)))
        evaluated = self._forecaster(self.registry.load(tickers.model_id(ref), i.loaded.version, evaluated=True))
        pred = shrinkage.apply(evaluated.predict(picked), i.loaded.shrink)  # (k, 63, 5)
        low, high = bounds(pred, i.loaded.half_widths(intervals.scale(picked.inputs)))
        to_close = picked.close[:, None]
        closes = to_close * np.exp(pred[..., CLOSE])
        lows, highs = to_close * np.exp(low), to_close * np.exp(high)
        assert picked.targets is not None
        actual = to_close * np.exp(picked.targets[..., CLOSE])
        days = i.prices.day_strings
        first, last = int(test.ends[0]), int(test.ends[-1]) + HORIZON
        period = held_out.info["test"]
        return {
            "ticker": i.symbol,
            "model_version": i.loaded.version,
            "test_period": {"from": period["first_cutoff"], "to": period["last_target"], "windows": period["windows"]},
            "closes": [
                {"date": days[r], "close": round(float(i.prices.features[r, 3]), 4)} for r in range(first, last + 1)
            ],
            "forecasts": [
                {
                    "cutoff": days[end],
                    "last_close": round(float(picked.close[k]), 4),
                    "path": [
                        {
                            "date": days[end + h + 1],
                            "close": round(float(closes[k, h]), 4),
                            "close_low": round(float(lows[k, h]), 4),
                            "close_high": round(float(highs[k, h]), 4),
                            "actual": round(float(actual[k, h]), 4),
                        }
                        for h in range(HORIZON)
                    ],
                }
                for k, end in enumerate(int(e) for e in picked.ends)
            ],
        }

    def forecast(self, ref: str) -> dict:
        """The prediction for ``ref``, built whole; raises as :meth:`inputs`."""
        i, cols, volumes = self._run(ref)
        return answer(i, cols, volumes)

    def forecast_json(self, ref: str) -> bytes:
        """:meth:`forecast` encoded as JSON, the form the server sends: only the 63 forecast rows are
        encoded per call; the rest comes encoded from the last call with the same prices, model
        version and summary (:class:`_Frame`)."""
        i, cols, volumes = self._run(ref)
        frame = self._frames.get(ref)
        if frame is None or not frame.fits(i, len(cols)):
            frame = self._frames[ref] = _Frame.of(i, len(cols))
        return frame.encode(cols, volumes)

    def _run(self, ref: str) -> tuple[Inputs, np.ndarray, np.ndarray]:
        """The inputs of ``ref`` and its forecast's :func:`price_columns` (one forecast's)."""
        i = self.inputs(ref)
        pred = i.loaded.forecaster.predict(i.window)  # (1, 63, 5) log-ratios to the last close; log volume
        cols, volumes, finite = price_columns([i], pred)
        if not finite[0]:
            raise ValueError(f"the model for {i.symbol} produced non-finite values")
        return i, cols[0], volumes[0]


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


@dataclasses.dataclass
class Inputs:
    """One forecast's inputs: the ticker, its prices and latest window, and the serving model."""

    ref: str
    symbol: str
    prices: market_prices.Prices
    window: Windows
    scale: np.ndarray  # (1, 63) intervals.scale of the window
    loaded: _Loaded


COLUMNS = ("open", "high", "low", "close", "close_low", "close_high")  # a row's prices, volume apart
BANDS_95 = ("close_low_95", "close_high_95")  # after COLUMNS, when every model has a 95% band


def price_columns(inputs: list[Inputs], pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prices from the model outputs ``pred`` (n, 63, 5) in target space of n forecasts at once.

    Returns the columns (n, 6, 63) in :data:`COLUMNS` order, then :data:`BANDS_95` (n, 8, 63) when
    every model has a 95% band, rounded to 4 decimals; the volumes
    (n, 63) as integers; and which forecasts are finite (n,). Prices are the exponentiated log
    returns (a median-type forecast); a row's high and low are widened to hold its open and close.
    """
    close_t = np.array([i.window.close[0] for i in inputs], dtype=np.float64)[:, None]  # (n, 1)
    volume_ref = np.array([i.window.volume_ref[0] for i in inputs], dtype=np.float64)[:, None]
    q = np.concatenate([i.loaded.half_widths(i.scale) for i in inputs])  # (n, 63) 80% half-widths
    with_95 = all(i.loaded.q95 is not None for i in inputs)
    pred = shrinkage.apply(pred, np.stack([i.loaded.shrink for i in inputs]))  # the serving choice
    ohlc = close_t[..., None] * np.exp(pred[..., :4])  # (n, 63, 4)
    open_, close = ohlc[..., 0], ohlc[..., 3]
    high = np.maximum(ohlc[..., 1], np.maximum(open_, close))
    low = np.minimum(ohlc[..., 2], np.minimum(open_, close))
    bands = [close_t * np.exp(pred[..., 3] - q), close_t * np.exp(pred[..., 3] + q)]
    if with_95:
        q95 = np.concatenate([i.loaded.half_widths(i.scale, i.loaded.q95) for i in inputs])
        bands += [close_t * np.exp(pred[..., 3] - q95), close_t * np.exp(pred[..., 3] + q95)]
    cols = np.stack([open_, high, low, close, *bands], axis=1).round(4)  # (n, 6 or 8, 63)
    volume = np.exp(pred[..., 4] + volume_ref)
    finite = np.isfinite(cols).all(axis=(1, 2)) & np.isfinite(volume).all(axis=1)
    return cols, np.where(np.isfinite(volume), volume, 0).astype(np.int64), finite  # truncated, as int() would


def answer(i: Inputs, cols: np.ndarray, volumes: np.ndarray, compact: bool = False) -> dict:
    """The API's prediction from one forecast's :func:`price_columns`: ``cols`` (6 or 8, 63), ``volumes`` (63,).

    ``compact`` is a batch's form: the 63 rows as columns (``forecast``: ``date``, ``open``, …, one
    list each) in place of ``predictions`` and its views, and no 90-day history. The numbers are the
    same; a batch of 100 is built and encoded in a fifth of the time.
    """
    days = calendar.sessions_after(i.prices.last_date, HORIZON)
    names = _names(len(cols))
    out = _head(i, days)
    if compact:
        out["forecast"] = {
            "date": list(days),
            **dict(zip(names, cols.tolist(), strict=True)),
            "volume": volumes.tolist(),
        }
    else:
        rows = _rows(days, cols, volumes)
        out["predictions"] = {
            "next_day": rows[0],
            "week": rows[:5],
            "month": rows[:21],
            "quarter": rows,
            "full_forecast": rows,
        }
        out["history"] = _history(i.prices)
    out.update(_tail(i, names))
    return out


def _names(columns: int) -> tuple[str, ...]:
    """The names of :func:`price_columns`' columns, given how many there are."""
    return COLUMNS + (BANDS_95 if columns > len(COLUMNS) else ())


ROW_KEYS = ("date", "open", "high", "low", "close", "volume")  # a prediction row's keys; its bands follow


def _rows(days: tuple[str, ...], cols: np.ndarray, volumes: np.ndarray) -> list[dict]:
    """The prediction rows: ``{date, open, high, low, close, volume}`` then the bands' bounds."""
    keys = ROW_KEYS + _names(len(cols))[4:]
    return [
        dict(zip(keys, (d, *values[:4], v, *values[4:]), strict=True))
        for d, values, v in zip(days, cols.T.tolist(), volumes.tolist(), strict=True)
    ]


def _head(i: Inputs, days: tuple[str, ...]) -> dict:
    """The prediction's fields before the forecast."""
    return {
        "ticker": i.symbol,
        "model": tickers.model_id(i.ref),
        "last_date": i.prices.last_date,
        "future_window_days": HORIZON,
        "next_business_days": list(days[:5]),
    }


def _tail(i: Inputs, names: tuple[str, ...]) -> dict:
    """The prediction's fields after the forecast and its history."""
    loaded = i.loaded
    return {
        "model_version": loaded.version,
        "data_as_of": i.prices.last_date,
        "data_source": i.prices.source,
        "interval": {
            "coverage_target": loaded.evaluation["interval_coverage_target"],
            "fields": ["close_low", "close_high"],
            **({"fields_95": list(BANDS_95)} if len(names) > len(COLUMNS) else {}),
        },
        "evaluation": loaded.evaluation,
        "summary": loaded.summary,
        "disclaimer": DISCLAIMER,
    }


@dataclasses.dataclass(frozen=True)
class _Frame:
    """A prediction's JSON around its forecast rows, encoded once: it changes only with the prices
    (their object: a changed file is a new one), the model version (a new :class:`_Loaded`) and
    the summary. :meth:`encode` then encodes just the 63 rows, each once for all five views."""

    prices: market_prices.Prices
    loaded: _Loaded
    summary: str
    columns: int
    dates: list[bytes]  # per row '{"date":"…",'
    row: bytes  # the rest of a row, with %b for each number: '"open":%b,…,"volume":%b,…}'
    head: bytes  # '{"ticker":…,"next_business_days":[…],"predictions":'
    tail: bytes  # ',"history":[…],"model_version":…}'

    @classmethod
    def of(cls, i: Inputs, columns: int) -> _Frame:
        days = calendar.sessions_after(i.prices.last_date, HORIZON)
        names = _names(columns)
        dates = [b'{"date":' + orjson.dumps(d) + b"," for d in days]
        row = b",".join(orjson.dumps(k) + b":%b" for k in ROW_KEYS[1:] + names[4:]) + b"}"
        head = orjson.dumps(_head(i, days))[:-1] + b',"predictions":'
        tail = b"," + orjson.dumps({"history": _history(i.prices), **_tail(i, names)})[1:]
        return cls(i.prices, i.loaded, i.loaded.summary, columns, dates, row, head, tail)

    def fits(self, i: Inputs, columns: int) -> bool:
        return (
            self.prices is i.prices
            and self.loaded is i.loaded
            and self.summary == i.loaded.summary
            and self.columns == columns
        )

    def encode(self, cols: np.ndarray, volumes: np.ndarray) -> bytes:
        """The answer with these :func:`price_columns` (as :func:`answer` builds it, encoded)."""
        table = [(*r[:4], v, *r[4:]) for r, v in zip(cols.T.tolist(), volumes.tolist(), strict=True)]
        # Numbers hold no ',', '[' or ']': one encoding of the table splits into rows, a row into its numbers.
        numbers = orjson.dumps(table)[2:-2].split(b"],[")
        rows = [date + self.row % tuple(n.split(b",")) for date, n in zip(self.dates, numbers, strict=True)]
        quarter = b"[" + b",".join(rows) + b"]"
        return b"".join(
            (
                self.head,
                b'{"next_day":',
                rows[0],
                b',"week":[',
                b",".join(rows[:5]),
                b'],"month":[',
                b",".join(rows[:21]),
                b'],"quarter":',
                quarter,
                b',"full_forecast":',
                quarter,
                b"}",
                self.tail,
            )
        )


def _digest(module: torch.nn.Module) -> str:
    h = hashlib.blake2b(digest_size=16)
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _history(prices: market_prices.Prices) -> list[dict]:
    """The last 90 closes as ``{date, close}``."""
    n = min(HISTORY_DAYS, len(prices))
    closes = prices.ohlcv[-n:, 3].round(4).tolist()
    return [{"date": d, "close": c} for d, c in zip(prices.day_strings[-n:], closes, strict=True)]
