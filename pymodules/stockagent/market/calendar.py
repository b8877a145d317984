"""NYSE trading days, from exchange_calendars' ``XNYS`` (weekends, holidays and special closures
such as the 2025-01-09 national day of mourning for President Carter).

Building the calendar takes about half a second, so it is built once per process and every
answer is cached as plain ``YYYY-MM-DD`` strings: the forecast hot path never touches pandas here.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading

_FIRST = "1990-01-01"  # earliest date we ask about (price data, warm-ups)
_YEARS_AHEAD = 2  # sessions are known this far past today: a 63-day forecast needs ~3 months
_lock = threading.Lock()


@functools.cache
def _xnys():
    import exchange_calendars

    end = dt.date.today() + dt.timedelta(days=365 * _YEARS_AHEAD)
    return exchange_calendars.get_calendar("XNYS", start=_FIRST, end=end.isoformat())


def calendar():
    """The cached ``XNYS`` calendar (built on first use, thread-safe)."""
    with _lock:
        return _xnys()


@functools.lru_cache(maxsize=4096)
def sessions_after(day: str, count: int) -> tuple[str, ...]:
    """The first ``count`` NYSE sessions strictly after ``day`` (``YYYY-MM-DD``), as strings."""
    import pandas as pd

    cal = calendar()
    start = pd.Timestamp(day)
    if start < cal.first_session or start >= cal.last_session:
        raise ValueError(
            f"{day} is outside the trading calendar ({cal.first_session:%Y-%m-%d}..{cal.last_session:%Y-%m-%d})"
        )
    # date_to_session(next) handles non-session days; sessions_window counts from a session.
    first = cal.date_to_session(start + pd.Timedelta(days=1), direction="next")
    window = cal.sessions_window(first, count)
    if len(window) < count:
        raise ValueError(f"the trading calendar ends before {count} sessions after {day}")
    return tuple(ts.strftime("%Y-%m-%d") for ts in window)


def last_close(now: dt.datetime | None = None) -> dt.datetime:
    """The most recent NYSE session close at or before ``now`` (UTC, timezone-aware)."""
    import pandas as pd

    now = now or dt.datetime.now(dt.UTC)
    ts = pd.Timestamp(now).tz_convert("UTC") if now.tzinfo else pd.Timestamp(now, tz="UTC")
    close = calendar().previous_close(ts.floor("min"))
    return close.to_pydatetime()


def is_session(day: str) -> bool:
    """Whether ``day`` (``YYYY-MM-DD``) is an NYSE trading day."""
    return calendar().is_session(day)
