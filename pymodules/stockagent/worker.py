"""A persistent worker process: the entry functions Go calls, served over pipes instead of cgo.

    python -m stockagent.worker [--log-level N] [module ...]

It imports the modules named on the command line, then answers calls one at a time until its
standard input closes. This is what a careful engineer builds without embedding: the interpreter
and its imports stay warm, but every call crosses two pipes and two processes
(server/cmd/bench/pyproc/worker.go is the Go side; the benchmarks compare it with the embedded interpreter).

Protocol: frames in both directions, each a 4-byte big-endian length N and N bytes whose first byte
is the frame's kind.

| kind | direction | rest of the frame |
|---|---|---|
| ``c`` | Go -> worker | ``module:function``, a zero byte, the request bytes |
| ``r`` | worker -> Go | once, after the imports: ``{"pid", "python", "imports"}`` (seconds per module) |
| ``o`` | worker -> Go | the function's answer bytes |
| ``e`` | worker -> Go | ``{"type", "message", "traceback"}``: an exception, named as the embedded bridge names it |

A function receives the request bytes and returns bytes, as under the embedded bridge (see
:func:`stockagent.runtime.endpoint`). The frames own file descriptor 1: anything else written to
standard output, by ``print`` or by a C library, goes to standard error, where Go reads logs.
Nothing interrupts a running call here either; Go cancels one by killing the process.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import BinaryIO

_HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 30  # a longer length means a corrupt stream, not a request

CALL, READY, OK, ERROR = b"c", b"r", b"o", b"e"


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's bytes, or None at a clean end of input (between frames)."""
    head = stream.read(_HEADER.size)
    if not head:
        return None
    if len(head) < _HEADER.size:
        raise EOFError("input ended inside a frame header")
    (size,) = _HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is longer than {MAX_FRAME}")
    body = stream.read(size)
    if len(body) < size:
        raise EOFError(f"input ended inside a frame: {len(body)} of {size} bytes")
    return body


def write_frame(stream: BinaryIO, kind: bytes, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(kind) + len(payload)) + kind)
    stream.write(payload)
    stream.flush()


def type_name(exc: BaseException) -> str:
    """``module.QualName``, or the bare name for builtins: what the embedded bridge reports."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def error_payload(exc: BaseException) -> bytes:
    return json.dumps(
        {
            "type": type_name(exc),
            "message": str(exc),
            "traceback": "".join(traceback.format_exception(exc)),
        }
    ).encode()


class Functions:
    """``module:function`` names resolved once, as the embedded bridge caches its callables."""

    def __init__(self) -> None:
        self._cache: dict[str, Callable[[bytes], bytes]] = {}

    def get(self, name: str) -> Callable[[bytes], bytes]:
        fn = self._cache.get(name)
        if fn is None:
            module, _, attr = name.partition(":")
            if not module or not attr or ":" in attr or "." in attr:
                raise ValueError(f'function must be named "module:function", got {name!r}')
            fn = getattr(importlib.import_module(module), attr)
            if not callable(fn):
                raise TypeError(f"{module}.{attr} is not callable")
            self._cache[name] = fn
        return fn


def call(functions: Functions, frame: bytes) -> tuple[bytes, bytes]:
    """Run one call frame; return the answer frame's kind and payload."""
    name, sep, request = frame[1:].partition(b"\0")
    try:
        if frame[:1] != CALL or not sep:
            raise ValueError(f"malformed call frame starting {frame[:40]!r}")
        out = functions.get(name.decode())(request)
        if not isinstance(out, bytes):
            raise TypeError(f"function returned {type(out).__name__}, expected bytes")
        return OK, out
    except Exception as exc:  # every failure of a call is the caller's answer, never the worker's end
        return ERROR, error_payload(exc)


def serve(inp: BinaryIO, out: BinaryIO, modules: list[str]) -> int:
    """Import ``modules``, report ready, answer calls until ``inp`` ends. Returns the exit status."""
    imports = {}
    for m in modules:
        t0 = time.perf_counter()
        try:
            importlib.import_module(m)
        except Exception as exc:
            write_frame(out, ERROR, error_payload(exc))
            return 1
        imports[m] = round(time.perf_counter() - t0, 6)
    write_frame(out, READY, json.dumps({"pid": os.getpid(), "python": sys.version, "imports": imports}).encode())
    functions = Functions()
    while (frame := read_frame(inp)) is not None:
        write_frame(out, *call(functions, frame))
    return 0


def _protocol_stdout() -> BinaryIO:
    """Keep file descriptor 1 for frames on a private copy and send everything else to stderr."""
    sys.stdout.flush()
    frames = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stockagent.worker", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--log-level", type=int, default=logging.INFO, help="Python logging level (10 debug .. 50 critical)"
    )
    parser.add_argument("modules", nargs="*", help="modules to import before reporting ready")
    args = parser.parse_args(argv)
    # Go reads the level name at the start of each line (server/cmd/bench/pyproc/worker.go).
    logging.basicConfig(stream=sys.stderr, level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    return serve(sys.stdin.buffer, _protocol_stdout(), args.modules)


if __name__ == "__main__":
    sys.exit(main())
