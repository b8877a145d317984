"""Small real functions the bridge's tests and benchmarks call.

Each exercises one property of the bridge: the raw round trip, JSON, errors,
cooperative cancellation, progress events, the GIL hand-over, and a torch
forward pass. None of them touches files or the network, except the benchmark
workloads at the end (``noop``, ``features``: entry points of the contract,
called through every back-end ``make bench`` compares).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from . import errors, runtime, settings
from .contract.models import Request, Response, SymbolRequest
from .contract.registry import entry

log = logging.getLogger(__name__)


def echo(payload: bytes) -> bytes:
    """Hand the input bytes straight back: the bridge's own overhead."""
    return payload


@runtime.endpoint
def echo_json(req: dict[str, Any]) -> dict[str, Any]:
    """A small JSON round trip."""
    return req


@runtime.endpoint
def fail(req: dict[str, Any]) -> dict[str, Any]:
    """Raise the exception class named in the request (from stockagent.errors, or ValueError)."""
    kind = req.get("kind", "ValueError")
    cls = getattr(errors, kind, None) or ValueError
    raise cls(req.get("message", "diagnostic failure"))


@runtime.endpoint
def wait_cancelled(req: dict[str, Any]) -> dict[str, Any]:
    """Loop until cancelled, checking every `interval` seconds; give up after `limit` seconds."""
    interval, limit = float(req.get("interval", 0.01)), float(req.get("limit", 30))
    start, checks = time.monotonic(), 0
    while time.monotonic() - start < limit:
        checks += 1
        runtime.check_cancelled()
        time.sleep(interval)
    return {"checks": checks, "cancelled": False}


@runtime.endpoint
def count(req: dict[str, Any]) -> dict[str, Any]:
    """Send `n` progress events, `delay` seconds apart, and log one line per event."""
    n, delay = int(req.get("n", 10)), float(req.get("delay", 0))
    for i in range(n):
        runtime.progress({"i": i, "of": n})
        if req.get("log"):
            log.info("count %d of %d", i, n)
        if delay:
            time.sleep(delay)
    return {"sent": n}


@runtime.endpoint
def spin(req: dict[str, Any]) -> dict[str, Any]:
    """Hold the GIL with pure-Python work for `seconds` (or until cancelled)."""
    end, loops = time.monotonic() + float(req.get("seconds", 1)), 0
    while time.monotonic() < end and not runtime.cancelled():
        loops += sum(range(1000)) > 0
    return {"loops": loops}


@runtime.endpoint
def printing(req: dict[str, Any]) -> dict[str, Any]:
    """Write to stdout and stderr, as careless library code does."""
    print(req.get("stdout", "to stdout"))
    import sys

    print(req.get("stderr", "to stderr"), file=sys.stderr)
    return {}


def not_bytes(payload: bytes) -> str:
    """Return the wrong type: the bridge must refuse it cleanly."""
    return "not bytes"


def not_json(payload: bytes) -> bytes:
    """Return bytes that are not JSON: the Go side must refuse them cleanly."""
    return b"{not json"


_model = None


@runtime.endpoint
def torch_forward(req: dict[str, Any]) -> dict[str, Any]:
    """One forward pass of a small fixed LSTM, built on first use."""
    import torch

    global _model
    if _model is None:
        torch.manual_seed(0)
        _model = torch.nn.LSTM(input_size=7, hidden_size=32, num_layers=2, batch_first=True).eval()
    x = torch.linspace(-1, 1, 60 * 7).reshape(1, 60, 7)  # (batch, time, features)
    with torch.inference_mode():
        out, _ = _model(x)
    return {"threads": torch.get_num_threads(), "last": [round(float(v), 6) for v in out[0, -1, :4]]}


@runtime.endpoint
def interpreter(req: dict[str, Any]) -> dict[str, Any]:
    """Which interpreter and library this is, and where stockagent was imported from."""
    import sys
    import sysconfig

    from . import __file__ as package_file

    return {"version": sys.version, "libdir": sysconfig.get_config_var("LIBDIR"), "file": package_file}


@runtime.endpoint
def thread(req: dict[str, Any]) -> dict[str, Any]:
    """The OS thread this call runs on and its nice value (a lane's priority)."""
    import os
    import threading

    tid = threading.get_native_id()
    return {"native_id": tid, "nice": os.getpriority(os.PRIO_PROCESS, tid)}


# --- benchmark workloads (make bench): the same functions through every back-end ----------------


_compiled: dict[str, Any] = {}


class PolicyExpr(Request):
    expr: str
    """A Python expression over the inputs' names."""
    inputs: dict[str, Any] = {}  # noqa: RUF012 - pydantic copies a default for each instance


@entry(lane="inference", request=PolicyExpr)
def eval_expr(req: PolicyExpr) -> dict[str, Any]:
    """Evaluate a policy expression with CPython, without builtins: the CPython
    side of the policy benchmark (the server evaluates policies with gpython)."""
    code = _compiled.get(req.expr)
    if code is None:
        code = _compiled[req.expr] = compile(req.expr, "<policy>", "eval")
    return {"value": eval(code, {"__builtins__": {}}, dict(req.inputs))}


class Nothing(Response):
    """An empty answer."""


@entry(lane="inference", response=Nothing)
def noop() -> Nothing:
    """Nothing but the request and answer round trip: a back-end's own cost per call."""
    return Nothing()


@entry(lane="inference", request=SymbolRequest, raises=(errors.NotFound,))
def features(req: SymbolRequest) -> dict[str, Any]:
    """The model's feature function (market/features.compute) over one symbol's whole price history.

    Computed afresh on every call (the cached ``Prices.features`` would make it free); the answer is
    a summary: the row count and the last row.
    """
    from .market import features as feature_frame
    from .market import prices

    data = prices.load(req.ticker, settings.load())
    frame = feature_frame.compute(data.ohlcv)
    return {
        "ticker": req.ticker,
        "rows": len(frame),
        "last_date": data.last_date,
        "last": {name: round(float(v), 6) for name, v in zip(feature_frame.COLUMNS, frame[-1], strict=True)},
    }
