"""Progress on a terminal: one status line redrawn in place, with log records printed above it.

A training's epoch events draw a bar (``epoch 3/10 [######------] train 0.0123 val 0.0145``
and the time since the command started), and so do a backtest's origins (``backtest origin
21/254 [##----]``); other events (data, saved, the analyst's nodes) show as ``stage: key=value ...``
on the same line.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

WIDTH = 20  # cells of the bar
CLEAR = "\r\x1b[K"  # to the line's start, then erase it


def _elapsed(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


def _bar(i: int, n: int) -> str:
    done = WIDTH * min(i, n) // n
    return f"[{'#' * done}{'-' * (WIDTH - done)}]"


def render(event: dict[str, Any], seconds: float) -> str:
    """The status line of one progress event."""
    if event.get("stage") == "epoch" and event.get("epochs"):
        i, n = int(event["epoch"]), int(event["epochs"])
        parts = [f"epoch {i}/{n} {_bar(i, n)}"]
        for key, name in (("train_loss", "train"), ("val_loss", "val"), ("best_val_loss", "best")):
            if isinstance(event.get(key), int | float):
                parts.append(f"{name} {event[key]:.4g}")
    elif event.get("stage") == "backtest" and event.get("total"):
        i, n = int(event["done"]), int(event["total"])
        parts = [f"backtest origin {i}/{n} {_bar(i, n)}"]
    else:
        parts = [f"{event.get('stage', 'progress')}:", *(f"{k}={v}" for k, v in event.items() if k != "stage")]
    return " ".join([*parts, _elapsed(seconds)])


class Line:
    """The status line on ``stream`` (a terminal). Safe to use from several threads."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream, self._clock = stream, clock
        self._start = clock()
        self._text = ""
        self._lock = threading.RLock()

    def _columns(self) -> int:
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return columns or 80  # a terminal that never said its size reports 0

    def _draw(self) -> None:
        self._stream.write(CLEAR + self._text[: max(1, self._columns() - 1)])  # never wrap: \r could not undo it
        self._stream.flush()

    def event(self, event: dict[str, Any]) -> None:
        """Redraw the line for ``event``; a model saved ends a training's line (it stays on screen)."""
        with self._lock:
            self._text = render(event, self._clock() - self._start)
            self._draw()
            if event.get("stage") == "saved":
                self._stream.write("\n")
                self._text = ""

    @contextmanager
    def above(self) -> Iterator[None]:
        """Write something else (a log record) above the line, which is redrawn after it."""
        with self._lock:
            if self._text:
                self._stream.write(CLEAR)
            yield
            if self._text:
                self._draw()

    def close(self) -> None:
        """Leave the last line on screen and the cursor on a fresh line."""
        with self._lock:
            if self._text:
                self._stream.write("\n")
                self._stream.flush()
                self._text = ""

    def log_handler(self) -> logging.Handler:
        """A handler that writes records to the stream above the line."""
        return _Above(self)


class _Above(logging.StreamHandler):
    def __init__(self, line: Line) -> None:
        super().__init__(line._stream)
        self._line = line

    def emit(self, record: logging.LogRecord) -> None:
        with self._line.above():
            super().emit(record)
