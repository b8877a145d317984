"""Latest record and bounded history of one kind of monitoring result, per model, on disk.

``latest`` is replaced atomically (temp file in the same folder, fsync, ``os.replace``, fsync of the
folder), so a reader sees the old record or the new one, never a torn file. The history is a JSON
Lines file, oldest first: a record is appended as one ``write`` of one line; once the file holds more
than ``keep`` plus a slack of lines it is rewritten (atomically, as above) with the last ``keep``.
Writers of one folder are serialised by a lock file (``fcntl.flock``, so the scheduled monitor, a
request and the CLI in another process cannot interleave a trim and an append); readers never lock
and skip a line they cannot parse (a crash can only cut the last one short).

Each record is saved with ``seq``, its number in the history of its kind: one more than the newest
before it, so it orders the records as they were appended (their times, taken before the lock and
in whole seconds, cannot) and stays the same when a trim drops older lines. A cursor made of it
pages exactly. Records saved before ``seq`` existed are numbered on reading: one less than the
record after them, and in a history holding none with ``seq``, by their line (1 for the first), so
the numbers a reader sees do not change when the next record is saved.
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


def save(settings: Settings, model_id: str, kind: str, record: dict[str, Any], keep: int) -> dict[str, Any]:
    """Make ``record`` the latest of ``kind`` (``drift`` or ``eval``) and append it to the history;
    return it as stored, with its ``seq``."""
    where = folder(settings, model_id)
    with _locked(where):
        history = where / f"{kind}_history.jsonl"
        raw = _read(history)
        lines = raw.splitlines()
        stored = {**record, "seq": max((n for n, _ in _numbered(lines)), default=0) + 1}
        line = _dumps(stored).encode()  # fails on NaN before anything is written
        atomicfile.write_text(where / f"{kind}_latest.json", line.decode() + "\n")
        with open(history, "ab") as fh:
            # A line a crash cut short gets its end, so the new record is a line of its own.
            fh.write((b"\n" if raw and not raw.endswith(b"\n") else b"") + line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        if len(lines) + 1 > keep + TRIM_SLACK:
            atomicfile.write_text(history, b"".join(x + b"\n" for x in [*lines, line][-keep:]).decode())
            log.info("trimmed %s to its last %d records", history, keep)
    return stored


def _read(history: Path) -> bytes:
    try:
        with open(history, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return b""


def _numbered(lines: list[bytes]) -> list[tuple[int, dict[str, Any] | None]]:
    """Each line's number and record (None when unreadable), oldest first (see the module's words)."""
    out: list[tuple[int, dict[str, Any] | None]] = []
    after = len(lines) + 1  # the number of the line after, for lines saved without seq
    for raw in reversed(lines):
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        seq = record.get("seq") if isinstance(record, dict) else None
        after = seq if isinstance(seq, int) and not isinstance(seq, bool) else after - 1
        out.append((after, record if isinstance(record, dict) else None))
    out.reverse()
    return out


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
    before_seq: int | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` records of ``kind``, newest first, each with its ``seq``; with ``before``, only
    those whose ``stamp`` (an ISO 8601 time) is earlier, and none without a readable one; with
    ``before_seq``, only those numbered lower."""
    where = folder(settings, model_id) / f"{kind}_history.jsonl"
    out: list[dict[str, Any]] = []
    for seq, record in reversed(_numbered(_read(where).splitlines())):
        if len(out) >= limit:
            break
        if record is None:
            log.warning("skipping an unreadable line of %s %s history", model_id, kind)
            continue
        if before_seq is not None and seq >= before_seq:
            continue
        if before is None or _stamped_before(stamp(record), before):
            out.append({**record, "seq": seq})
    return out


def _stamped_before(value: Any, before: dt.datetime) -> bool:
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)) < before
