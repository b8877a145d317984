"""What Python code sees of its host: cancellation, progress events and logging.

Inside the Go server the host is the built-in module ``_nbridge`` (see native/):
each worker thread runs one call at a time, and ``_nbridge`` reads that call's
cancel flag and forwards its events. Outside the server (the CLI, pytest) the
same functions work through :func:`local_call`, so library code never needs to
know where it runs.

Cancellation is cooperative: nothing can stop a running Python thread, so long
loops call :func:`check_cancelled` at safe points (each batch, each epoch, each
agent node).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from . import errors

try:  # present only when embedded in the Go server
    import _nbridge as _host  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the host
    _host = None

_local = threading.local()


def embedded() -> bool:
    """True when running inside the Go server."""
    return _host is not None


def cancelled() -> bool:
    """Whether the current call has been cancelled (deadline, client gone, cancel endpoint)."""
    if _host is not None and _host.in_call():
        return _host.cancelled()
    event = getattr(_local, "cancel", None)
    return event is not None and event.is_set()


def check_cancelled() -> None:
    """Raise :class:`errors.Cancelled` if the current call was cancelled."""
    if cancelled():
        raise errors.Cancelled("cancelled by the caller")


def progress(event: dict[str, Any]) -> None:
    """Send a progress event (e.g. ``{"epoch": 3, "epochs": 20, "val_loss": 0.01}``) to the caller.

    Events of one call arrive in the order they were sent, while the call runs.
    Without a listener the event is dropped.
    """
    if _host is not None and _host.in_call():
        _host.emit(json.dumps(event, separators=(",", ":")).encode())
        return
    listener = getattr(_local, "listener", None)
    if listener is not None:
        listener(event)


@contextlib.contextmanager
def local_call(
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[threading.Event]:
    """Run a block as one call outside the server: its progress goes to ``on_progress``,
    and setting the yielded event cancels it."""
    event = cancel or threading.Event()
    prev = getattr(_local, "listener", None), getattr(_local, "cancel", None)
    _local.listener, _local.cancel = on_progress, event
    try:
        yield event
    finally:
        _local.listener, _local.cancel = prev


def endpoint(fn: Callable[[dict[str, Any]], Any]) -> Callable[[bytes], bytes]:
    """Turn ``fn(request: dict) -> JSON-able`` into the bytes-in, bytes-out form Go calls: for the
    bridge's own test functions (diagnostics.py). Entry points of the service are declared with
    ``contract.registry.entry``, which validates their requests.

    A function that encodes its own answer (a large one, with a faster encoder) returns bytes,
    passed on as they are.
    """

    @functools.wraps(fn)
    def call(payload: bytes) -> bytes:
        try:
            req = json.loads(payload) if payload else {}
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.BadRequest(f"request is not valid JSON: {exc}") from None
        if not isinstance(req, dict):
            raise errors.BadRequest(f"request must be a JSON object, got {type(req).__name__}")
        out = fn(req)
        return out if isinstance(out, bytes) else json.dumps(out, separators=(",", ":"), allow_nan=False).encode()

    call.__wrapped__ = fn
    return call


# --- the host's logger ---------------------------------------------------------------------


class _HostLogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record)
            _host.log(record.levelno, record.name, msg)
        except Exception:  # logging must never raise into library code
            self.handleError(record)


class _HostStream(io.TextIOBase):
    """A text stream that sends whole lines to the host's logger."""

    def __init__(self, name: str, level: int) -> None:
        self._name, self._level, self._buf = name, level, ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        with self._lock:
            self._buf += s
            *lines, self._buf = self._buf.split("\n")
        for line in lines:
            _host.log(self._level, self._name, line)
        return len(s)

    def flush(self) -> None:
        with self._lock:
            line, self._buf = self._buf, ""
        if line:
            _host.log(self._level, self._name, line)


def attach_host(log_level: int) -> dict[str, Any]:
    """Route ``logging`` and stdout/stderr to the host's logger (entries/system.py's ``attach``)."""
    if _host is None:
        raise errors.Unavailable("attach is only meaningful inside the Go server")
    root = logging.getLogger()
    root.handlers[:] = [_HostLogHandler()]
    root.setLevel(log_level)
    sys.stdout = _HostStream("stdout", logging.INFO)
    sys.stderr = _HostStream("stderr", logging.WARNING)
    return {"python": sys.version, "executable": sys.executable, "prefix": sys.prefix, "pid": os.getpid()}
