"""Files that matter are written whole or not at all.

:func:`replace` writes into a temp file beside the target, fsyncs it, renames it over the target
(``os.replace`` is atomic on one file system), then fsyncs the folder so that the rename itself
survives a crash. A reader sees the old file or the new one, never a part.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# Temp files start with it, so that a folder's left-overs after a crash can be recognised and removed.
TMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def replace(path: Path, mode: str = "w", newline: str | None = None) -> Iterator[IO[Any]]:
    """Yield a file opened with ``mode`` whose content replaces ``path`` when the block ends
    without an exception; on an exception ``path`` is left as it was and the temp file removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP_PREFIX}{path.name}.{secrets.token_hex(4)}"
    try:
        with open(tmp, mode, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``, atomically."""
    with replace(path) as fh:
        fh.write(text)


def fsync_dir(path: Path) -> None:
    """Make the entries of folder ``path`` (a rename into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
