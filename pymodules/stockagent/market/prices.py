"""Daily OHLCV prices: where they come from, and an in-memory cache so a forecast never re-reads a CSV.

Sources, first match wins:

1. ``PRICES_DIR/<stem>.csv``: the user's own files (the bundled format), source ``prices_dir``;
2. Yahoo Finance through yfinance, when ``DATA_SOURCE`` is ``yahoo``, or ``auto`` and Yahoo answers
   quickly; kept in ``DATA_DIR/prices/<stem>.csv`` and fetched again at most once per trading day
   (after each NYSE close); when a refresh fails the stale copy is used, and ``data_as_of`` shows
   how old it is. Source ``yahoo``;
3. the files shipped in ``bundled/`` (real daily prices up to 2024-12-31, see ``bundled/SOURCES.md``),
   source ``bundled``.

All files share one format: header ``Date,Open,High,Low,Close,Adj Close,Volume``, dates ``YYYY-MM-DD``.
``<stem>`` is the symbol without its leading ``^`` (:func:`stockagent.tickers.stem`).
A loaded file is cached in memory keyed by its path and (mtime, size), together with its features.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomicfile, errors, tickers
from ..settings import Settings
from . import calendar, features

log = logging.getLogger(__name__)

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
HEADER = ("Date", "Open", "High", "Low", "Close", "Adj Close", "Volume")
YAHOO_HOST = ("query2.finance.yahoo.com", 443)
YAHOO_PROBE_TIMEOUT_S = 1.5  # "reachable quickly": a TCP connect within this many seconds
YAHOO_PROBE_TTL_S = 300.0  # the probe's answer is reused for five minutes


@dataclasses.dataclass(frozen=True, eq=False)
class Prices:
    """One symbol's daily history, oldest first, as plain numpy arrays (no pandas in the hot path)."""

    symbol: str
    source: str  # "prices_dir" | "yahoo" | "bundled"
    path: Path
    dates: np.ndarray  # (n,) datetime64[D]
    ohlcv: np.ndarray  # (n, 5) float64: Open, High, Low, Close, Volume

    def __len__(self) -> int:
        return len(self.dates)

    @functools.cached_property
    def day_strings(self) -> list[str]:
        """Dates as ``YYYY-MM-DD`` strings (computed once)."""
        return np.datetime_as_string(self.dates, unit="D").tolist()

    @functools.cached_property
    def features(self) -> np.ndarray:
        """``(n, 7)`` features of the whole history (computed once, see :mod:`features`)."""
        return features.compute(self.ohlcv)

    @property
    def first_date(self) -> str:
        return self.day_strings[0]

    @property
    def last_date(self) -> str:
        return self.day_strings[-1]

    def index_of(self, day: dt.date) -> int:
        """Index of the first row on or after ``day``."""
        return int(np.searchsorted(self.dates, np.datetime64(day, "D"), side="left"))


# --- reading files, cached -----------------------------------------------------------------

_cache: dict[tuple[Path, str], tuple[tuple[int, int], Prices]] = {}  # (path, symbol) -> (stamp, prices)
_cache_lock = threading.Lock()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def read_file(path: Path, symbol: str, source: str) -> Prices:
    """Read a price CSV, or return the cached copy when the file has not changed since."""
    stamp = _stamp(path)
    if stamp is None:
        raise errors.NotFound(f"No price data for ticker '{symbol}': {path.name} is gone")
    with _cache_lock:
        hit = _cache.get((path, symbol))
    if hit is not None and hit[0] == stamp and hit[1].source == source:
        return hit[1]
    prices = _parse(path, symbol, source)
    with _cache_lock:
        _cache[(path, symbol)] = (stamp, prices)
    return prices


def _parse(path: Path, symbol: str, source: str) -> Prices:
    import pandas as pd

    try:
        df = pd.read_csv(path, usecols=["Date", "Open", "High", "Low", "Close", "Volume"])
    except ValueError as exc:
        raise ValueError(f"{path}: not a price file in the bundled format ({exc})") from None
    df["Date"] = pd.to_datetime(df["Date"], format="%Y-%m-%d", errors="coerce")
    for col in ("Open", "High", "Low", "Close", "Volume"):  # text in a number column becomes NaN, dropped below
        df[col] = pd.to_numeric(df[col], errors="coerce")
    bad = df.isna().any(axis=1) | (df[["Open", "High", "Low", "Close"]] <= 0).any(axis=1)
    if bad.any():  # user files may hold gaps; a bundled file never does
        log.warning("%s: dropped %d rows with missing or non-positive values", path, int(bad.sum()))
        df = df[~bad]
    df = df.sort_values("Date").drop_duplicates("Date", keep="last")
    if df.empty:
        raise ValueError(f"{path}: no usable rows")
    return Prices(
        symbol=symbol,
        source=source,
        path=path,
        dates=df["Date"].to_numpy().astype("datetime64[D]"),
        ohlcv=df[["Open", "High", "Low", "Close", "Volume"]].to_numpy(dtype="float64"),
    )


# --- choosing a source ---------------------------------------------------------------------

_probe: dict[str, float | bool] = {"at": -1e9, "ok": False}


def yahoo_reachable() -> bool:
    """Whether Yahoo Finance accepts a TCP connection quickly (answer cached for a few minutes)."""
    now = time.monotonic()
    if now - _probe["at"] < YAHOO_PROBE_TTL_S:
        return bool(_probe["ok"])
    try:
        with socket.create_connection(YAHOO_HOST, timeout=YAHOO_PROBE_TIMEOUT_S):
            ok = True
    except OSError:
        ok = False
    _probe.update(at=now, ok=ok)
    log.info("Yahoo Finance %s", "reachable" if ok else "unreachable: using files on disk")
    return ok


def active_source(settings: Settings) -> str:
    """``yahoo`` or ``bundled``: what ``DATA_SOURCE`` means right now (``auto`` probes Yahoo)."""
    if settings.data_source == "auto":
        return "yahoo" if yahoo_reachable() else "bundled"
    return settings.data_source


def load(symbol: str, settings: Settings, *, download: bool = True) -> Prices:
    """The price history of a (validated) symbol, from the first source that has it.

    With ``download=False`` the Yahoo cache is used as it is, never refreshed. Raises
    :class:`errors.NotFound` when no source has the symbol, and :class:`errors.Unavailable` when
    ``DATA_SOURCE=yahoo`` and Yahoo cannot be reached with nothing cached.
    """
    name = tickers.stem(symbol) + ".csv"
    looked = []
    if settings.prices_dir is not None:
        path = tickers.confined(settings.prices_dir, name)
        if path.is_file():
            return read_file(path, symbol, "prices_dir")
        looked.append("PRICES_DIR")
    if active_source(settings) == "yahoo":
        if download:
            cached = _yahoo_cached(symbol, settings)
        else:
            path = tickers.confined(settings.price_cache_dir, name)
            cached = path if path.is_file() else None
        if cached is not None:
            return read_file(cached, symbol, "yahoo")
        looked.append("Yahoo Finance" if download else "the Yahoo cache")
    path = tickers.confined(BUNDLED_DIR, name)
    if path.is_file():
        return read_file(path, symbol, "bundled")
    looked.append("bundled data")
    raise errors.NotFound(f"No price data for ticker '{symbol}' (looked in: {', '.join(looked)})")


def list_tickers(settings: Settings) -> list[dict]:
    """Every symbol that can be forecast without a download, with its data range and source."""
    folders = []
    if settings.prices_dir is not None and settings.prices_dir.is_dir():
        folders.append(settings.prices_dir)
    if active_source(settings) == "yahoo" and settings.price_cache_dir.is_dir():
        folders.append(settings.price_cache_dir)
    folders.append(BUNDLED_DIR)
    seen: dict[str, dict] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.csv")):
            try:
                symbol = tickers.normalize(tickers.symbol_for_stem(path.stem))
            except errors.BadRequest:
                log.warning("ignoring %s: its name is not a valid ticker", path)
                continue
            if symbol in seen:
                continue
            try:
                prices = load(symbol, settings, download=False)
            except (errors.NotFound, ValueError) as exc:
                log.warning("ignoring %s: %s", path, exc)
                continue
            seen[symbol] = {
                "symbol": symbol,
                "first_date": prices.first_date,
                "last_date": prices.last_date,
                "rows": len(prices),
                "source": prices.source,
            }
    return sorted(seen.values(), key=lambda row: row["symbol"])


# --- Yahoo Finance -------------------------------------------------------------------------

_last_close: dict[str, Any] = {"at": -1e9, "value": None}
_fetch_locks: dict[str, threading.Lock] = {}
_fetch_locks_lock = threading.Lock()


def _latest_close() -> dt.datetime:
    """The most recent NYSE close (recomputed at most once a minute)."""
    now = time.monotonic()
    if now - _last_close["at"] > 60.0:
        _last_close.update(at=now, value=calendar.last_close())
    return _last_close["value"]


def _yahoo_cached(symbol: str, settings: Settings) -> Path | None:
    """Path of the cached Yahoo file, refreshed when it predates the latest close; None if Yahoo has nothing."""
    path = tickers.confined(settings.price_cache_dir, tickers.stem(symbol) + ".csv")
    stamp = _stamp(path)
    latest = _latest_close()
    if stamp is not None and stamp[0] / 1e9 >= latest.timestamp():
        return path  # fetched after the latest close: nothing new to get today
    with _fetch_locks_lock:
        lock = _fetch_locks.setdefault(path.name, threading.Lock())
    with lock:  # one download per symbol at a time; the others wait and reuse it
        stamp2 = _stamp(path)
        if stamp2 is not None and stamp2 != stamp and stamp2[0] / 1e9 >= latest.timestamp():
            return path
        try:
            frame = _download(symbol, latest.date())
        except Exception as exc:  # yfinance raises many kinds; any failure means "not now"
            if stamp is not None:
                log.warning("Yahoo refresh of %s failed (%s); using the copy from before", symbol, exc)
                return path
            if settings.data_source == "yahoo":
                raise errors.Unavailable(f"Yahoo Finance failed for '{symbol}': {exc}") from None
            log.warning("Yahoo download of %s failed (%s); falling back to files on disk", symbol, exc)
            return None
        if frame is None:
            return path if stamp is not None else None
        _write_atomic(path, frame)
        log.info("fetched %d rows of %s from Yahoo Finance", len(frame), symbol)
        return path


def _download(symbol: str, last_session: dt.date):
    """Full daily history from Yahoo, adjusted like the bundled files; None when Yahoo has no rows."""
    import yfinance as yf

    df = yf.download(
        symbol,
        period="max",
        interval="1d",
        auto_adjust=True,
        progress=False,
        threads=False,
        multi_level_index=False,
        timeout=10,
    )
    if df is None or df.empty:
        return None
    df = df[["Open", "High", "Low", "Close", "Volume"]].dropna()
    df.index = df.index.tz_localize(None) if df.index.tz is not None else df.index
    df = df[df.index.normalize() <= np.datetime64(last_session)]  # never today's unfinished bar
    return df if not df.empty else None


def _write_atomic(path: Path, df) -> None:
    """Write a frame in the bundled format, atomically."""
    out = df.copy()
    out.insert(4, "Adj Close", out["Close"])
    out["Volume"] = out["Volume"].round().astype("int64")
    out.index = out.index.strftime("%Y-%m-%d")
    out.index.name = "Date"
    with atomicfile.replace(path, newline="") as fh:
        out.to_csv(fh, float_format="%.7g")
