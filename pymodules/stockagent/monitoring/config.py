"""Settings of monitoring, read from environment variables (the entry module's copy is cached).

| variable | default | meaning |
|---|---|---|
| ``DRIFT_WINDOW_DAYS`` | ``60`` | trading days in drift's *current* window (the most recent ones) |
| ``MONITOR_HISTORY_KEEP`` | ``500`` | drift and evaluation records kept per model in the history files |

Library functions take these values as arguments; only :mod:`stockagent.entries.monitoring` calls
:func:`load`, so tests pass their own values and never share state.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Mapping

MIN_WINDOW_DAYS = 20  # fewer current rows and the std, PSI's 10 bins and KS mean little


@dataclasses.dataclass(frozen=True)
class MonitorConfig:
    drift_window_days: int = 60  # about three months of sessions, the old service's window
    history_keep: int = 500  # ~1.5 kB a drift record: well under 1 MB per model and kind

    def __post_init__(self) -> None:
        if not MIN_WINDOW_DAYS <= self.drift_window_days <= 5000:
            raise ValueError(
                f"setting DRIFT_WINDOW_DAYS={self.drift_window_days!r} is invalid: "
                f"expected an integer in {MIN_WINDOW_DAYS}..5000"
            )
        if not 1 <= self.history_keep <= 100_000:
            raise ValueError(
                f"setting MONITOR_HISTORY_KEEP={self.history_keep!r} is invalid: expected an integer in 1..100000"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MonitorConfig:
        """Build the config from environment variables; an unset or empty variable keeps its default."""
        env = os.environ if env is None else env
        d = cls()

        def get(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"environment variable {name}={raw!r} is not a valid integer") from None

        return cls(
            drift_window_days=get("DRIFT_WINDOW_DAYS", d.drift_window_days),
            history_keep=get("MONITOR_HISTORY_KEEP", d.history_keep),
        )


@functools.cache
def load() -> MonitorConfig:
    """The process-wide config, read from the environment on first use (api module only)."""
    return MonitorConfig.from_env()
