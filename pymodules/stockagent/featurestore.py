"""The feature store: the model's daily features in Feast, offline in Parquet and online in Redis.

Optional (``pip install '.[feast]'``) and off unless ``FEATURE_STORE=feast``. The features are the
ones the model reads, from the same function (:func:`stockagent.market.features.compute`, through
``Prices.features``): Open, High, Low, Close, Volume, RSI14, MACD per ticker and trading day, from
the first day the features are trusted (``features.WARMUP``) on.

- Offline store: one Parquet file, ``DATA_DIR/feast/daily_features.parquet``, every synced ticker's
  whole history; replaced atomically on each sync.
- Online store: Redis when ``REDIS_URL`` is set (the server's Redis); otherwise SQLite in
  ``DATA_DIR/feast/online.db``, which Feast supports for a single machine and which stands in only
  where no Redis runs.
- Registry: ``DATA_DIR/feast/registry.db``.

:func:`sync` writes a ticker's features and materializes its latest day into the online store;
:func:`check` reads the online features of a ticker's latest day back and compares them with the
in-process ones (they must be equal: both are the same float64 numbers). A training syncs its
ticker when the store is on (entries/forecast.py, train); the CLI's ``feature-store`` command does it by hand.

Feast is imported only here and only when a function runs: importing it takes seconds.

| variable | default | meaning |
|---|---|---|
| ``FEATURE_STORE`` | ``off`` | ``feast`` syncs each trained ticker's features into Feast (settings.py) |
| ``REDIS_URL`` | unset | ``redis://host:port/db``: Feast's online store (settings.py); unset: SQLite |
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np

from . import atomicfile, errors, redact
from .market import features
from .market import prices as market_prices
from .settings import Settings

log = logging.getLogger(__name__)

PROJECT = "stockagent"
VIEW = "daily_features"
ENTITY = "ticker"
FIELDS = ("open", "high", "low", "close", "volume", "rsi14", "macd")  # features.COLUMNS, in order

_lock = threading.Lock()  # one sync at a time per process: the Parquet file is read, merged, replaced


def redis_connection(url: str) -> str:
    """A ``redis://[user:password@]host:port/db`` URL in Feast's form: ``host:port,db=N[,password=…]``."""
    u = urlsplit(url)
    if u.scheme not in ("redis", "rediss") or not u.hostname:
        raise errors.InvalidParameter(f"REDIS_URL {redact.url(url)!r} is not a redis:// URL")
    parts = [f"{u.hostname}:{u.port or 6379}"]
    db = u.path.strip("/")
    if db:
        if not db.isdigit():
            raise errors.InvalidParameter(f"REDIS_URL {redact.url(url)!r}: the database must be a number")
        parts.append(f"db={db}")
    if u.username:
        parts.append(f"username={unquote(u.username)}")
    if u.password:
        parts.append(f"password={unquote(u.password)}")
    if u.scheme == "rediss":
        parts.append("ssl=true")
    return ",".join(parts)


class FeatureStore:
    """Our feature definitions on a Feast store in ``settings.data_dir / "feast"``."""

    def __init__(self, settings: Settings, redis_url: str | None = None):
        try:
            import feast  # noqa: F401
        except ImportError:
            raise errors.Unavailable("the feature store needs Feast: pip install '.[feast]'") from None
        self.settings = settings
        self.folder = Path(settings.data_dir) / "feast"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.parquet = self.folder / "daily_features.parquet"
        if redis_url is None:
            redis_url = settings.redis_url
        self.online = "redis" if redis_url else "sqlite"
        self._store = self._open(redis_url)
        self._applied = False

    def _open(self, redis_url: str | None):
        from feast import FeatureStore as Store
        from feast import RepoConfig

        online: dict[str, Any] = (
            # skip_dedup: Redis keeps a row only if its day is newer than the stored one, but a
            # corrected price keeps its day and must replace the stored features all the same
            {"type": "redis", "connection_string": redis_connection(redis_url), "skip_dedup": True}
            if redis_url
            else {"type": "sqlite", "path": str(self.folder / "online.db")}
        )
        return Store(
            config=RepoConfig(
                project=PROJECT,
                provider="local",
                registry=str(self.folder / "registry.db"),
                online_store=online,
                offline_store={"type": "file"},
                entity_key_serialization_version=3,
                repo_path=self.folder,
            )
        )

    def _definitions(self):
        from feast import Entity, FeatureView, Field, FileSource, ValueType
        from feast.types import Float64, String

        entity = Entity(
            name=ENTITY,
            join_keys=[ENTITY],
            value_type=ValueType.STRING,
            description="a symbol, as the API writes it (AAPL, ^GSPC)",
        )
        source = FileSource(
            name=f"{VIEW}_parquet",
            path=str(self.parquet),
            timestamp_field="event_timestamp",
            created_timestamp_column="created",
        )
        view = FeatureView(
            name=VIEW,
            entities=[entity],
            source=source,
            online=True,
            ttl=dt.timedelta(days=0),  # daily features never expire: the latest day is the one to serve
            schema=[
                Field(name=ENTITY, dtype=String),
                Field(name="as_of", dtype=String),
                *(Field(name=f, dtype=Float64) for f in FIELDS),
            ],
            description="the LSTM's inputs per trading day (stockagent.market.features.compute)",
        )
        return entity, view

    def _apply(self) -> None:
        if not self._applied:
            self._store.apply(list(self._definitions()))
            self._applied = True

    def sync(self, symbols: list[str]) -> dict[str, Any]:
        """Write the features of ``symbols`` offline and their latest day online."""
        import pandas as pd

        frames, latest = [], {}
        for symbol in symbols:
            p = market_prices.load(symbol, self.settings)
            frames.append(frame(p))
            latest[symbol] = p.last_date
        new = pd.concat(frames, ignore_index=True)
        with _lock:
            if self.parquet.exists():
                old = pd.read_parquet(self.parquet)
                new = pd.concat([old[~old[ENTITY].isin(symbols)], new], ignore_index=True)
            with atomicfile.replace(self.parquet, "wb") as fh:
                new.to_parquet(fh, index=False)
            self._apply()
            days = [dt.datetime.fromisoformat(d).replace(tzinfo=dt.UTC) for d in latest.values()]
            start, end = min(days), max(days) + dt.timedelta(days=1)
            self._store.materialize(start_date=start, end_date=end, feature_views=[VIEW])
        log.info(
            "feature store: %d rows of %s offline, latest day online (%s)", len(new), ", ".join(symbols), self.online
        )
        return {
            "tickers": symbols,
            "latest": latest,
            "offline": str(self.parquet),
            "offline_rows": len(new),
            "online_store": self.online,
        }

    def online_features(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """The online features of ``symbols``: ``{symbol: {as_of, open, …}}`` (values None when absent)."""
        refs = [f"{VIEW}:{f}" for f in ("as_of", *FIELDS)]
        got = self._store.get_online_features(features=refs, entity_rows=[{ENTITY: s} for s in symbols]).to_dict()
        return {s: {f: got[f][k] for f in ("as_of", *FIELDS)} for k, s in enumerate(symbols)}

    def check(self, symbol: str) -> dict[str, Any]:
        """Online features of ``symbol``'s latest day against the in-process ones."""
        p = market_prices.load(symbol, self.settings)
        mine = dict(zip(FIELDS, p.features[-1].tolist(), strict=True))
        theirs = self.online_features([symbol])[symbol]
        rows = {f: {"online": theirs[f], "in_process": mine[f]} for f in FIELDS}
        missing = theirs["as_of"] is None or any(v is None for v in theirs.values())
        diff = None if missing else max(abs(theirs[f] - mine[f]) / max(abs(mine[f]), 1e-12) for f in FIELDS)
        return {
            "ticker": symbol,
            "date": p.last_date,
            "online_as_of": theirs["as_of"],
            "consistent": not missing and theirs["as_of"] == p.last_date and diff == 0.0,
            "max_relative_difference": diff,
            "features": rows,
            "online_store": self.online,
        }


def frame(p: market_prices.Prices):
    """The offline rows of one ticker: every day from the features' warm-up on."""
    import pandas as pd

    f = p.features[features.WARMUP :]
    days = p.dates[features.WARMUP :]
    df = pd.DataFrame(f, columns=list(FIELDS))
    df.insert(0, ENTITY, p.symbol)
    df.insert(1, "as_of", np.datetime_as_string(days, unit="D"))
    df["event_timestamp"] = pd.to_datetime(days).tz_localize("UTC")
    df["created"] = pd.Timestamp.now(tz="UTC")
    return df
