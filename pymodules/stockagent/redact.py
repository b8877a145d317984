"""Credentials out of URLs before they are shown (responses, errors, logs).

LLM_BASE_URL, REDIS_URL, QDRANT_URL and MLFLOW_TRACKING_URI may carry a user and password or a
key in their query. The Go server's log handler applies the same rule to every line, Python's
included; these functions keep them out of messages that become API answers too.
"""

from __future__ import annotations

import re
import urllib.parse

MASK = "REDACTED"

_SECRET_PARAM = re.compile(r"key|token|secret|password|passwd|pwd|auth|signature|sig|credential", re.I)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")


def url(raw: str) -> str:
    """``raw`` with its user information and secret query values masked."""
    try:
        parts = urllib.parse.urlsplit(raw)
        parts.port  # noqa: B018 - raises on a malformed netloc
    except ValueError:
        return MASK if "@" in raw else raw
    netloc, query, changed = parts.netloc, parts.query, False
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
        changed = True
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(k) for k, _ in pairs):
            query = urllib.parse.urlencode([(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in pairs])
            changed = True
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query)) if changed else raw


def text(s: str) -> str:
    """``s`` with every URL in it passed through :func:`url`."""
    return _URL_IN_TEXT.sub(lambda m: url(m.group(0)), s) if "://" in s else s
