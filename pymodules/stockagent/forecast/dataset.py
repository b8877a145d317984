"""Windows, targets, the chronological split and the scalers.

A *window* is the 60 trading days up to and including a cut-off day t. Its inputs are the seven
features of market/features.py made scale-free relative to that day:

- open, high, low, close: ``log(price_s / close_t)`` for each day s of the window;
- volume: ``log(volume_s)`` minus the window's mean log volume (the window's *volume reference*);
- RSI14 / 100;  MACD / close_s.

Its targets, for each horizon h = 1..63, are ``log(price_{t+h} / close_t)`` for open, high, low and
close, and ``log(volume_{t+h})`` minus the volume reference (model.py says why this space).

Split: the usable rows (from the start date, after the features' warm-up, up to the end date) are cut
by date into 70% train, 15% validation and 15% test. A window belongs to the split holding its
cut-off day, and only if all 63 target days lie in that split too, so no target crosses a boundary.
A validation or test window's inputs may reach back into the earlier split: those are past days,
known at the cut-off. Scalers are fitted on training windows only and saved as plain JSON.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..market import features
from ..market.prices import Prices

CONTEXT = 60  # trading days per window (LSTMConfig.context)
HORIZON = 63  # trading days forecast (LSTMConfig.horizon)
TARGETS = ("open", "high", "low", "close", "volume")
SPLIT = (0.70, 0.15, 0.15)  # train, validation, test, by date
MIN_WINDOWS = {"train": 64, "val": 20, "test": 20}  # fewer and the numbers mean little
CLIP = 10.0  # standardised inputs beyond +-10 are clipped: the model never saw anything like them


@dataclasses.dataclass
class Windows:
    """A batch of windows as numpy arrays; ``targets`` is None for a live forecast."""

    inputs: np.ndarray  # (m, 60, 7) float32, scale-free, not yet standardised
    targets: np.ndarray | None  # (m, 63, 5) float32
    ends: np.ndarray  # (m,) row index of each cut-off day in the price history
    close: np.ndarray  # (m,) close on the cut-off day
    volume_ref: np.ndarray  # (m,) mean log volume of the window
    drift: np.ndarray  # (m,) mean daily log close return from the series' first usable row to t

    def __len__(self) -> int:
        return len(self.ends)

    def take(self, idx) -> Windows:
        parts: dict[str, Any] = {
            f.name: (None if getattr(self, f.name) is None else getattr(self, f.name)[idx])
            for f in dataclasses.fields(self)
        }
        return Windows(**parts)


def make_windows(feats: np.ndarray, ends: np.ndarray, first_row: int, with_targets: bool = True) -> Windows:
    """Windows whose cut-off days are the rows ``ends`` of a ``(n, 7)`` feature array.

    ``first_row`` is the series' first usable row (the drift baseline's origin).
    """
    ends = np.asarray(ends, dtype=np.int64)
    assert ends.ndim == 1, f"ends must be 1-D, got shape {ends.shape}"
    if len(ends):
        assert ends.min() - CONTEXT + 1 >= 0, f"window ending at row {ends.min()} starts before the data"
        assert not with_targets or ends.max() + HORIZON < len(feats), f"targets of row {ends.max()} run past the data"
    rows = ends[:, None] + np.arange(-CONTEXT + 1, 1)  # (m, 60)
    w = feats[rows]  # (m, 60, 7)
    log_close_t = np.log(feats[ends, 3])  # (m,)
    log_vol = np.log(w[..., 4])  # (m, 60)
    volume_ref = log_vol.mean(axis=1)  # (m,)
    x = np.empty(w.shape, dtype=np.float32)
    x[..., 0:4] = np.log(w[..., 0:4]) - log_close_t[:, None, None]
    x[..., 4] = log_vol - volume_ref[:, None]
    x[..., 5] = w[..., 5] / 100.0
    x[..., 6] = w[..., 6] / w[..., 3]
    y = None
    if with_targets:
        t = feats[ends[:, None] + np.arange(1, HORIZON + 1)]  # (m, 63, 7)
        y = np.empty((len(ends), HORIZON, len(TARGETS)), dtype=np.float32)
        y[..., 0:4] = np.log(t[..., 0:4]) - log_close_t[:, None, None]
        y[..., 4] = np.log(t[..., 4]) - volume_ref[:, None]
    steps = np.maximum(ends - first_row, 1)
    drift = (log_close_t - np.log(feats[first_row, 3])) / steps
    return Windows(
        inputs=x,
        targets=y,
        ends=ends,
        close=feats[ends, 3].copy(),
        volume_ref=volume_ref,
        drift=np.where(ends > first_row, drift, 0.0),
    )


def latest_window(prices: Prices, first_row: int = 0) -> Windows:
    """The one window ending on the last day of ``prices``: the input of a live forecast."""
    n = len(prices)
    assert n >= CONTEXT, f"{prices.symbol}: {n} rows, a forecast needs {CONTEXT}"
    return make_windows(prices.features, np.array([n - 1]), first_row, with_targets=False)


@dataclasses.dataclass
class Split:
    train: Windows
    val: Windows
    test: Windows
    info: dict  # dates of each split, for meta.json


def usable_rows(prices: Prices, start: str | None, end: str | None) -> tuple[int, int]:
    """``[lo, hi)``: rows from ``start`` (after the features' warm-up) through ``end``, both dates optional."""
    import datetime as dt

    lo = features.WARMUP
    if start is not None:
        lo = max(lo, prices.index_of(dt.date.fromisoformat(start)))
    hi = len(prices) if end is None else prices.index_of(dt.date.fromisoformat(end) + dt.timedelta(days=1))
    return lo, hi


def min_rows() -> int:
    """The fewest usable rows that leave MIN_WINDOWS windows in every split."""
    n = CONTEXT + HORIZON
    while any(len(r) < MIN_WINDOWS[k] for k, r in _cutoffs(0, n).items()):
        n += 1
    return n


def _cutoffs(lo: int, hi: int) -> dict[str, range]:
    n = hi - lo
    b1, b2 = lo + round(SPLIT[0] * n), lo + round((SPLIT[0] + SPLIT[1]) * n)
    return {
        "train": range(lo + CONTEXT - 1, b1 - HORIZON),  # inputs from lo on, targets before b1
        "val": range(b1, b2 - HORIZON),  # cut-off and targets inside [b1, b2)
        "test": range(b2, hi - HORIZON),  # cut-off and targets inside [b2, hi)
    }


def split(prices: Prices, start: str | None = None, end: str | None = None) -> Split:
    """Chronological train/validation/test windows (see the module doc). Raises ValueError if too short."""
    lo, hi = usable_rows(prices, start, end)
    need = min_rows()
    if hi - lo < need:
        raise ValueError(f"{hi - lo} usable trading days between the start and end dates; at least {need} are needed")
    cut = _cutoffs(lo, hi)
    days = prices.day_strings
    parts, info = {}, {"first_date": days[lo], "last_date": days[hi - 1], "rows": hi - lo}
    for name, r in cut.items():
        parts[name] = make_windows(prices.features, np.arange(r.start, r.stop), lo)
        info[name] = {
            "first_cutoff": days[r.start],
            "last_cutoff": days[r.stop - 1],
            "last_target": days[r.stop - 1 + HORIZON],
            "windows": len(r),
        }
    return Split(parts["train"], parts["val"], parts["test"], info)


def all_windows(prices: Prices, start: str | None = None, end: str | None = None) -> tuple[Windows, dict]:
    """Every window of the usable rows with all its targets inside them, no split: the refit's data.

    The last window's last target is the last close (of ``end``, or of the history). Returns the
    windows and their dates.
    """
    lo, hi = usable_rows(prices, start, end)
    ends = np.arange(lo + CONTEXT - 1, hi - HORIZON)
    assert len(ends), f"{hi - lo} usable rows hold no window"
    days = prices.day_strings
    info = {
        "first_cutoff": days[ends[0]],
        "last_cutoff": days[ends[-1]],
        "last_date": days[ends[-1] + HORIZON],
        "windows": len(ends),
    }
    return make_windows(prices.features, ends, lo), info


@dataclasses.dataclass
class Scalers:
    """Per-feature input and per-(horizon, target) output standardisation, fitted on training windows."""

    x_mean: np.ndarray  # (7,)
    x_std: np.ndarray  # (7,)
    y_mean: np.ndarray  # (63, 5)
    y_std: np.ndarray  # (63, 5)

    @classmethod
    def fit(cls, train: Windows) -> Scalers:
        assert train.targets is not None, "scalers are fitted on windows with targets"
        x = train.inputs.reshape(-1, train.inputs.shape[-1]).astype(np.float64)
        y = train.targets.astype(np.float64)
        return cls(x.mean(0), np.maximum(x.std(0), 1e-6), y.mean(0), np.maximum(y.std(0), 1e-6))

    def x(self, inputs: np.ndarray) -> np.ndarray:
        return np.clip((inputs - self.x_mean) / self.x_std, -CLIP, CLIP).astype(np.float32)

    def y(self, targets: np.ndarray) -> np.ndarray:
        return ((targets - self.y_mean) / self.y_std).astype(np.float32)

    def y_inverse(self, scaled: np.ndarray) -> np.ndarray:
        return scaled * self.y_std + self.y_mean

    def to_json(self) -> dict:
        return {k: np.asarray(v).tolist() for k, v in dataclasses.asdict(self).items()} | {"targets": list(TARGETS)}

    @classmethod
    def from_json(cls, d: dict) -> Scalers:
        s = cls(**{f.name: np.asarray(d[f.name], dtype=np.float64) for f in dataclasses.fields(cls)})
        assert s.y_mean.shape == (HORIZON, len(TARGETS)), (
            f"scalers for shape {s.y_mean.shape}, expected ({HORIZON}, {len(TARGETS)})"
        )
        assert all(math.isfinite(v) for v in s.x_std.tolist()), "scalers hold non-finite values"
        return s
