"""Latest record and bounded history of one kind of monitoring result, per model, on disk.

``latest`` is replaced atomically (temp file in the same folder, fsync, ``os.replace``, fsync of the
folder), so a reader sees the old record or the new one, never a torn file. The history is a JSON
Lines file, oldest first: a record is appended as one ``write`` of one line; once the file holds more
than ``keep`` plus a slack of lines it is rewritten (atomically, as above) with the last ``keep``.
Writers of one folder are serialised by a lock file (``fcntl.flock``, so the scheduled monitor, a
request and the CLI in another process cannot interleave a trim and an append); readers never lock
and skip a line they cannot parse (a crash can only cut the last one short).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import atomicfile, tickers
from ..settings import Settings

log = logging.getLogger(__name__)

TRIM_SLACK = 50  # rewrite the history once per this many appends, not on every one


def folder(settings: Settings, model_id: str) -> Path:
    """``DATA_DIR/monitoring/<model id>`` (not created)."""
    return tickers.confined(settings.data_dir / "monitoring", model_id)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), allow_nan=False)


def save(settings: Settings, model_id: str, kind: str, record: dict[str, Any], keep: int) -> None:
    """Make ``record`` the latest of ``kind`` (``drift`` or ``eval``) and append it to the history."""
    where = folder(settings, model_id)
    line = _dumps(record)  # fails on NaN before anything is written
    with _locked(where):
        atomicfile.write_text(where / f"{kind}_latest.json", line + "\n")
        history = where / f"{kind}_history.jsonl"
        with open(history, "a") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        _trim(history, keep)


def _trim(history: Path, keep: int) -> None:
    with open(history, "rb") as fh:
        lines = fh.read().splitlines(keepends=True)
    if len(lines) > keep + TRIM_SLACK:
        atomicfile.write_text(history, b"".join(lines[-keep:]).decode())
        log.info("trimmed %s to its last %d records", history, keep)


def latest(settings: Settings, model_id: str, kind: str) -> dict[str, Any] | None:
    """The latest record of ``kind``, or None when there is none."""
    try:
        return json.loads((folder(settings, model_id) / f"{kind}_latest.json").read_text())
    except FileNotFoundError:
        return None


def history(
    settings: Settings,
    model_id: str,
    kind: str,
    limit: int,
    before: dt.datetime | None = None,
    stamp: Callable[[dict[str, Any]], Any] = lambda r: r.get("timestamp"),
) -> list[dict[str, Any]]:
    """Up to ``limit`` records of ``kind``, newest first; with ``before``, only those whose
    ``stamp`` (an ISO 8601 time) is earlier, and none without a readable one."""
    try:
        with open(folder(settings, model_id) / f"{kind}_history.jsonl", "rb") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return []
    out: list[dict[str, Any]] = []
    for raw in reversed(lines):
        if len(out) >= limit:
            break
        try:
            record = json.loads(raw)
        except ValueError:
            log.warning("skipping an unreadable line of %s %s history", model_id, kind)
            continue
        if before is None or _stamped_before(stamp(record), before):
            out.append(record)
    return out


def _stamped_before(value: Any, before: dt.datetime) -> bool:
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)) < before
