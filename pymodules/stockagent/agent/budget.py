"""Fitting each prompt into the model's context window.

A prompt is a system message and a user message built from parts; the context holds both, the
chat template's tokens around them and the answer (``max_tokens``). When they do not fit, the
parts that can be shortened are, in the order given (news and the thread's history first): a
list loses its later half, a text its later half (its earlier half for the thread's history,
whose latest turns matter most). Then the answer gets less room, down to
``MIN_ANSWER_TOKENS``; last, the user message itself is cut. So a call never asks for more than
the context holds, and an overflow is never an error (a question too long for the context is
refused before the run, in entries/agent.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..llm.chat import ChatModel

TEMPLATE_TOKENS = 32  # the chat template around two messages and the answer's start (ChatML: ~12)
MIN_ANSWER_TOKENS = 64  # below this a report or an answer is useless
MIN_PART_CHARS = 80  # a text part is not cut below this
KEEP_LATEST = frozenset({"history"})  # text parts whose end matters more than their start
CUT = " …"


def shorten(text: str, chars: int, *, keep_end: bool = False) -> str:
    """``text`` cut to ``chars`` characters, marked where it was cut (the mark adds len(CUT))."""
    if len(text) <= chars:
        return text
    return CUT.strip() + " " + text[-chars:] if keep_end else text[:chars] + CUT


def fit(
    chat: ChatModel, system: str, build: Callable[[Mapping[str, Any]], str], parts: Mapping[str, Any], max_tokens: int
) -> tuple[str, int]:
    """The user message ``build(parts)``, with parts shortened until it fits ``chat.n_ctx`` beside
    ``system`` and the answer, and the ``max_tokens`` the answer may still have."""
    budget = chat.n_ctx - TEMPLATE_TOKENS - chat.count_tokens(system)
    current = dict(parts)

    def measure() -> tuple[str, int]:
        text = build(current)
        return text, chat.count_tokens(text)

    user, n = measure()
    for name in parts:  # each halving step is one count: O(log length) counts per part
        while n + max_tokens > budget:
            value = current[name]
            if isinstance(value, str) and len(value) > MIN_PART_CHARS + len(CUT):
                current[name] = shorten(value, max(MIN_PART_CHARS, len(value) // 2), keep_end=name in KEEP_LATEST)
            elif isinstance(value, list) and len(value) > 1:
                current[name] = value[: len(value) // 2]
            else:
                break
            user, n = measure()
    if n + max_tokens > budget:
        max_tokens = max(MIN_ANSWER_TOKENS, budget - n)
    while n + max_tokens > budget and len(user) > MIN_PART_CHARS + len(CUT):
        target = len(user) * max(budget - max_tokens, 1) // n * 9 // 10
        user = shorten(user, max(MIN_PART_CHARS, min(target, len(user) - 2 * len(CUT))))
        n = chat.count_tokens(user)
    return user, max_tokens
