"""Ticker symbols: validation, the ``parent`` alias, and the only way to turn a symbol into a path.

Rules (API.md): trimmed, upper-cased, 1-12 characters of letters, digits, ``.``, ``-``, ``^``, ``=``,
at least one letter or digit, not starting with ``.``, no ``..``; ``PARENT`` is reserved. In requests
the word ``parent`` (any case) names the parent model instead of a symbol.

File names. A symbol's *stem* is the symbol without its leading ``^`` (Yahoo marks indices with it):
``^GSPC`` -> ``GSPC.csv`` for prices and ``models/GSPC/`` for a child model trained on the index.
So ``^GSPC`` and ``GSPC`` share files; no listed stock is named like an index we ship, and the
mapping is one line here if that ever changes. The parent model lives in ``models/parent/``, a name
no symbol can take (``PARENT`` is reserved). Every path built from a symbol goes through
:func:`confined`, which resolves it and refuses anything outside its base folder.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from . import errors

PARENT = "parent"  # the model id (and folder) of the parent model; also its alias in requests
RESERVED = frozenset({"PARENT"})
MAX_LEN = 12
_ALLOWED = re.compile(r"[A-Z0-9.\-^=]+")
_ALNUM = re.compile(r"[A-Z0-9]")
# Stems of index symbols we ship or know, listed back with their caret (GSPC.csv -> ^GSPC).
INDEX_STEMS = frozenset({"GSPC", "DJI", "IXIC", "NDX", "RUT", "VIX"})


def normalize(raw: object) -> str:
    """Return the canonical symbol for ``raw`` or raise :class:`errors.BadRequest` saying why."""
    if not isinstance(raw, str):
        raise errors.BadRequest(f"ticker must be a string, got {type(raw).__name__}")
    symbol = raw.strip().upper()
    shown = raw if len(raw) <= 40 else raw[:40] + "..."
    if not symbol:
        raise errors.BadRequest("ticker is empty")
    if len(symbol) > MAX_LEN:
        raise errors.BadRequest(f"ticker {shown!r} is longer than {MAX_LEN} characters")
    if not _ALLOWED.fullmatch(symbol):
        raise errors.BadRequest(f"ticker {shown!r} may only contain letters, digits, '.', '-', '^' and '='")
    if not _ALNUM.search(symbol):
        raise errors.BadRequest(f"ticker {shown!r} needs at least one letter or digit")
    if symbol.startswith(".") or ".." in symbol:
        raise errors.BadRequest(f"ticker {shown!r} may not start with '.' or contain '..'")
    if symbol in RESERVED:
        raise errors.BadRequest(f"ticker {symbol!r} is reserved; use 'parent' to name the parent model")
    stem(symbol)  # a symbol whose file name would be unsafe is refused here too
    return symbol


def parse_model_ref(raw: object) -> str:
    """A ticker field of a request: ``parent`` (any case) stays ``"parent"``, anything else is normalized.

    ``PARENT`` written in capitals also names the parent model here (the alias is case-insensitive);
    :func:`normalize` refuses it as a symbol.
    """
    if isinstance(raw, str) and raw.strip().lower() == PARENT:
        return PARENT
    return normalize(raw)


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
