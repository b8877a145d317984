"""Stored backtest results: one JSON file per result in ``MODELS_DIR/<model id>/backtests/``.

They sit beside the model's versions, in the one folder replicas share, so that any replica reads
what a trainer stored (the registry counts only version folders, so they are no version).

A file is named ``<UTC stamp>-<config key>.json``: the stamp orders them (newest last by name), the
key is a hash of the configuration (symbol, dates, horizons, refit_every, cost_bps). Saving a
result replaces any older one of the same configuration, and at most :data:`KEEP` results stay per
model (the oldest go first). Files are written atomically (atomicfile.py), so a reader never sees a
part of one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from .. import atomicfile, tickers

log = logging.getLogger(__name__)

KEEP = 20  # results kept per model


def _dir(models_dir: Path, model_id: str) -> Path:
    return tickers.confined(models_dir, model_id) / "backtests"


def config_key(config: dict[str, Any]) -> str:
    """A short stable hash of a backtest's configuration."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def save(models_dir: Path, model_id: str, config: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Store ``result`` of ``config`` for ``model_id`` and return the stored record: the result
    with ``backtest_id``, ``model``, ``created`` and ``request`` (the configuration) added."""
    now = dt.datetime.now(dt.UTC)
    key = config_key(config)
    backtest_id = f"{now:%Y%m%dT%H%M%S%fZ}-{key}"
    record = {**result, "backtest_id": backtest_id, "model": model_id, "created": now.isoformat(), "request": config}
    folder = _dir(models_dir, model_id)
    atomicfile.write_text(folder / f"{backtest_id}.json", json.dumps(record, allow_nan=False))
    # Older files of this configuration, then the oldest beyond KEEP.
    names = _names(folder)
    stale = [n for n in names if n.endswith(f"-{key}.json") and n != f"{backtest_id}.json"]
    rest = [n for n in names if n not in stale]
    for name in stale + rest[: max(0, len(rest) - KEEP)]:
        (folder / name).unlink(missing_ok=True)
    return record


def _names(folder: Path) -> list[str]:
    """The result files of a folder, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.glob("*.json") if not p.name.startswith(atomicfile.TMP_PREFIX))


def stamp(models_dir: Path, model_id: str) -> str | None:
    """The name of the newest stored result, which changes whenever a result is stored; None
    without one. One listing of at most KEEP names: cheap enough to ask on every forecast (a
    folder's modification time would be cheaper, but two stores within one clock tick share it)."""
    try:
        names = os.listdir(_dir(models_dir, model_id))
    except OSError:
        return None
    return max((n for n in names if n.endswith(".json") and not n.startswith(atomicfile.TMP_PREFIX)), default=None)


def newest(models_dir: Path, model_id: str) -> dict[str, Any] | None:
    """The newest readable stored result of ``model_id``, or None."""
    folder = _dir(models_dir, model_id)
    for name in reversed(_names(folder)):
        try:
            return json.loads((folder / name).read_text())
        except (OSError, ValueError) as exc:
            log.warning("backtest result %s/%s unreadable: %s", model_id, name, exc)
    return None


def read(models_dir: Path, model_id: str) -> list[dict[str, Any]]:
    """The stored results of ``model_id``, newest first; an unreadable file is logged and skipped."""
    folder = _dir(models_dir, model_id)
    out = []
    for name in reversed(_names(folder)):
        try:
            out.append(json.loads((folder / name).read_text()))
        except (OSError, ValueError) as exc:
            log.warning("backtest result %s/%s unreadable: %s", model_id, name, exc)
    return out
