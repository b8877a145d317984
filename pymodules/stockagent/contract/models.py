"""The request and answer models entry points share, and their bases.

Requests refuse unknown fields and take JSON types as they are (strict: ``"5"`` is not an integer,
``1`` is not true), so a typo or a wrong type never passes silently. Answers are checked as strictly
in tests: a field Go does not know is a contract change, made in the model first.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pydantic

from .. import tickers


class Request(pydantic.BaseModel):
    """Base of every request model."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)


class Response(pydantic.BaseModel):
    """Base of every typed answer."""

    model_config = pydantic.ConfigDict(extra="forbid", use_attribute_docstrings=True)


# ``ticker`` fields: a symbol (validated as docs/api.md says), or ``"parent"`` (any case) for the parent model.
ModelRef = Annotated[str, pydantic.AfterValidator(tickers.parse_model_ref)]
# A symbol only, normalized (``" aapl "`` is ``AAPL``).
Symbol = Annotated[str, pydantic.AfterValidator(tickers.normalize)]


class TickerRequest(Request):
    """One model: a symbol or ``parent``."""

    ticker: ModelRef


class SymbolRequest(Request):
    """One symbol (``parent`` is not one)."""

    ticker: Symbol


MAX_HISTORY = 500


class HistoryRequest(Request):
    """One model's stored records, newest first."""

    ticker: ModelRef
    limit: int = pydantic.Field(50, ge=1, le=MAX_HISTORY)


def _moment(value: str) -> str:
    when = dt.datetime.fromisoformat(value)  # a ValueError is the caller's 422
    if when.tzinfo is None:
        raise ValueError("a time with its offset from UTC, e.g. 2026-01-31T12:00:00Z")
    return when.isoformat()


class PagedHistoryRequest(HistoryRequest):
    """One model's stored records, newest first, a page at a time."""

    before: Annotated[str, pydantic.AfterValidator(_moment)] | None = None
    """Only records stamped strictly before this ISO 8601 time with an offset."""
    before_seq: int | None = pydantic.Field(None, ge=1)
    """Only records numbered lower than this ``seq`` (each record's number in its history; a page cursor)."""
