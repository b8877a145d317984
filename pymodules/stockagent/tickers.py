"""Ticker symbols: validation, the one canonical form, the ``parent`` alias, and the only way to turn a
symbol into a path.

Rules (docs/api.md): trimmed, upper-cased, 1-12 characters of letters, digits, ``.``, ``-``, ``^``, ``=``,
at least one letter or digit, not starting with ``.``, no ``..``; ``PARENT`` is reserved.

Canonical form: a ``^`` may only lead, and leads exactly when the symbol is an index
(:data:`INDEX_STEMS`): ``AAPL``, ``^AAPL`` and ``^^aapl`` are ``AAPL``; ``GSPC`` is ``^GSPC``. ``%5E``
(any case) is read as ``^`` first, so a caret encoded once too often still names the index (no other
escape is decoded). In requests the word ``parent`` (any case) and the parent's own symbol
(``PARENT_TICKER``) name the parent model. The Go server (server/tickers) applies the same rules;
``server/tickers/testdata/canonical.json`` is the table both sides' tests read.

File names. A symbol's *stem* is the symbol without its leading ``^`` (Yahoo marks indices with it):
``^GSPC`` -> ``GSPC.csv`` for prices and ``models/DJI/`` for a child model trained on ``^DJI``. The
parent model lives in ``models/parent/``, a name no symbol can take (``PARENT`` is reserved). Every
path built from a symbol goes through :func:`confined`, which resolves it and refuses anything outside
its base folder.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from . import errors

PARENT = "parent"  # the model id (and folder) of the parent model; also its alias in requests
RESERVED = frozenset({"PARENT"})
MAX_LEN = 12
_ALLOWED = re.compile(r"[A-Za-z0-9.\-^=]+")  # matched before upper-casing: "ſ".upper() is "S"
_ALNUM = re.compile(r"[A-Z0-9]")
_ENCODED_CARET = re.compile(r"%5E", re.I)
_SPACE = " \t\n\r\v\f"  # what trimming removes, as in Go (the two disagree on Unicode white space)
# Index symbols without their caret (Go's tickers.IndexStems): the indices we ship data for or name.
INDEX_STEMS = frozenset({"DJI", "GSPC", "IXIC", "NDX", "RUT", "VIX"})


def normalize(raw: object) -> str:
    """Return the canonical symbol for ``raw`` or raise :class:`errors.BadRequest` saying why."""
    if not isinstance(raw, str):
        raise errors.BadRequest(f"ticker must be a string, got {type(raw).__name__}")
    symbol = _ENCODED_CARET.sub("^", raw.strip(_SPACE))
    shown = raw if len(raw) <= 40 else raw[:40] + "..."
    if not symbol:
        raise errors.BadRequest("ticker is empty")
    if len(symbol) > MAX_LEN:
        raise errors.BadRequest(f"ticker {shown!r} is longer than {MAX_LEN} characters")
    if not _ALLOWED.fullmatch(symbol):
        raise errors.BadRequest(f"ticker {shown!r} may only contain letters, digits, '.', '-', '^' and '='")
    symbol = symbol.upper()
    name = symbol.lstrip("^")
    if "^" in name:
        raise errors.BadRequest(f"ticker {shown!r}: '^' may only lead (it marks an index)")
    if not _ALNUM.search(name):
        raise errors.BadRequest(f"ticker {shown!r} needs at least one letter or digit")
    if name.startswith(".") or ".." in name:
        raise errors.BadRequest(f"ticker {shown!r} may not start with '.' or contain '..'")
    if name in RESERVED:
        raise errors.BadRequest(f"ticker {symbol!r} is reserved; use 'parent' to name the parent model")
    return "^" + name if name in INDEX_STEMS else name


def parse_model_ref(raw: object, parent_symbol: str | None = None) -> str:
    """A ticker field of a request: ``"parent"`` for the parent's aliases, else the canonical symbol.

    The aliases are the word ``parent`` in any case (:func:`normalize` refuses ``PARENT`` as a symbol)
    and every spelling of the symbol the parent learns from (``parent_symbol``, by default the
    settings' ``PARENT_TICKER``).
    """
    if isinstance(raw, str) and raw.strip(_SPACE).lower() == PARENT:
        return PARENT
    symbol = normalize(raw)
    if parent_symbol is None:
        from . import settings  # late import: settings imports this module

        parent_symbol = settings.load().parent_ticker
    return PARENT if symbol == parent_symbol else symbol


def stem(symbol: str) -> str:
    """The file-name stem of a valid symbol (leading ``^`` dropped, see the module doc)."""
    name = symbol.lstrip("^")
    if not name or name.startswith(".") or name in RESERVED:
        raise errors.BadRequest(f"ticker {symbol!r} has no safe file name")
    return name


def model_id(ref: str) -> str:
    """Folder name of the model for a request reference: ``parent`` or the symbol's stem."""
    return PARENT if ref == PARENT else stem(ref)


def symbol_for_stem(name: str) -> str:
    """The symbol a price file stem stands for (``GSPC`` -> ``^GSPC``)."""
    return "^" + name if name in INDEX_STEMS else name


@functools.lru_cache(maxsize=64)
def _root(base: str) -> Path:
    return Path(base).resolve()


def confined(base: Path, name: str) -> Path:
    """``base / name`` resolved, refusing any result outside ``base`` (raises BadRequest).

    ``name`` is one path component. The root is resolved once, so only the last component can be
    a symlink still: one ``lstat`` per call instead of a full ``realpath`` (forecasts call this on
    every request, a batch once per ticker).
    """
    root = _root(str(base))  # data folders do not move while the process runs
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise errors.BadRequest(f"{name!r} does not name a file inside the data folder")
    path = root / name
    if path.is_symlink():
        path = path.resolve()
        if path == root or not path.is_relative_to(root):
            raise errors.BadRequest(f"{name!r} does not name a file inside the data folder")
    return path
