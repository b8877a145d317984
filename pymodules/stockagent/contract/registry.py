"""The registry of entry points: each is declared once, with :func:`entry`, beside its implementation.

A declaration names the function's lane (the bridge pool it runs on: ``inference`` for short calls,
``long`` for training and monitoring, ``agent`` for LLM runs), its request model, its answer model
(``None``: the function's own JSON, passed on unchecked; the forecast is 27 kB and is not validated
on the hot path) and the errors of :mod:`stockagent.errors` it may raise. ``go generate
./server/pyapi`` turns the registry into the Go package every Go caller uses (document.py).

The decorated function becomes the bytes-in, bytes-out form the bridge calls. Its request is parsed
and validated by the request model: a malformed request, a missing or unknown field or a value of
the wrong type is BadRequest (400); a value outside its declared range is InvalidParameter (422).
Validators may raise :mod:`stockagent.errors` classes themselves (a ticker's BadRequest).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, Literal

import pydantic

from .. import errors

Lane = Literal["inference", "long", "agent"]

# Request validation raises these whatever the declaration says; Cancelled may end any call.
IMPLIED_ERRORS: tuple[type[errors.StockAgentError], ...] = (
    errors.BadRequest,
    errors.InvalidParameter,
    errors.Cancelled,
)

# Modules that declare entry points: Go imports them at start-up, in this order (system first: it
# attaches logging before the heavier imports). A new domain adds its module here.
MODULES = (
    "stockagent.entries.system",
    "stockagent.entries.forecast",
    "stockagent.entries.agent",
    "stockagent.entries.monitoring",
    "stockagent.diagnostics",
)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One declared entry point."""

    name: str  # unique across the registry; Go's method is its CamelCase
    module: str
    domain: str  # the module's last component
    lane: Lane
    request: type[pydantic.BaseModel] | None  # None: takes no fields
    response: type[pydantic.BaseModel] | None  # None: raw JSON, unchecked
    raises: tuple[type[errors.StockAgentError], ...]
    doc: str

    @property
    def function(self) -> str:
        """The name the bridge calls: ``module:function``."""
        return f"{self.module}:{self.name}"


REGISTRY: dict[str, Entry] = {}


def entry(
    *,
    lane: Lane,
    request: type[pydantic.BaseModel] | None = None,
    response: type[pydantic.BaseModel] | None = None,
    raises: tuple[type[errors.StockAgentError], ...] = (),
) -> Callable[[Callable[..., Any]], Callable[[bytes], bytes]]:
    """Declare ``fn`` as an entry point. ``fn`` takes the validated request model (nothing when
    ``request`` is None) and returns the answer: a ``response`` model or a JSON-able value, or
    bytes it encoded itself (raw answers only)."""

    def declare(fn: Callable[..., Any]) -> Callable[[bytes], bytes]:
        name = fn.__name__
        if name in REGISTRY:
            raise ValueError(f"entry point {name!r} is declared twice ({REGISTRY[name].module}, {fn.__module__})")
        REGISTRY[name] = Entry(
            name=name,
            module=fn.__module__,
            domain=fn.__module__.rsplit(".", 1)[-1],
            lane=lane,
            request=request,
            response=response,
            raises=tuple(raises),
            doc=inspect.getdoc(fn) or "",
        )

        @functools.wraps(fn)
        def call(payload: bytes) -> bytes:
            out = fn(parse(request, payload)) if request is not None else fn(*_empty(payload))
            if isinstance(out, bytes):
                return out
            if response is not None:
                if not isinstance(out, response):
                    out = response.model_validate(out)
                return out.model_dump_json().encode()
            return json.dumps(out, separators=(",", ":"), allow_nan=False).encode()

        call.__wrapped__ = fn
        return call

    return declare


def parse(model: type[pydantic.BaseModel], payload: bytes) -> Any:
    """``payload`` (JSON, empty meaning ``{}``) as ``model``, or the error that says what is wrong."""
    try:
        return model.model_validate_json(payload or b"{}")
    except pydantic.ValidationError as exc:
        raise refusal(model, exc) from None


def _empty(payload: bytes) -> tuple[()]:
    """An entry point without fields takes ``{}`` or nothing, and refuses anything else."""
    if payload and payload.strip() not in (b"{}", b"null"):
        try:
            req = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.BadRequest(f"request is not valid JSON: {exc}") from None
        if not isinstance(req, dict):
            raise errors.BadRequest(f"request must be a JSON object, got {type(req).__name__}")
        if req:
            raise errors.BadRequest(f"unknown field(s): {', '.join(sorted(req))}; expected none")
    return ()


# pydantic's error types for a value of the wrong kind, and what the value should have been.
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "int_parsing": "an integer",
}
# Range and length errors: the request is well formed, a value is out of bounds.
_OUT_OF_RANGE = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "too_short",
    "too_long",
    "string_too_short",
    "string_too_long",
}


def refusal(model: type[pydantic.BaseModel], exc: pydantic.ValidationError) -> errors.StockAgentError:
    """One error for a failed validation: the first problem, said plainly, as BadRequest or
    InvalidParameter (only when every problem is a value out of range)."""
    problems = exc.errors(include_url=False)
    unknown = [_where(p["loc"]) for p in problems if p["type"] == "extra_forbidden"]
    if unknown:
        expected = ", ".join(sorted(model.model_fields)) or "none"
        return errors.BadRequest(f"unknown field(s): {', '.join(unknown)}; expected {expected}")
    p = problems[0]
    where, kind = _where(p["loc"]), p["type"]
    if kind == "missing":
        return errors.BadRequest(f"missing field '{where}'")
    if kind in ("json_invalid", "json_type"):
        return errors.BadRequest(f"request is not valid JSON: {p['msg']}")
    if kind == "model_type" and not p["loc"]:
        return errors.BadRequest(f"request must be a JSON object, got {_json_type(p['input'])}")
    if kind in _EXPECTED:
        return errors.BadRequest(f"{where} must be {_EXPECTED[kind]}, got {_json_type(p['input'])}")
    detail = f"{where}: {p['msg'][0].lower()}{p['msg'][1:]}, got {p['input']!r}"
    if all(q["type"] in _OUT_OF_RANGE for q in problems):
        return errors.InvalidParameter(detail)
    return errors.BadRequest(detail)


def _where(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _json_type(value: Any) -> str:
    """What a JSON value is, as a refusal names it: its kind, or itself for true, false and null."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )
